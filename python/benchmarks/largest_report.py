"""The section of benchmarks/parts/60-largest-model.sh: the largest model on each path.

largest_report.py superlink-result LABEL ARRAYS VALUES RUN_RC CLIENTS_RC SECONDS PEAK_KB
    RUN_JSON CLIENTS_JSON CLIENTS_LOG STATE_DIR OUT_DIR      -> one JSON object (stdout)
largest_report.py report MODE OUT                          -> the Markdown section (stdout)
"""

import json
import re
import sys
from pathlib import Path

NAME = "60-largest-model"
GIB = 1024**3


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _error_lines(path: Path, limit: int = 4) -> list[str]:
    """The distinct warning/error lines of a log, shortened, at most `limit`."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return []
    found: list[str] = []
    pattern = re.compile(r"WARN|ERROR|Error|error|Traceback|exceed|Exception")
    for line in lines:
        if pattern.search(line) and not line.lstrip().startswith("at "):
            text = re.sub(r"^\S+ \[[^]]+\] ", "", line.strip())[:300]
            text = re.sub(r"[0-9a-f]{64}", "<id>", text)
            if text not in found:
                found.append(text)
    return found[-limit:]


def superlink_result(a: list[str]) -> dict:
    label, arrays, values, run_rc, clients_rc, seconds, peak_kb = a[:7]
    run_json, clients_json, clients_log, state_dir, out_dir = map(Path, a[7:12])
    run = _read_json(run_json)
    outcome = run.get("outcome") or _read_json(out_dir / "outcome.json")
    superlink_log = Path(_read_json(state_dir / "superlink.json").get("log", state_dir / "x"))
    model_bytes = int(arrays) * int(values) * 4
    return {
        "label": label,
        "model_bytes": model_bytes,
        "arrays": int(arrays),
        "ok": run_rc == "0" and outcome.get("status") == "ok",
        "flwr_status": run.get("flwr_status"),
        "outcome_status": outcome.get("status"),
        "outcome_error": outcome.get("error"),
        "seconds": float(seconds),
        "superlink_peak_rss_bytes": int(peak_kb) * 1024,
        "clients": _read_json(clients_json),
        "clients_rc": int(clients_rc),
        "node_errors": _error_lines(clients_log),
        "superlink_errors": _error_lines(superlink_log),
    }


def _gb(n: float) -> str:
    return f"{n / 1e9:.2f} GB ({n / GIB:.2f} GiB)"


def report(mode: str, out: Path) -> str:
    rows = []
    for label, title in (("fleet", "Fleet API (HTTP, chunked objects)"), ("bidi", "grpc-bidi")):
        path = out / f"{NAME}.{label}.jsonl"
        if not path.exists():  # LARGEST_PATHS left it out
            continue
        lines = path.read_text().splitlines()
        server, clients = (json.loads(x) for x in lines)
        m = server["model_bytes"]
        rows.append(
            f"| {title} | {server['tensors']} | {_gb(m)} | {server['round_seconds']:.1f} s"
            f" | {server['peak_rss_bytes'] / 1e9:.2f} GB | {server['peak_rss_bytes'] / m:.1f}x"
            f" | {clients['peak_rss_bytes'] / 1e9:.2f} GB ({clients['peak_rss_bytes'] / m:.1f}x)"
            f" | {server['check']} |"
        )
    text = [
        "## The largest model",
        "",
        "A Java server (`FlowerServer`, FedAvg) and two Java nodes in one other JVM carry a model"
        " of several float32 tensors for one round; each node sets element 0 of every tensor and"
        " sends the model back, and the server checks the new global model (element 0 = the"
        " nodes' mean, the others unchanged). Peak RSS is the kernel's VmHWM of each JVM. The"
        " grpc-bidi model is the largest one message can hold: gRPC's limit"
        " (`--max-message-size`, `FlowerClient.Builder.maxMessageSize`) is a Java int, and"
        " protobuf cannot encode or parse a message of 2 GiB or more, so one round's"
        " instruction stays below 2^31 - 1 bytes; the Fleet API splits arrays into 5 MiB"
        " chunks and has no such limit on the model, only 2^31 - 1 bytes per tensor."
        f" Mode: {mode}.",
        "",
        "| path | tensors | model | round | server peak RSS | x model | client JVM (2 nodes)"
        " | check |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Target (issue 10, item 6): at least 2 GiB per round over the Fleet API, the largest"
        " that gRPC allows over grpc-bidi, server RSS a small multiple of the model.",
    ]
    tries = sorted(out.glob(f"{NAME}.superlink-*.json"), key=lambda p: p.stat().st_mtime)
    if tries:
        text += [
            "",
            "flwr 1.41 `flower-superlink` with a ServerApp (flwr's current FedAvg) that sends"
            " the model to the same two Java nodes, one round:",
            "",
            "| model | arrays | result | time | SuperLink + ServerApp peak RSS | where it fails |",
            "|---|---|---|---|---|---|",
        ]
        for p in tries:
            r = json.loads(p.read_text())
            where = "; ".join(
                ((r["outcome_error"] and [str(r["outcome_error"])[:200]]) or [])
                + r["superlink_errors"][:2]
                + r["node_errors"][:2]
            )
            text.append(
                f"| {_gb(r['model_bytes'])} | {r['arrays']} | {'ok' if r['ok'] else 'failed'}"
                f" ({r['flwr_status']}) | {r['seconds']:.0f} s"
                f" | {r['superlink_peak_rss_bytes'] / 1e9:.2f} GB"
                f" | {'' if r['ok'] else where.replace('|', '/')} |"
            )
    else:
        text += ["", "The flwr SuperLink attempt runs in full mode only."]
    return "\n".join(text) + "\n"


def main() -> int:
    if sys.argv[1] == "superlink-result":
        print(json.dumps(superlink_result(sys.argv[2:]), indent=1))
    elif sys.argv[1] == "report":
        sys.stdout.write(report(sys.argv[2], Path(sys.argv[3])))
    else:
        raise SystemExit(f"unknown command {sys.argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
