"""A plain flwr NumPyClient, run with flwr's own start_client, whose model starts as an integer
array and whose updates are float64 (issue 8's acceptance client; IntModelAcceptanceTest).

get_parameters returns np.array([1]) (int64); fit scales the parameter so that its mean is 5,
param * (5 / np.mean(param)), which numpy makes float64; evaluate's loss is (mean - 5) ** 2, 0
once a round has aggregated. Every call's received dtypes and values are appended to --out as
JSON lines, so the test can see what the server sent.

Usage:
  python int_model_client.py --server HOST:PORT --out FILE [--root-certificates CA.pem]
"""

import argparse
import json
from pathlib import Path

import numpy as np
from flwr.client import NumPyClient, start_client


class IntModelClient(NumPyClient):
    def __init__(self, out):
        self.out = out

    def record(self, call, parameters, config):
        with open(self.out, "a", encoding="utf-8") as f:
            row = {
                "call": call,
                "round": config.get("server_round"),
                "dtypes": [str(p.dtype) for p in parameters],
                "values": [np.asarray(p, dtype=np.float64).ravel().tolist() for p in parameters],
            }
            f.write(json.dumps(row) + "\n")

    def get_parameters(self, config):
        return [np.array([1])]

    def fit(self, parameters, config):
        self.record("fit", parameters, config)
        param = parameters[0]
        updated = param * (5 / np.mean(param))
        loss = float((np.mean(updated) - 5) ** 2)
        return [updated], 10, {"loss": loss}

    def evaluate(self, parameters, config):
        self.record("evaluate", parameters, config)
        loss = float((np.mean(parameters[0]) - 5) ** 2)
        return loss, 10, {"loss": loss}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--root-certificates")
    args = p.parse_args()
    client = IntModelClient(args.out).to_client()
    if args.root_certificates:
        start_client(
            server_address=args.server,
            client=client,
            root_certificates=Path(args.root_certificates).read_bytes(),
            max_wait_time=120,
        )
    else:
        start_client(server_address=args.server, client=client, insecure=True, max_wait_time=120)


if __name__ == "__main__":
    main()
