"""Current-API FedAvg (flwr.serverapp.strategy) that records every reply."""

from collections.abc import Iterable

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message
from flwr.serverapp import Grid
from flwr.serverapp.strategy import FedAvg

from fleetapp.model import initial_arrays
from fleetapp.outcome import Outcome


class RecordingFedAvg(FedAvg):
    def __init__(self, outcome: Outcome, **kwargs) -> None:
        super().__init__(**kwargs)
        self.outcome = outcome

    def _record(self, phase: str, server_round: int, replies: list[Message]) -> None:
        reasons = []
        for msg in replies:
            md = msg.metadata
            if msg.has_error():
                reasons.append(f"node {md.src_node_id}: {msg.error.code} {msg.error.reason}")
                continue
            entry = {
                "node_id": md.src_node_id,
                "message_type": md.message_type,
                "record_keys": sorted(msg.content.keys()),
                "metrics": {k: dict(v) for k, v in msg.content.metric_records.items()},
            }
            if phase == "train":
                for key, rec in msg.content.array_records.items():
                    entry["arrays_key"] = key
                    entry["arrays"] = self.outcome.save_arrays(
                        f"round{server_round}/node{md.src_node_id}",
                        {name: arr.numpy() for name, arr in rec.items()},
                    )
            self.outcome.record_reply(phase, server_round, entry)
        self.outcome.record_failures(phase, server_round, reasons)

    def aggregate_train(self, server_round: int, replies: Iterable[Message]):
        replies = list(replies)
        self._record("train", server_round, replies)
        return super().aggregate_train(server_round, replies)

    def aggregate_evaluate(self, server_round: int, replies: Iterable[Message]):
        replies = list(replies)
        self._record("evaluate", server_round, replies)
        metrics = super().aggregate_evaluate(server_round, replies)
        # FedAvg.start() evaluates after training in each round: round is complete now.
        self.outcome.round_done(server_round)
        return metrics


def run(grid: Grid, context: Context, outcome: Outcome, num_rounds: int) -> None:
    cfg = context.run_config
    min_nodes = int(cfg.get("min-nodes", 2))
    strategy = RecordingFedAvg(
        outcome,
        min_train_nodes=min_nodes,
        min_evaluate_nodes=min_nodes,
        min_available_nodes=min_nodes,
    )
    big = int(cfg.get("big-values", 0))
    big_arrays = int(cfg.get("big-arrays", 1))
    outcome.keep_arrays = bool(cfg.get("save-arrays", True))
    start = ArrayRecord({k: Array(v) for k, v in initial_arrays(big, big_arrays).items()})
    result = strategy.start(
        grid=grid,
        initial_arrays=start,
        num_rounds=num_rounds,
        timeout=float(cfg.get("round-timeout", 60.0)),
        train_config=ConfigRecord({"lr": 0.1}),
    )
    outcome.data["train_metrics"] = {
        str(r): dict(m) for r, m in result.train_metrics_clientapp.items()
    }
    outcome.data["evaluate_metrics"] = {
        str(r): dict(m) for r, m in result.evaluate_metrics_clientapp.items()
    }
    outcome.finish({name: np.asarray(arr.numpy()) for name, arr in result.arrays.items()})
