"""flwr side of FedOptParityTest (flower-java-sdk): flwr's own FedAvgM, FedAdagrad, FedAdam and
FedYogi run over the same client results, one strategy instance per trial so state carries.

Usage:
  python fedopt_parity.py TRIAL_DIR...

Each TRIAL_DIR holds, as the Java test wrote them:
  spec.json            {"strategy": NAME, "options": {flwr kwargs}, "examples": [[n, ...], ...]}
                       with one list of num_examples per round
  initial_t<T>.npy     the initial model's tensor T
  r<R>_c<C>_t<T>.npy   round R's (from 1) result of client C, tensor T
and gets, written here:
  out_r<R>_t<T>.npy    tensor T of the parameters aggregate_fit returned in round R
"""

import json
import os
import sys

import numpy as np
from flwr.common import Code, FitRes, Status, ndarrays_to_parameters, parameters_to_ndarrays
from flwr.server.strategy import FedAdagrad, FedAdam, FedAvgM, FedYogi

STRATEGIES = {"FedAvgM": FedAvgM, "FedAdagrad": FedAdagrad, "FedAdam": FedAdam, "FedYogi": FedYogi}


def load(trial, prefix):
    tensors = []
    while os.path.exists(os.path.join(trial, f"{prefix}_t{len(tensors)}.npy")):
        tensors.append(np.load(os.path.join(trial, f"{prefix}_t{len(tensors)}.npy")))
    return tensors


def run(trial):
    with open(os.path.join(trial, "spec.json"), encoding="utf-8") as f:
        spec = json.load(f)
    strategy = STRATEGIES[spec["strategy"]](
        initial_parameters=ndarrays_to_parameters(load(trial, "initial")), **spec["options"]
    )
    for r, examples in enumerate(spec["examples"], start=1):
        results = [
            (
                None,
                FitRes(
                    Status(Code.OK, ""),
                    ndarrays_to_parameters(load(trial, f"r{r}_c{c}")),
                    n,
                    {},
                ),
            )
            for c, n in enumerate(examples)
        ]
        parameters, _ = strategy.aggregate_fit(r, results, [])
        for t, a in enumerate(parameters_to_ndarrays(parameters)):
            np.save(os.path.join(trial, f"out_r{r}_t{t}.npy"), a)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for trial_dir in sys.argv[1:]:
        run(trial_dir)
    print("ok", len(sys.argv) - 1)
