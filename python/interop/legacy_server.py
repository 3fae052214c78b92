"""Run Flower's own start_server (FedAvg) and record what it aggregated.

Used by the Java interop tests: Java clients join this real Python server, and the
test compares the final global model written here with what the Java clients sent.
"""

import argparse
import json
from pathlib import Path

import numpy as np
from flwr.common import parameters_to_ndarrays
from flwr.server import ServerConfig, start_server
from flwr.server.strategy import FedAvg


class RecordingFedAvg(FedAvg):
    """FedAvg that remembers failures per round and the latest global model."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.fit_failures = {}
        self.evaluate_failures = {}
        self.fit_results = {}
        self.latest = None

    def aggregate_fit(self, server_round, results, failures):
        self.fit_results[server_round] = len(results)
        self.fit_failures[server_round] = len(failures)
        for failure in failures:
            print(f"fit failure in round {server_round}: {failure!r}", flush=True)
        parameters, metrics = super().aggregate_fit(server_round, results, failures)
        if parameters is not None:
            self.latest = parameters_to_ndarrays(parameters)
        return parameters, metrics

    def aggregate_evaluate(self, server_round, results, failures):
        self.evaluate_failures[server_round] = len(failures)
        return super().aggregate_evaluate(server_round, results, failures)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--min-clients", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True, help="directory for results")
    args = parser.parse_args()

    strategy = RecordingFedAvg(
        min_fit_clients=args.min_clients,
        min_evaluate_clients=args.min_clients,
        min_available_clients=args.min_clients,
    )
    history = start_server(
        server_address=f"127.0.0.1:{args.port}",
        config=ServerConfig(num_rounds=args.rounds, round_timeout=120),
        strategy=strategy,
    )

    args.out.mkdir(parents=True, exist_ok=True)
    for i, array in enumerate(strategy.latest or []):
        np.save(args.out / f"final_{i}.npy", array, allow_pickle=False)
    summary = {
        "flwr_version": __import__("flwr").__version__,
        "losses_distributed": history.losses_distributed,
        "fit_results": strategy.fit_results,
        "fit_failures": strategy.fit_failures,
        "evaluate_failures": strategy.evaluate_failures,
        "num_final_tensors": len(strategy.latest or []),
    }
    (args.out / "summary.json").write_text(json.dumps(summary))
    print("server finished:", json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
