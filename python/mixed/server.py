"""flwr's own start_server with FedAvg for the mixed federation (scripts/mixed-federation.sh):
every connected client trains and evaluates every round, accuracy is averaged weighted by the
clients' example counts, and the per-round results go to <out>/summary.json."""

import argparse
import json
import time
from pathlib import Path

from flwr.server import ServerConfig, start_server
from flwr.server.strategy import FedAvg


def weighted_accuracy(results):
    total = sum(n for n, _ in results)
    return {"accuracy": sum(n * m["accuracy"] for n, m in results) / total}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--min-clients", type=int, default=2)
    parser.add_argument("--local-epochs", type=int, help="sent to the clients as 'local-epochs'")
    parser.add_argument("--batch-size", type=int, help="sent to the clients as 'batch-size'")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    fit_config = {}
    if args.local_epochs is not None:
        fit_config["local-epochs"] = args.local_epochs
    if args.batch_size is not None:
        fit_config["batch-size"] = args.batch_size
    strategy = FedAvg(
        fraction_fit=1.0,
        fraction_evaluate=1.0,
        min_fit_clients=args.min_clients,
        min_evaluate_clients=args.min_clients,
        min_available_clients=args.min_clients,
        on_fit_config_fn=lambda server_round: dict(fit_config),
        evaluate_metrics_aggregation_fn=weighted_accuracy,
    )
    started = time.monotonic()
    history = start_server(
        server_address=f"0.0.0.0:{args.port}",
        # a client that dies becomes a failure of its round instead of a hang
        config=ServerConfig(num_rounds=args.rounds, round_timeout=900),
        strategy=strategy,
    )
    summary = {
        "server": "flwr " + __import__("flwr").__version__ + " start_server",
        "rounds": args.rounds,
        "losses_distributed": [list(p) for p in history.losses_distributed],
        "metrics_distributed": {
            k: [list(p) for p in v] for k, v in history.metrics_distributed.items()
        },
        "wall_time_seconds": time.monotonic() - started,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    print("summary:", json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
