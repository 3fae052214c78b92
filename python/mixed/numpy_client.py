"""A numpy-only stand-in for the PyTorch client of the mixed federation, for the CI test: the
same parameter layout as the quickstart CNN's state_dict (ten float32 tensors, same order and
shapes as torch_client.Net and the Java CifarNet), but "training" is a small seeded
perturbation, and every array it receives and returns is saved as .npy so the test can check
the server's weighted mean. Runs in .venv/flwr (no torch needed)."""

import argparse
import json
from pathlib import Path

import numpy as np
from flwr.client import NumPyClient, start_client

# conv1.weight, conv1.bias, conv2.weight, conv2.bias, fc1..fc3 weight and bias
STATE_DICT_SHAPES = [
    (6, 3, 5, 5),
    (6,),
    (16, 6, 5, 5),
    (16,),
    (120, 400),
    (120,),
    (84, 120),
    (84,),
    (10, 84),
    (10,),
]


class StandInClient(NumPyClient):
    def __init__(self, out: Path, num_examples: int, seed: int):
        self.out = out
        self.num_examples = num_examples
        self.rng = np.random.default_rng(seed)
        self.fits = 0
        self.evaluations = 0

    def _check(self, parameters):
        shapes = [tuple(p.shape) for p in parameters]
        dtypes = {str(p.dtype) for p in parameters}
        if shapes != STATE_DICT_SHAPES or dtypes != {"float32"}:
            raise ValueError(f"expected float32 {STATE_DICT_SHAPES}, got {dtypes} {shapes}")

    def _save(self, prefix, arrays):
        for i, a in enumerate(arrays):
            np.save(self.out / f"{prefix}_{i}.npy", a, allow_pickle=False)

    def get_parameters(self, config):
        return [(0.1 * self.rng.standard_normal(s)).astype(np.float32) for s in STATE_DICT_SHAPES]

    def fit(self, parameters, config):
        self._check(parameters)
        self.fits += 1
        self._save(f"fit_in_r{self.fits}", parameters)
        updated = [
            (p + 0.01 * self.rng.standard_normal(p.shape)).astype(np.float32) for p in parameters
        ]
        self._save(f"fit_out_r{self.fits}", updated)
        (self.out / f"fit_r{self.fits}.json").write_text(
            json.dumps({"round": self.fits, "num_examples": self.num_examples})
        )
        return updated, self.num_examples, {"train_loss": 1.0}

    def evaluate(self, parameters, config):
        self._check(parameters)
        self.evaluations += 1
        return 1.0, self.num_examples, {"accuracy": 0.1}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", required=True, help="host:port")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--num-examples", type=int, default=96)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    client = StandInClient(args.out, args.num_examples, args.seed)
    start_client(
        server_address=args.server, client=client.to_client(), insecure=True, max_wait_time=120
    )
    print(f"stand-in client finished after {client.fits} fit rounds", flush=True)


if __name__ == "__main__":
    main()
