"""A plain flwr NumPyClient that trains against one server.jar after another (StrategyClientsIT).

One process serves every strategy of the test, so flwr is imported once per client rather than
once per strategy. The test announces each server by writing DIR/server<I>.txt, which holds
"PORT NAME" (connect with flwr's start_client and train until the server ends the run), "skip"
(that server did not start) or "end" (exit 0). After each server the client appends a line
"INDEX NAME FIT_CALLS EVALUATE_CALLS ok|error" to DIR/client<CID>.txt, and on error writes what
start_client raised to DIR/client<CID>_server<INDEX>_error.txt.

The model is two float32 tensors, (3, 2) and (2,), as the test's --initial-model. fit moves the
model half way to a target of this client's (seeded by --cid) and reports num_examples 10 + 7 * cid,
the loss and an accuracy; evaluate reports the same. When the fit config carries clipping_norm
(DifferentialPrivacyClientSideFixedClipping), the update is clipped to it, as flwr's
fixedclipping_mod would.

Usage:
  python strategy_client.py --cid K --dir DIR [--host 127.0.0.1] [--wait 120]
"""

import argparse
import os
import time
import traceback

import numpy as np
from flwr.client import NumPyClient, start_client


class TargetClient(NumPyClient):
    def __init__(self, cid):
        rng = np.random.default_rng(1000 + cid)
        self.targets = [
            rng.normal(size=(3, 2)).astype(np.float32),
            rng.normal(size=(2,)).astype(np.float32),
        ]
        self.num_examples = 10 + 7 * cid
        self.fit_rounds = []
        self.evaluate_calls = 0

    def loss(self, parameters):
        return float(
            np.mean(
                np.concatenate(
                    [(p - t).ravel() ** 2 for p, t in zip(parameters, self.targets, strict=True)]
                )
            )
        )

    def get_parameters(self, config):
        return [np.zeros_like(t) for t in self.targets]

    def fit(self, parameters, config):
        self.fit_rounds.append(int(config.get("server_round", len(self.fit_rounds) + 1)))
        update = [(t - p) * np.float32(0.5) for p, t in zip(parameters, self.targets, strict=True)]
        if "clipping_norm" in config:
            norm = float(np.sqrt(sum(float(np.sum(u.astype(np.float64) ** 2)) for u in update)))
            scale = min(1.0, float(config["clipping_norm"]) / norm) if norm > 0 else 1.0
            update = [u * np.float32(scale) for u in update]
        new = [(p + u).astype(np.float32) for p, u in zip(parameters, update, strict=True)]
        loss = self.loss(new)
        return new, self.num_examples, {"loss": loss, "accuracy": 1.0 / (1.0 + loss)}

    def evaluate(self, parameters, config):
        self.evaluate_calls += 1
        loss = self.loss(parameters)
        return loss, self.num_examples, {"accuracy": 1.0 / (1.0 + loss)}


def wait_for(path, seconds):
    deadline = time.monotonic() + seconds
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise SystemExit(f"no {path} within {seconds} s")
        time.sleep(0.05)
    with open(path, encoding="utf-8") as f:
        return f.read().split()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cid", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--wait", type=float, default=120)
    args = p.parse_args()
    out = os.path.join(args.dir, f"client{args.cid}.txt")
    index = 0
    while True:
        words = wait_for(os.path.join(args.dir, f"server{index}.txt"), args.wait)
        if words[0] == "end":
            return
        if words[0] != "skip":
            port, name = words
            client = TargetClient(args.cid)
            outcome = "ok"
            try:
                start_client(
                    server_address=f"{args.host}:{port}",
                    client=client.to_client(),
                    insecure=True,
                    max_wait_time=30,
                )
            except Exception:  # reported to the test, then the next server
                outcome = "error"
                error_file = f"client{args.cid}_server{index}_error.txt"
                with open(os.path.join(args.dir, error_file), "w", encoding="utf-8") as f:
                    f.write(traceback.format_exc())
            with open(out, "a", encoding="utf-8") as f:
                f.write(
                    f"{index} {name} {len(client.fit_rounds)} {client.evaluate_calls} {outcome}\n"
                )
        index += 1


if __name__ == "__main__":
    main()
