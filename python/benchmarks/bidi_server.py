"""flwr's start_server as the bidi benchmarks drive it: FedAvg over all `clients` clients (fit and
evaluate every round), a float32 model of `params` zeros given as initial parameters so no client
is asked. Writes its port to PORT_FILE before it serves; at the end prints one JSON line: results
and failures per round and the process's peak RSS (VmHWM).

Usage: bidi_server.py CLIENTS PARAMS ROUNDS PORT_FILE"""

import json
import os
import socket
import sys
import time

import numpy as np
from flwr.common import ndarrays_to_parameters
from flwr.server import ServerConfig, start_server
from flwr.server.strategy import FedAvg


def peak_rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("/proc/self/status has no VmHWM")


class CountingFedAvg(FedAvg):
    """FedAvg that records how many results and failures each round's fit aggregated."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.fit_results = []
        self.failures = 0

    def aggregate_fit(self, server_round, results, failures):
        self.fit_results.append(len(results))
        self.failures += len(failures)
        return super().aggregate_fit(server_round, results, failures)

    def aggregate_evaluate(self, server_round, results, failures):
        self.failures += len(failures)
        return super().aggregate_evaluate(server_round, results, failures)


def main():
    clients, params, rounds = (int(a) for a in sys.argv[1:4])
    port_file = sys.argv[4]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    strategy = CountingFedAvg(
        fraction_fit=1.0,
        fraction_evaluate=1.0,
        min_fit_clients=clients,
        min_evaluate_clients=clients,
        min_available_clients=clients,
        initial_parameters=ndarrays_to_parameters([np.zeros(params, dtype=np.float32)]),
    )
    with open(port_file + ".tmp", "w") as f:
        f.write(str(port))
    os.replace(port_file + ".tmp", port_file)
    start = time.perf_counter()
    start_server(
        server_address=f"127.0.0.1:{port}",
        config=ServerConfig(num_rounds=rounds),
        strategy=strategy,
        grpc_max_message_length=2_147_483_647,
    )
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "server": "flwr",
                "clients": clients,
                "params": params,
                "rounds": rounds,
                "fit_results": strategy.fit_results,
                "failures": strategy.failures,
                "run_seconds": round(seconds, 3),
                "peak_rss_bytes": peak_rss_bytes(),
            }
        )
    )


if __name__ == "__main__":
    main()
