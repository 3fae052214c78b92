"""A Message-API ClientApp with a deterministic "training".

train: every received array plus the run config's `step`, weighted by its `num-examples`.
evaluate: the loss is the mean of all weights, so the test can tell which model arrived.
The run config values are checked for their types: a server that served `step=0.5` as a
string, or left out the FAB's defaults, makes the ClientApp fail loudly.
"""

import numpy as np
from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

app = ClientApp()


def _typed(context: Context, key: str, kind: type):
    value = context.run_config[key]
    # bool is an int subclass in Python: refuse it where a number is expected
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TypeError(f"run config {key!r} is {value!r} ({type(value).__name__}), not {kind}")
    return value


def _model(msg: Message) -> list[np.ndarray]:
    arrays: ArrayRecord = msg.content["arrays"]
    return arrays.to_numpy_ndarrays()


@app.train()
def train(msg: Message, context: Context) -> Message:
    step = _typed(context, "step", float)
    n = _typed(context, "num-examples", int)
    tag = _typed(context, "tag", str)
    updated = [np.asarray(a, dtype=np.float64) + step for a in _model(msg)]
    metrics = MetricRecord({"num-examples": n, "python-node": 1, "tag-length": len(tag)})
    reply = RecordDict({"arrays": ArrayRecord(updated), "metrics": metrics})
    return Message(reply, reply_to=msg)


@app.evaluate()
def evaluate(msg: Message, context: Context) -> Message:
    n = _typed(context, "num-examples", int)
    model = _model(msg)
    loss = float(np.mean(np.concatenate([np.ravel(a) for a in model])))
    reply = RecordDict({"metrics": MetricRecord({"eval_loss": loss, "num-examples": n})})
    return Message(reply, reply_to=msg)
