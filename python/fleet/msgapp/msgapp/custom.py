"""The custom messages of the "custom" variant and the answers they must get.

The ServerApp sends each of QUERIES to every node; a node (the Java ClientApp, or this app's
Python ClientApp) answers from the content alone, so the expected reply is computed here too
and a node that misreads a value answers differently.
"""

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, MetricRecord, RecordDict


def query_content() -> RecordDict:
    """For "query": numbers, a word, a flag and an array to compute with."""
    x = (np.arange(6, dtype=np.float32).reshape(2, 3) - 1.5) / 4
    return RecordDict(
        {
            "question": ConfigRecord(
                {"a": 3, "b": 4.25, "word": "flower", "loud": True, "scale": [1.0, 2.0, 0.5]}
            ),
            "data": ArrayRecord({"x": Array(x)}),
        }
    )


def answer_query(content: RecordDict) -> RecordDict:
    q = content["question"]
    x = content["data"]["x"].numpy()
    word = str(q["word"])
    scaled = x * np.float32(q["scale"][1])
    return RecordDict(
        {
            "answer": MetricRecord(
                {
                    "sum": float(q["a"]) + float(q["b"]),
                    "word-length": len(word),
                    "x-sum": float(x.astype(np.float64).sum()),
                    "x-rows": int(x.shape[0]),
                    "scale": [float(s) for s in q["scale"]],
                }
            ),
            "echo": ConfigRecord({"word": word.upper() if q["loud"] else word, "a": int(q["a"])}),
            "result": ArrayRecord({"scaled": Array(np.ascontiguousarray(scaled))}),
        }
    )


def action_content() -> RecordDict:
    """For "train.custom_action": an int multiplier and an int64 array."""
    return RecordDict(
        {
            "config": ConfigRecord({"times": 7}),
            "arrays": ArrayRecord([np.array([1, -2, 40], dtype=np.int64)]),
        }
    )


def answer_action(content: RecordDict) -> RecordDict:
    times = int(content["config"]["times"])
    arr = content["arrays"]["0"].numpy()
    return RecordDict(
        {
            "arrays": ArrayRecord([arr * times]),
            "metrics": MetricRecord({"total": int(arr.sum()) * times, "count": int(arr.size)}),
        }
    )


# message type -> (content, expected reply content, or the error text an unhandled type gets)
def cases() -> dict[str, tuple[RecordDict, RecordDict | str]]:
    q, a = query_content(), action_content()
    return {
        "query": (q, answer_query(q)),
        "train.custom_action": (a, answer_action(a)),
        "query.not_registered": (q, "No query function registered with name 'not_registered'"),
        "evaluate": (q, "No evaluate function registered with name 'default'"),
    }
