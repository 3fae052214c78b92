#!/usr/bin/env python3
"""Writes the Fleet-at-scale section of BENCHMARKS.md from fleet_scale.py's JSON files.

Usage: fleet_scale_report.py INTRO.md RUN.json [RUN.json ...]
"""

import json
import sys
from pathlib import Path


def fmt(v, digits=1) -> str:
    return "-" if v is None else f"{v:,.{digits}f}"


def section(run: dict) -> list[str]:
    mb = run["model_bytes"] / 1e6
    lines = [
        f"### {run['label']}: model `{run['model']}` ({run['values']:,} float32 values, "
        f"{mb:.1f} MB), {run['rounds']} rounds, poll {run['poll_ms']} ms",
        "",
        "| nodes | server CPU ms / round | CPU ms / round / node | CPU ms / round / node / MB"
        " | round wall ms | server peak RSS MB | status |",
        "|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in run["results"]:
        per_node = r.get("cpu_ms_per_round_per_node")
        lines.append(
            f"| {r['nodes']} | {fmt(r.get('cpu_ms_per_round'), 0)} | {fmt(per_node)} | "
            f"{fmt(None if per_node is None else per_node / mb, 2)} | "
            f"{fmt(r.get('wall_ms_per_round'), 0)} | {fmt(r.get('peak_rss_mb'), 0)} | "
            f"{r['status']} |"
        )
    ok = [r for r in run["results"] if r.get("cpu_ms_per_round_per_node")]
    if len(ok) >= 2:
        lo, hi = ok[0], ok[-1]
        ratio = hi["cpu_ms_per_round_per_node"] / lo["cpu_ms_per_round_per_node"]
        lines += [
            "",
            f"CPU per round per node at {hi['nodes']} nodes is {ratio:.2f}x that at "
            f"{lo['nodes']} nodes (1.00 = flat: per-round CPU linear in the node count, the "
            "model's serialization and hashing paid once per round).",
        ]
    return [*lines, ""]


def main() -> int:
    intro = Path(sys.argv[1]).read_text().rstrip()
    out = ["## Fleet server at scale", "", intro, ""]
    for path in sys.argv[2:]:
        out += section(json.loads(Path(path).read_text()))
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
