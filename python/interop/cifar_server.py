"""A Python Flower server for the CIFAR-10 CNN, the counterpart of the server of Flower's
PyTorch quickstart: flwr's own start_server running FedAvg, with accuracy averaged over the
clients weighted by how many test examples each evaluated.

Java CifarClients join it (see README, "Joining a Python Flower server with the CIFAR client").
With --out it also records what the interop test checks: the final global parameters
(final_<i>.npy, in state_dict order) and a summary.json of rounds, failures and accuracies.
"""

import argparse
import json
from pathlib import Path

import numpy as np
from flwr.common import parameters_to_ndarrays
from flwr.server import ServerConfig, start_server
from flwr.server.strategy import FedAvg


def weighted_average(metrics):
    """Accuracy over all clients, each client counting as many times as it has examples."""
    total = sum(n for n, _ in metrics)
    if total == 0:
        return {}
    return {"accuracy": sum(n * m["accuracy"] for n, m in metrics) / total}


class KeepLatest(FedAvg):
    """FedAvg that also keeps the newest global model and counts failures per round."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.latest = None
        self.failures = {"fit": {}, "evaluate": {}}

    def aggregate_fit(self, server_round, results, failures):
        self.failures["fit"][server_round] = len(failures)
        for failure in failures:
            print(f"round {server_round} fit failure: {failure!r}", flush=True)
        parameters, metrics = super().aggregate_fit(server_round, results, failures)
        if parameters is not None:
            self.latest = parameters_to_ndarrays(parameters)
        return parameters, metrics

    def aggregate_evaluate(self, server_round, results, failures):
        self.failures["evaluate"][server_round] = len(failures)
        return super().aggregate_evaluate(server_round, results, failures)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--min-clients", type=int, default=2)
    parser.add_argument("--out", type=Path, help="directory for the final model and a summary")
    args = parser.parse_args()

    strategy = KeepLatest(
        fraction_fit=1.0,
        fraction_evaluate=1.0,
        min_fit_clients=args.min_clients,
        min_evaluate_clients=args.min_clients,
        min_available_clients=args.min_clients,
        evaluate_metrics_aggregation_fn=weighted_average,
    )
    history = start_server(
        server_address=f"{args.host}:{args.port}",
        config=ServerConfig(num_rounds=args.rounds),
        strategy=strategy,
    )
    if args.out is None:
        return
    args.out.mkdir(parents=True, exist_ok=True)
    for i, array in enumerate(strategy.latest or []):
        np.save(args.out / f"final_{i}.npy", array, allow_pickle=False)
    summary = {
        "flwr_version": __import__("flwr").__version__,
        "rounds": len(history.losses_distributed),
        "losses_distributed": history.losses_distributed,
        "accuracy_distributed": history.metrics_distributed.get("accuracy", []),
        "fit_failures": strategy.failures["fit"],
        "evaluate_failures": strategy.failures["evaluate"],
        "num_final_tensors": len(strategy.latest or []),
    }
    (args.out / "summary.json").write_text(json.dumps(summary))
    print("server finished:", json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
