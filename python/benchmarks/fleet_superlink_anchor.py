#!/usr/bin/env python3
"""The Python anchor of 50-fleet-scale: the same Java nodes against flwr's own SuperLink.

For each node count: python/fleet/federation.py starts flower-superlink (flwr 1.41, Fleet API over
HTTP), FleetScaleNodes (benchmarks.jar) joins N Java nodes, and `flwr run` runs the interop app's
current FedAvg (python/fleet/app, variant "current", an extra array of --big-values float32
values) for --rounds rounds of train + evaluate. Reports the run's time per round (from the app's
outcome.json) and the CPU of the SuperLink and every process under it (the ServerApp among them),
sampled from /proc while the run lasts. Prints one JSON object.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FEDERATION = ROOT / "python" / "fleet" / "federation.py"
TICKS = os.sysconf("SC_CLK_TCK")


def stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a live process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def tree_cpu(root: int, seen: dict[int, float]) -> None:
    """Updates seen[pid] with the CPU of root and its descendants (kept after they exit)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            s = stat(int(entry))
            if s:
                parents[int(entry)] = s
    members = {root}
    changed = True
    while changed:
        changed = False
        for pid, (ppid, _) in parents.items():
            if ppid in members and pid not in members:
                members.add(pid)
                changed = True
    for pid in members:
        if pid in parents:
            seen[pid] = max(seen.get(pid, 0.0), parents[pid][1])


def run_one(args, nodes: int, work: Path) -> dict:
    state = work / f"superlink-{nodes}"
    py = sys.executable
    with open(work / f"superlink-{nodes}.log", "w") as log:
        driver = subprocess.Popen(
            [py, str(FEDERATION), "start-superlink", "--state-dir", str(state), "--port", "0",
             "--max-lifetime", str(args.timeout + 120)],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    client = None
    out = {"nodes": nodes, "status": "ok"}
    try:
        info_file = state / "superlink.json"
        deadline = time.time() + 90
        while not info_file.exists():
            if time.time() > deadline or driver.poll() is not None:
                out["status"] = "the SuperLink did not start"
                return out
            time.sleep(0.2)
        time.sleep(0.2)
        info = json.loads(info_file.read_text())
        with open(work / f"nodes-{nodes}.log", "w") as nodes_log:
            client = subprocess.Popen(
                ["java", f"-Xmx{args.client_xmx}", "-Xss512k", "-cp", args.bench_jar,
                 "dev.flowerjava.benchmarks.FleetScaleNodes", info["fleet"], str(nodes),
                 str(args.poll_ms)],
                stdout=subprocess.DEVNULL, stderr=nodes_log,
            )  # fmt: skip
        outdir = work / f"out-{nodes}"
        with open(work / f"run-{nodes}.log", "w") as run_log:
            run = subprocess.Popen(
                [py, str(FEDERATION), "run", "--superlink-control", info["control"],
                 "--out", str(outdir), "--variant", "current", "--num-rounds", str(args.rounds),
                 "--min-nodes", str(nodes), "--timeout", str(args.timeout),
                 "--run-config", f"big-values={args.big_values}",
                 "--run-config", f"round-timeout={args.timeout}"],
                stdout=run_log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        seen: dict[int, float] = {}
        while run.poll() is None:
            tree_cpu(info["pid"], seen)
            time.sleep(0.25)
        tree_cpu(info["pid"], seen)
        outcome_file = outdir / "outcome.json"
        if run.returncode != 0 or not outcome_file.exists():
            tail = (work / f"run-{nodes}.log").read_text(errors="replace")[-600:]
            out["status"] = f"flwr run failed ({run.returncode}): {tail.strip()}"
            return out
        outcome = json.loads(outcome_file.read_text())
        rounds = outcome.get("rounds_completed", 0)
        out["rounds_completed"] = rounds
        out["outcome"] = outcome.get("status")
        if rounds and outcome.get("finished_at"):
            wall = outcome["finished_at"] - outcome["started_at"]
            out["wall_ms_per_round"] = 1000 * wall / rounds
            out["cpu_ms_per_round"] = 1000 * sum(seen.values()) / rounds
            out["cpu_ms_per_round_per_node"] = out["cpu_ms_per_round"] / nodes
            out["cpu_note"] = "SuperLink + ServerApp processes over the whole run"
        if outcome.get("status") != "ok":
            out["status"] = f"run ended {outcome.get('status')}: {outcome.get('error')}"
        return out
    finally:
        if client is not None:
            client.kill()
            client.wait()
        driver.terminate()
        try:
            driver.wait(30)
        except subprocess.TimeoutExpired:
            driver.kill()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bench-jar", required=True)
    ap.add_argument("--nodes", default="25")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--big-values", type=int, default=1_000_000)
    ap.add_argument("--poll-ms", type=int, default=2000)
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--client-xmx", default="3g")
    ap.add_argument("--work-dir")
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="fleet-superlink-") as tmp:
        work = Path(args.work_dir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        for n in [int(x) for x in args.nodes.split(",")]:
            r = run_one(args, n, work)
            print(json.dumps(r), file=sys.stderr)
            results.append(r)
    summary = {"label": "flwr 1.41 SuperLink", "big_values": args.big_values}
    summary.update({"rounds": args.rounds, "poll_ms": args.poll_ms, "results": results})
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
