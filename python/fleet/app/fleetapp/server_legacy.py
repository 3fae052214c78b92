"""Legacy FedAvg (flwr.server.strategy) run by DefaultWorkflow on a LegacyContext.

Instructions then carry the compat keys "fitins.parameters", "fitins.config",
"evaluateins.parameters", "evaluateins.config"; replies must carry "fitres.*" /
"evaluateres.*".  Legacy Parameters have no names: arrays are keyed "0", "1", ...
in the order of fleetapp.model.ARRAY_NAMES.
"""

from flwr.app import Context
from flwr.compat.common.parameter import ndarrays_to_parameters, parameters_to_ndarrays
from flwr.server import LegacyContext, ServerConfig
from flwr.server.strategy import FedAvg
from flwr.server.workflow import DefaultWorkflow
from flwr.server.workflow.constant import MAIN_PARAMS_RECORD
from flwr.serverapp import Grid

from fleetapp.model import ARRAY_NAMES, initial_arrays
from fleetapp.outcome import Outcome


class RecordingLegacyFedAvg(FedAvg):
    def __init__(self, outcome: Outcome, **kwargs) -> None:
        super().__init__(**kwargs)
        self.outcome = outcome

    def _failures(self, phase, server_round, failures) -> None:
        reasons = []
        for failure in failures:
            if isinstance(failure, BaseException):
                reasons.append(repr(failure))
            else:
                proxy, res = failure
                reasons.append(f"node {proxy.node_id}: {res.status.code} {res.status.message}")
        self.outcome.record_failures(phase, server_round, reasons)

    def aggregate_fit(self, server_round, results, failures):
        for proxy, fitres in results:
            nds = parameters_to_ndarrays(fitres.parameters)
            self.outcome.record_reply(
                "train",
                server_round,
                {
                    "node_id": proxy.node_id,
                    "num_examples": fitres.num_examples,
                    "metrics": dict(fitres.metrics),
                    "status": str(fitres.status.code),
                    "arrays": self.outcome.save_arrays(
                        f"round{server_round}/node{proxy.node_id}",
                        {str(i): a for i, a in enumerate(nds)},
                    ),
                },
            )
        self._failures("train", server_round, failures)
        return super().aggregate_fit(server_round, results, failures)

    def aggregate_evaluate(self, server_round, results, failures):
        for proxy, evres in results:
            self.outcome.record_reply(
                "evaluate",
                server_round,
                {
                    "node_id": proxy.node_id,
                    "num_examples": evres.num_examples,
                    "loss": evres.loss,
                    "metrics": dict(evres.metrics),
                    "status": str(evres.status.code),
                },
            )
        self._failures("evaluate", server_round, failures)
        out = super().aggregate_evaluate(server_round, results, failures)
        self.outcome.round_done(server_round)
        return out


def run(grid: Grid, context: Context, outcome: Outcome, num_rounds: int) -> None:
    cfg = context.run_config
    min_nodes = int(cfg.get("min-nodes", 2))
    init = initial_arrays()
    strategy = RecordingLegacyFedAvg(
        outcome,
        min_fit_clients=min_nodes,
        min_evaluate_clients=min_nodes,
        min_available_clients=min_nodes,
        initial_parameters=ndarrays_to_parameters([init[n] for n in ARRAY_NAMES]),
        on_fit_config_fn=lambda r: {"server-round": r, "lr": 0.1},
    )
    legacy = LegacyContext(
        context=context,
        config=ServerConfig(
            num_rounds=num_rounds, round_timeout=float(cfg.get("round-timeout", 60.0))
        ),
        strategy=strategy,
    )
    DefaultWorkflow()(grid, legacy)
    final = legacy.state.array_records[MAIN_PARAMS_RECORD]
    outcome.data["history_losses_distributed"] = [
        [r, loss] for r, loss in legacy.history.losses_distributed
    ]
    outcome.finish({name: arr.numpy() for name, arr in final.items()})
