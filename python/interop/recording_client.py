"""A Flower NumPyClient, run with flwr's own start_client, that records every array it
sees and returns, so the Java interop tests can check what the Java server aggregated."""

import argparse
import json
from pathlib import Path

import numpy as np
from flwr.client import NumPyClient, start_client


class RecordingClient(NumPyClient):
    def __init__(self, cid: int, out: Path):
        self.cid = cid
        self.out = out
        self.rng = np.random.default_rng(1000 + cid)
        self.fit_round = 0
        self.eval_round = 0
        self.num_examples = 10 * (cid + 1)

    def _save(self, prefix, arrays):
        for i, a in enumerate(arrays):
            np.save(self.out / f"{prefix}_{i}.npy", a, allow_pickle=False)

    def get_parameters(self, config):
        # a small model: a weight matrix and a bias, in float32 like PyTorch's
        return [
            self.rng.standard_normal((4, 3)).astype(np.float32),
            self.rng.standard_normal((3,)).astype(np.float32),
        ]

    def fit(self, parameters, config):
        self.fit_round += 1
        self._save(f"fit_in_r{self.fit_round}", parameters)
        updated = [(p + self.rng.standard_normal(p.shape)).astype(p.dtype) for p in parameters]
        self._save(f"fit_out_r{self.fit_round}", updated)
        meta = {"round": self.fit_round, "num_examples": self.num_examples}
        (self.out / f"fit_r{self.fit_round}.json").write_text(json.dumps(meta))
        return updated, self.num_examples, {"train_loss": 1.0 / self.fit_round}

    def evaluate(self, parameters, config):
        self.eval_round += 1
        self._save(f"eval_in_r{self.eval_round}", parameters)
        loss = float(sum(np.abs(p).mean() for p in parameters))
        return loss, self.num_examples, {"accuracy": 0.5 + 0.1 * self.cid}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", required=True, help="host:port")
    parser.add_argument("--cid", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    client = RecordingClient(args.cid, args.out)
    start_client(
        server_address=args.server,
        client=client.to_client(),
        insecure=True,
        max_wait_time=120,
    )
    print(f"client {args.cid} finished after {client.fit_round} fit rounds", flush=True)


if __name__ == "__main__":
    main()
