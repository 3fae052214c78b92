"""The toy client (toy.py) in flwr's own simulation: run_simulation with a ServerApp (legacy FedAvg
through server_fn) and a ClientApp (a NumPyClient built by client_fn from the Context), on the
Ray backend. Half of benchmarks/parts/80-simulation.sh; runs in .venv/flwr-sim.

Usage: flwr_sim.py SUPERNODES ROUNDS LOCAL_STEPS SEED OUT_PREFIX

Writes OUT_PREFIX.json (the round timings and the final loss) and OUT_PREFIX.npz (the final
model). Rounds are timed inside the server: from each round's fit configuration to the end of its
aggregation (relative to the first round's start); Ray's start-up is in the part's wall time, and
its actors' in the first round.

run_simulation has no run config argument, so the data seed and the number of local steps reach
the clients in the fit instruction's config (the Java twin reads them from the run config, where
LocalTraining.steps puts them)."""

import json
import shutil
import sys
import tempfile
import time

import flwr
import numpy as np
import ray
import toy
from flwr.client import ClientApp, NumPyClient
from flwr.common import Context, ndarrays_to_parameters, parameters_to_ndarrays
from flwr.server import ServerApp, ServerAppComponents, ServerConfig
from flwr.server.strategy import FedAvg
from flwr.simulation import run_simulation


class ToyClient(NumPyClient):
    def __init__(self, partition: int):
        self.partition = partition

    def fit(self, parameters, config):
        # the data is made for each instruction, as the Java twin does: clients keep nothing
        x, y = toy.partition_data(int(config["data-seed"]), self.partition)
        updated = toy.train(parameters, x, y, int(config["local-steps"]))
        return updated, len(y), {}


def client_fn(context: Context):
    return ToyClient(int(context.node_config["partition-id"])).to_client()


class TimedFedAvg(FedAvg):
    """FedAvg that notes when the rounds start and end and keeps the last aggregate."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.started = None
        self.round_starts = []
        self.round_ends = []
        self.results_per_round = []
        self.final = None

    def configure_fit(self, server_round, parameters, client_manager):
        if self.started is None:
            self.started = time.perf_counter()
        self.round_starts.append(time.perf_counter())
        return super().configure_fit(server_round, parameters, client_manager)

    def aggregate_fit(self, server_round, results, failures):
        aggregated = super().aggregate_fit(server_round, results, failures)
        self.results_per_round.append(len(results) if not failures else -len(failures))
        self.final = aggregated[0]
        self.round_ends.append(time.perf_counter())
        return aggregated


def main():
    supernodes, rounds, steps, seed = (int(a) for a in sys.argv[1:5])
    prefix = sys.argv[5]
    strategy = TimedFedAvg(
        fraction_fit=1.0,
        fraction_evaluate=0.0,
        min_fit_clients=supernodes,
        min_available_clients=supernodes,
        initial_parameters=ndarrays_to_parameters(toy.initial_model(seed)),
        on_fit_config_fn=lambda _round: {"data-seed": seed, "local-steps": steps},
    )

    def server_fn(_context: Context):
        return ServerAppComponents(strategy=strategy, config=ServerConfig(num_rounds=rounds))

    # short: Ray's unix socket paths under it must stay below 108 characters
    ray_dir = tempfile.mkdtemp(prefix="flwr-sim-ray-")
    began = time.perf_counter()
    try:
        run_simulation(
            server_app=ServerApp(server_fn=server_fn),
            client_app=ClientApp(client_fn=client_fn),
            num_supernodes=supernodes,
            backend_name="ray",
            # 2 cores: one CPU per client gives a pool of two Ray actors (flwr's default asks for
            # two CPUs per client, one actor); no dashboard (flwr's default too). A Ray of its own
            # ("local"), in a temp dir of its own: without an address ray.init joins the cluster
            # that /tmp/ray/ray_current_cluster names, another run's or a stale one.
            backend_config={
                "client_resources": {"num_cpus": 1, "num_gpus": 0.0},
                "init_args": {
                    "address": "local",
                    "num_cpus": 2,
                    "include_dashboard": False,
                    "_temp_dir": ray_dir,
                },
            },
        )
    finally:
        shutil.rmtree(ray_dir, ignore_errors=True)
    wall = time.perf_counter() - began
    if strategy.final is None or len(strategy.round_ends) != rounds:
        raise SystemExit(f"flwr_sim.py: {len(strategy.round_ends)} of {rounds} rounds aggregated")
    if any(n != supernodes for n in strategy.results_per_round):
        raise SystemExit(f"flwr_sim.py: results per round {strategy.results_per_round}")
    model = parameters_to_ndarrays(strategy.final)
    np.savez(prefix + ".npz", *model)
    rounds_seconds = strategy.round_ends[-1] - strategy.started
    with open(prefix + ".json", "w") as f:
        json.dump(
            {
                "engine": "flwr",
                "supernodes": supernodes,
                "rounds": rounds,
                "local_steps": steps,
                "seed": seed,
                "rounds_seconds": rounds_seconds,
                "round_starts": [t - strategy.started for t in strategy.round_starts],
                "round_ends": [t - strategy.started for t in strategy.round_ends],
                "wall_seconds": wall,
                "results_per_round": strategy.results_per_round,
                "flwr_version": flwr.__version__,
                "ray_version": ray.__version__,
            },
            f,
        )


if __name__ == "__main__":
    main()
