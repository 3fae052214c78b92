"""flwr side of DifferentialPrivacyParityTest (flower-java-sdk): flwr's own fixed-clipping DP.

Usage:
  python dp_parity.py server|client CLIPPING_NORM TRIAL_DIR

TRIAL_DIR holds, as the Java test wrote them:
  clients.txt            one line per client: its num_examples
  rounds.txt             the number of rounds
  init_t<T>.npy          the initial global model
  d_r<R>_c<C>_t<T>.npy   client C's change in round R: it returns the round's model plus this
and gets, written here:
  global_r<R>_t<T>.npy   the global model after round R

"server" runs flwr's DifferentialPrivacyServerSideFixedClipping around FedAvg; "client" runs
DifferentialPrivacyClientSideFixedClipping around FedAvg, each client clipping its model with the
function flwr's fixedclipping_mod uses, to the norm the wrapper put in its fit config. Both with
noise_multiplier 0, so the aggregate is deterministic.
"""

import os
import sys

import numpy as np
from flwr.common import Code, FitRes, Status, ndarrays_to_parameters, parameters_to_ndarrays
from flwr.server.client_manager import SimpleClientManager
from flwr.server.client_proxy import ClientProxy
from flwr.server.strategy import (
    DifferentialPrivacyClientSideFixedClipping,
    DifferentialPrivacyServerSideFixedClipping,
    FedAvg,
)
from flwr.supercore.differential_privacy import KEY_CLIPPING_NORM, compute_clip_model_update


class OfflineClient(ClientProxy):
    """A client the strategy can sample; the script answers for it."""

    def get_properties(self, ins, timeout, group_id):
        raise NotImplementedError

    def get_parameters(self, ins, timeout, group_id):
        raise NotImplementedError

    def fit(self, ins, timeout, group_id):
        raise NotImplementedError

    def evaluate(self, ins, timeout, group_id):
        raise NotImplementedError

    def reconnect(self, ins, timeout, group_id):
        raise NotImplementedError


def load_tensors(trial, prefix):
    tensors = []
    while os.path.exists(os.path.join(trial, f"{prefix}_t{len(tensors)}.npy")):
        tensors.append(np.load(os.path.join(trial, f"{prefix}_t{len(tensors)}.npy")))
    return tensors


def run(side, clipping_norm, trial):
    with open(os.path.join(trial, "clients.txt"), encoding="utf-8") as f:
        num_examples = [int(line) for line in f if line.strip()]
    with open(os.path.join(trial, "rounds.txt"), encoding="utf-8") as f:
        rounds = int(f.read())
    n = len(num_examples)
    wrapper = (
        DifferentialPrivacyServerSideFixedClipping
        if side == "server"
        else DifferentialPrivacyClientSideFixedClipping
    )
    strategy = wrapper(
        FedAvg(min_fit_clients=n, min_available_clients=n),
        noise_multiplier=0.0,
        clipping_norm=clipping_norm,
        num_sampled_clients=n,
    )
    manager = SimpleClientManager()
    clients = [OfflineClient(str(c)) for c in range(n)]
    for client in clients:
        manager.register(client)

    model = load_tensors(trial, "init")
    for r in range(1, rounds + 1):
        parameters = ndarrays_to_parameters(model)
        instructions = {c.cid: ins for c, ins in strategy.configure_fit(r, parameters, manager)}
        results = []
        for c, client in enumerate(clients):
            ins = instructions[client.cid]
            received = parameters_to_ndarrays(ins.parameters)
            deltas = load_tensors(trial, f"d_r{r}_c{c}")
            returned = [x + d for x, d in zip(received, deltas, strict=True)]
            if side == "client":
                # what fixedclipping_mod does to the client's answer
                compute_clip_model_update(returned, received, float(ins.config[KEY_CLIPPING_NORM]))
            res = FitRes(Status(Code.OK, ""), ndarrays_to_parameters(returned), num_examples[c], {})
            results.append((client, res))
        aggregated, _ = strategy.aggregate_fit(r, results, [])
        model = parameters_to_ndarrays(aggregated)
        for t, tensor in enumerate(model):
            np.save(os.path.join(trial, f"global_r{r}_t{t}.npy"), tensor)


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("server", "client"):
        sys.exit(__doc__)
    run(sys.argv[1], float(sys.argv[2]), sys.argv[3])
    print("ok")
