"""flwr side of FedAvgParityTest (flower-java-sdk): flwr's own FedAvg aggregation.

Usage:
  python fedavg_parity.py TRIAL_DIR...

Each TRIAL_DIR holds, as the Java test wrote them:
  clients.txt          one line per client: "num_examples loss" (loss as a Python float literal)
  c<C>_t<T>.npy        client C's tensor T (float32)
and gets, written here:
  aggregate_t<T>.npy   flwr.server.strategy.aggregate.aggregate
  inplace_t<T>.npy     flwr.server.strategy.aggregate.aggregate_inplace (FitRes via
                       flwr.common.ndarrays_to_parameters, as FedAvg's default in-place path)
  loss.txt             repr() of flwr.server.strategy.aggregate.weighted_loss_avg
"""

import os
import sys

import numpy as np
from flwr.common import Code, FitRes, Status, ndarrays_to_parameters
from flwr.server.strategy.aggregate import aggregate, aggregate_inplace, weighted_loss_avg


def run(trial):
    with open(os.path.join(trial, "clients.txt"), encoding="utf-8") as f:
        rows = [line.split() for line in f if line.strip()]
    clients = []
    for c, (num_examples, loss) in enumerate(rows):
        tensors = []
        t = 0
        while os.path.exists(os.path.join(trial, f"c{c}_t{t}.npy")):
            tensors.append(np.load(os.path.join(trial, f"c{c}_t{t}.npy")))
            t += 1
        clients.append((tensors, int(num_examples), float(loss)))

    plain = aggregate([(tensors, n) for tensors, n, _ in clients])
    fit_results = [
        (None, FitRes(Status(Code.OK, ""), ndarrays_to_parameters(tensors), n, {}))
        for tensors, n, _ in clients
    ]
    inplace = aggregate_inplace(fit_results)
    for t, (a, b) in enumerate(zip(plain, inplace, strict=True)):
        np.save(os.path.join(trial, f"aggregate_t{t}.npy"), a)
        np.save(os.path.join(trial, f"inplace_t{t}.npy"), b)

    loss = weighted_loss_avg([(n, loss) for _, n, loss in clients])
    with open(os.path.join(trial, "loss.txt"), "w", encoding="utf-8") as f:
        f.write(repr(float(loss)))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for trial_dir in sys.argv[1:]:
        run(trial_dir)
    print("ok", len(sys.argv) - 1)
