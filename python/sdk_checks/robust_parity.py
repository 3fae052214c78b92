"""flwr side of RobustParityTest (flower-java-sdk): flwr's own robust strategies, 3 rounds.

Usage:
  python robust_parity.py TRIAL_DIR...

Each TRIAL_DIR holds, as the Java test wrote them:
  spec.json             {"strategy": flwr class name, "options": keyword arguments,
                         "losses": the evaluate_fn loss per round (QFedAvg)}
  init_t<T>.npy         the initial global model's tensor T
  r<R>/clients.txt      round R (from 1): one line per client, its num_examples
  r<R>/c<C>_t<T>.npy    round R: client C's tensor T
and gets, written here, the model flwr's strategy returns after each round:
  r<R>/out_t<T>.npy
The model is carried from round to round on this side alone: QFedAvg's next round starts from
flwr's own result, as the Java side starts from its own.
"""

import json
import os
import sys

import numpy as np
from flwr.common import (
    Code,
    FitRes,
    Status,
    ndarrays_to_parameters,
    parameters_to_ndarrays,
)
from flwr.server import strategy as flwr_strategies


class _NoClients:
    """Just enough of a ClientManager for configure_fit: nobody to sample."""

    def num_available(self):
        return 0

    def sample(self, num_clients, min_num_clients=None, criterion=None):
        return []


def _tensors(directory, prefix):
    out = []
    t = 0
    while os.path.exists(os.path.join(directory, f"{prefix}_t{t}.npy")):
        out.append(np.load(os.path.join(directory, f"{prefix}_t{t}.npy")))
        t += 1
    return out


def run(trial):
    with open(os.path.join(trial, "spec.json"), encoding="utf-8") as f:
        spec = json.load(f)
    losses = spec.get("losses", [])
    options = dict(spec["options"])
    if losses:
        options["evaluate_fn"] = lambda rnd, _ndarrays, _config: (losses[rnd - 1], {})
    strategy = getattr(flwr_strategies, spec["strategy"])(**options)

    model = ndarrays_to_parameters(_tensors(trial, "init"))
    rnd = 1
    while os.path.isdir(os.path.join(trial, f"r{rnd}")):
        rdir = os.path.join(trial, f"r{rnd}")
        strategy.configure_fit(rnd, model, _NoClients())
        with open(os.path.join(rdir, "clients.txt"), encoding="utf-8") as f:
            counts = [int(line) for line in f if line.strip()]
        results = [
            (
                None,
                FitRes(
                    Status(Code.OK, ""),
                    ndarrays_to_parameters(_tensors(rdir, f"c{c}")),
                    n,
                    {},
                ),
            )
            for c, n in enumerate(counts)
        ]
        aggregated, _ = strategy.aggregate_fit(rnd, results, [])
        model = aggregated
        for t, a in enumerate(parameters_to_ndarrays(model)):
            np.save(os.path.join(rdir, f"out_t{t}.npy"), a)
        rnd += 1


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for trial_dir in sys.argv[1:]:
        run(trial_dir)
    print("ok", len(sys.argv) - 1)
