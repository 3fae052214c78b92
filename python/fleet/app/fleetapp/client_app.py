"""Numpy-only ClientApp used for the Python-node smoke runs.

It answers both payload styles a SuperNode can receive:
  * current strategies: content {"arrays": ArrayRecord, "config": ConfigRecord}
    -> reply {"arrays": ArrayRecord, "metrics": MetricRecord(num-examples, ...)}
  * legacy strategies (DefaultWorkflow): content "fitins.parameters"/"fitins.config"
    or "evaluateins.*" -> reply with "fitres.*" / "evaluateres.*" keys, built with
    flwr's own compat converters so the keys are exactly what flwr expects.
The "training" is the deterministic update in fleetapp.model.
"""

import numpy as np
from flwr.app import Array, ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.compat.common import recorddict_compat as compat
from flwr.compat.common.parameter import ndarrays_to_parameters, parameters_to_ndarrays
from flwr.compat.common.typing import Code, EvaluateRes, FitRes, Status

from fleetapp.model import local_update, num_examples

app = ClientApp()


def _partition_id(context: Context) -> int:
    return int(context.node_config.get("partition-id", 0))


def _is_legacy(msg: Message, prefix: str) -> bool:
    return any(key.startswith(prefix) for key in msg.content)


@app.train()
def train(msg: Message, context: Context) -> Message:
    pid = _partition_id(context)
    n = num_examples(pid)
    if _is_legacy(msg, "fitins."):
        fitins = compat.recorddict_to_fitins(msg.content, keep_input=True)
        received = parameters_to_ndarrays(fitins.parameters)
        named = {str(i): arr for i, arr in enumerate(received)}
        updated = local_update(named, pid)
        fitres = FitRes(
            status=Status(code=Code.OK, message="Success"),
            parameters=ndarrays_to_parameters([updated[str(i)] for i in range(len(received))]),
            num_examples=n,
            metrics={"train-loss": 1.0 / (pid + 1), "partition-id": pid},
        )
        return Message(compat.fitres_to_recorddict(fitres, keep_input=True), reply_to=msg)

    arrays: ArrayRecord = msg.content["arrays"]
    received = {name: arr.numpy() for name, arr in arrays.items()}
    updated = local_update(received, pid)
    reply = RecordDict(
        {
            "arrays": ArrayRecord({k: Array(np.ascontiguousarray(v)) for k, v in updated.items()}),
            "metrics": MetricRecord(
                {"train-loss": 1.0 / (pid + 1), "partition-id": pid, "num-examples": n}
            ),
        }
    )
    return Message(reply, reply_to=msg)


@app.evaluate()
def evaluate(msg: Message, context: Context) -> Message:
    pid = _partition_id(context)
    n = num_examples(pid)
    if _is_legacy(msg, "evaluateins."):
        evres = EvaluateRes(
            status=Status(code=Code.OK, message="Success"),
            loss=0.5 / (pid + 1),
            num_examples=n,
            metrics={"eval-acc": 0.5 + 0.1 * pid},
        )
        return Message(compat.evaluateres_to_recorddict(evres), reply_to=msg)

    reply = RecordDict(
        {
            "metrics": MetricRecord(
                {"eval-loss": 0.5 / (pid + 1), "eval-acc": 0.5 + 0.1 * pid, "num-examples": n}
            )
        }
    )
    return Message(reply, reply_to=msg)
