"""ServerApp of the Message API / Context interop tests; run config `variant` picks the test.

  variant="context": 3 rounds of "train" to NumPyClient nodes (Java); each reply's metrics say
      what the node's Context held (run config lr, node config partition-id/num-partitions, node
      and run id, and a state counter that must count 1, 2, 3). Asserted here.
  variant="custom": a "query", a "train.custom_action" and two types no handler takes, sent to
      every node (a Java ClientApp and a Python flower-supernode running msgapp.client_app); the
      replies must equal what msgapp.custom computes from the content, node for node.

Any failed check raises, so the run ends finished:failed; <out-dir>/outcome.json says what was
seen ("status" "ok" only when every check passed).
"""

import json
import time
import traceback
from pathlib import Path

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, RecordDict
from flwr.serverapp import Grid, ServerApp

from msgapp.custom import cases

app = ServerApp()

CLIENT_APP_RAISED_EXCEPTION = 2


class CheckFailed(Exception):
    pass


def check(cond: bool, what: str) -> None:
    if not cond:
        raise CheckFailed(what)


def error_of(reply: Message):
    """The reply's error, or None (reading .error of a reply with content raises)."""
    return reply.error if reply.has_error() else None


def typed(value):
    """A value with its Python type, so that 2 and 2.0 differ."""
    if isinstance(value, list):
        return [typed(v) for v in value]
    if isinstance(value, bytes):
        return ["bytes", value.hex()]
    return [type(value).__name__, value]


def normalize(content: RecordDict) -> dict:
    out = {}
    for name, rec in content.items():
        if isinstance(rec, ArrayRecord):
            out[name] = {
                "ArrayRecord": {
                    k: {
                        "dtype": str(a.numpy().dtype),
                        "shape": list(a.numpy().shape),
                        "values": a.numpy().ravel().tolist(),
                    }
                    for k, a in rec.items()
                }
            }
        else:
            out[name] = {type(rec).__name__: {k: typed(v) for k, v in rec.items()}}
    return out


def wait_nodes(grid: Grid, count: int, timeout: float) -> list[int]:
    deadline = time.time() + timeout
    while True:
        nodes = sorted(grid.get_node_ids())
        if len(nodes) >= count:
            return nodes[:count]
        check(time.time() < deadline, f"only {len(nodes)} of {count} nodes after {timeout}s")
        time.sleep(0.5)


def receive(grid: Grid, messages: list[Message], timeout: float) -> dict[int, Message]:
    replies = list(grid.send_and_receive(messages, timeout=timeout))
    by_node = {r.metadata.src_node_id: r for r in replies}
    check(len(by_node) == len(messages), f"{len(by_node)} replies to {len(messages)} messages")
    return by_node


def split(value: int) -> tuple[int, int]:
    """A uint64 as two non-negative halves (a Java long cannot hold every uint64)."""
    return value & 0xFFFFFFFF, value >> 32


def run_context(grid: Grid, context: Context, outcome: dict) -> None:
    cfg = context.run_config
    rounds = int(cfg["num-rounds"])
    lr = float(cfg["lr"])
    timeout = float(cfg["round-timeout"])
    nodes = wait_nodes(grid, int(cfg["min-nodes"]), timeout)
    run_lo, run_hi = split(context.run_id)
    model = [np.array([0.5, -1.0, 2.0], dtype=np.float32)]
    partitions: dict[int, int] = {}
    outcome["rounds"] = {}
    for r in range(1, rounds + 1):
        msgs = [
            Message(
                RecordDict(
                    {"arrays": ArrayRecord(model), "config": ConfigRecord({"server-round": r})}
                ),
                dst_node_id=n,
                message_type="train",
                group_id=str(r),
            )
            for n in nodes
        ]
        seen = {}
        for node, reply in receive(grid, msgs, timeout).items():
            check(not reply.has_error(), f"round {r}, node {node}: {error_of(reply)}")
            m = dict(reply.content["metrics"])
            seen[str(node)] = m
            lo, hi = split(node)
            check(m["lr"] == lr, f"node {node} saw lr {m['lr']}, the run config says {lr}")
            check(m["counter"] == r, f"node {node}'s state counter is {m['counter']}, round {r}")
            check((m["node-id-low"], m["node-id-high"]) == (lo, hi), f"node {node}'s id: {m}")
            check((m["run-id-low"], m["run-id-high"]) == (run_lo, run_hi), f"run id: {m}")
            check(m["num-partitions"] == len(nodes), f"node {node}'s num-partitions: {m}")
            pid = m["partition-id"]
            check(partitions.setdefault(node, pid) == pid, f"node {node} changed partition")
            got = reply.content["arrays"].to_numpy_ndarrays()
            check(
                len(got) == 1 and np.array_equal(got[0], model[0] + np.float32(r)),
                f"node {node}'s update in round {r}: {got}",
            )
        outcome["rounds"][str(r)] = seen
        model = [model[0] + np.float32(r)]
    check(
        sorted(partitions.values()) == list(range(len(nodes))),
        f"partition ids {partitions}, expected 0..{len(nodes) - 1}",
    )
    outcome["partitions"] = {str(k): v for k, v in partitions.items()}


def run_custom(grid: Grid, context: Context, outcome: dict) -> None:
    cfg = context.run_config
    timeout = float(cfg["round-timeout"])
    nodes = wait_nodes(grid, int(cfg["min-nodes"]), timeout)
    outcome["replies"] = {}
    for message_type, (_, expected) in cases().items():
        # a fresh content per message: each is serialized on its own
        msgs = [
            Message(cases()[message_type][0], dst_node_id=n, message_type=message_type)
            for n in nodes
        ]
        seen = {}
        for node, reply in receive(grid, msgs, timeout).items():
            if isinstance(expected, str):
                check(reply.has_error(), f"{message_type} to node {node} got content")
                seen[str(node)] = {"error_code": reply.error.code, "reason": reply.error.reason}
                code, reason = reply.error.code, reply.error.reason
                check(
                    code == CLIENT_APP_RAISED_EXCEPTION and expected in reason,
                    f"{message_type} to node {node}: {error_of(reply)}",
                )
            else:
                check(not reply.has_error(), f"{message_type} to node {node}: {error_of(reply)}")
                got = normalize(reply.content)
                seen[str(node)] = got
                want = normalize(expected)
                check(got == want, f"{message_type} to node {node}: {got}, expected {want}")
        outcome["replies"][message_type] = seen


@app.main()
def main(grid: Grid, context: Context) -> None:
    cfg = context.run_config
    out = Path(str(cfg["out-dir"])).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    variant = str(cfg["variant"])
    outcome = {"status": "running", "variant": variant, "run_id": context.run_id}
    try:
        if variant == "context":
            run_context(grid, context, outcome)
        elif variant == "custom":
            run_custom(grid, context, outcome)
        else:
            raise ValueError(f"unknown variant {variant!r}")
        outcome["status"] = "ok"
    except BaseException:
        outcome["status"] = "error"
        outcome["error"] = traceback.format_exc()
        raise
    finally:
        (out / "outcome.json").write_text(json.dumps(outcome, indent=2, sort_keys=True))
