"""Builds the object-store test messages with the pinned flwr's own classes.

  deflate <dir>           write every object of each test message to <dir>/<object id> and a
                          manifest <dir>/manifest.json (message ids, objects in flwr's order with
                          their types and independently computed SHA-256, object trees)
  inflate <dir> <which>   inflate <which> ("content" or "error") from the objects in <dir> (file
                          name = object id; <dir>/message_id.<which> names the root) with flwr's
                          inflate_object_from_contents and compare it with flwr's own message;
                          prints "OK" or the differences and exits 1

The content must stay in step with ObjectStoreInteropTest.java.
"""

import hashlib
import json
import os
import sys

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Error, MetricRecord, RecordDict
from flwr.app.message.message import make_message
from flwr.app.metadata import Metadata
from flwr.supercore.inflatable.inflatable_object import (
    get_all_nested_objects,
    get_object_tree,
    get_object_type_from_object_content,
)
from flwr.supercore.inflatable.inflatable_utils import inflate_object_from_contents


def metadata():
    return Metadata(
        run_id=42,
        message_id="",
        src_node_id=1,
        dst_node_id=2**64 - 2,
        reply_to_message_id="",
        group_id="round-1",
        created_at=1700000000.123456,
        ttl=3600.0,
        message_type="train",
        dst_task_id=7,
    )


def content():
    small = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int64)
    arrays = ArrayRecord(
        {
            "big": Array((np.arange(1_600_000) % 1000).astype(np.float32) * np.float32(0.25)),
            "zeros": Array(np.zeros(4_000_000, dtype=np.float32)),
            "small": Array(small),
            'w\u00e9"ird\n\U0001f600 name': Array(np.array([0.5, -1.5], dtype=np.float64)),
            "same": Array(small.copy()),
        }
    )
    config = ConfigRecord(
        {
            "lr": 0.01,
            "epochs": 3,
            "neg": -5,
            "big": 2**64 - 1,
            "name": "r\u00e9sum\u00e9 \u2713",
            "blob": b"\x00\x01\xff",
            "flag": True,
            "floats": [0.1, 0.2],
            "ints": [1, -2, 3],
            "bigs": [1, 2**63],
            "strs": ["a", "\u00fc"],
            "blobs": [b"x", b""],
            "bools": [True, False],
            "empty": [],
        }
    )
    metrics = {"loss": 0.25, "n": 100, "accs": [0.5, 0.75], "counts": [1, 2], "empty": []}
    return RecordDict(
        {
            "arrays": arrays,
            "config": config,
            "metrics": MetricRecord(dict(metrics)),
            "metrics2": MetricRecord(dict(metrics)),
        }
    )


def messages():
    return {
        "content": make_message(metadata=metadata(), content=content()),
        "error": make_message(metadata=metadata(), error=Error(code=3, reason="boom")),
    }


def tree_json(tree):
    return {"id": tree.object_id, "children": [tree_json(c) for c in tree.children]}


def deflate(out_dir):
    manifest = {}
    for which, msg in messages().items():
        objects = []
        for obj_id, obj in get_all_nested_objects(msg).items():
            data = obj.deflate()
            with open(os.path.join(out_dir, obj_id), "wb") as f:
                f.write(data)
            objects.append(
                {
                    "id": obj_id,
                    "type": get_object_type_from_object_content(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "size": len(data),
                }
            )
        manifest[which] = {
            "message_id": msg.object_id,
            "objects": objects,
            "tree": tree_json(get_object_tree(msg)),
        }
    with open(os.path.join(out_dir, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1)


def describe(msg):
    md = msg.metadata
    out = {
        "metadata": [
            md.run_id,
            md.src_node_id,
            md.dst_node_id,
            md.reply_to_message_id,
            md.group_id,
            md.created_at,
            md.ttl,
            md.message_type,
            md.src_task_id,
            md.dst_task_id,
        ],
    }
    if msg.has_error():
        out["error"] = [msg.error.code, msg.error.reason]
        return out
    recs = {}
    for name, rec in msg.content.items():
        if isinstance(rec, ArrayRecord):
            recs[name] = {
                k: [a.dtype, list(a.shape), a.stype, hashlib.sha256(a.data).hexdigest()]
                for k, a in rec.items()
            }
        else:
            recs[name] = {k: [type(v).__name__, repr(v)] for k, v in rec.items()}
        recs[name] = [type(rec).__name__, list(recs[name].items())]
    out["content"] = list(recs.items())
    return out


def inflate(in_dir, which):
    contents = {}
    for name in os.listdir(in_dir):
        if len(name) == 64:
            with open(os.path.join(in_dir, name), "rb") as f:
                contents[name] = f.read()
    with open(os.path.join(in_dir, "message_id." + which), encoding="ascii") as f:
        message_id = f.read().strip()
    got = inflate_object_from_contents(message_id, contents, keep_object_contents=True)
    expected = messages()[which]
    problems = []
    if describe(got) != describe(expected):
        problems.append(f"inflated {describe(got)}\nexpected {describe(expected)}")
    if got.object_id != message_id:
        problems.append(f"re-deflated id {got.object_id} != {message_id}")
    if expected.object_id != message_id:
        problems.append(f"flwr's own message has id {expected.object_id}, Java's {message_id}")
    print("OK" if not problems else "\n".join(problems))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    if sys.argv[1] == "deflate":
        deflate(sys.argv[2])
    else:
        inflate(sys.argv[2], sys.argv[3])
