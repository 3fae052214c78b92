#!/usr/bin/env python3
"""Fleet server at scale: per-round server CPU of server.jar's Fleet API against N Java nodes.

For each node count: starts server.jar (Fleet API over HTTP only, FedAvg, the given initial
model) and one JVM of N FleetNodes (FleetScaleNodes), follows the server's log and reads the
server's CPU time (utime + stime from /proc/PID/stat) at each "[ROUND k]" line and at
"[SUMMARY]". A round's CPU is the difference between its marker and the next one. Round 1
carries the JIT's warm-up and is left out of the mean. Prints one JSON object.
"""

import argparse
import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TICKS = os.sysconf("SC_CLK_TCK")
CNN = [
    (6, 3, 5, 5),
    (6,),
    (16, 6, 5, 5),
    (16,),
    (120, 400),
    (120,),
    (84, 120),
    (84,),
    (10, 84),
    (10,),
]
MODELS = {"1m": [(1000, 1000)], "cnn": CNN, "small": [(100, 100)]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14, 15)


def peak_rss_mb(pid: int) -> float:
    """VmHWM, or 0 once the process is gone (a zombie has no memory lines)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_one(args, model_file: Path, nodes: int, work: Path) -> dict:
    port = free_port()
    log_path = work / f"server-{nodes}.log"
    server_cmd = [
        "java", f"-Xmx{args.server_xmx}", *os.environ.get("FLEET_SERVER_JAVA_OPTS", "").split(),
        "-jar", args.server_jar,
        "--host", "127.0.0.1", "--fleet-http-port", str(port), "--no-grpc-bidi",
        "--port", str(free_port()),
        "--rounds", str(args.rounds), "--min-clients", str(nodes),
        "--min-fit-clients", str(nodes), "--min-evaluate-clients", str(nodes),
        "--fraction-evaluate", "0", "--initial-model", str(model_file),
        "--round-timeout", str(args.round_timeout),
    ]  # fmt: skip
    with open(log_path, "w") as log:
        server = subprocess.Popen(server_cmd, stdout=log, stderr=subprocess.STDOUT)
    client = None
    marks = []  # (label, wall, cpu)
    rss = 0.0
    status = "ok"
    try:
        time.sleep(1.0)
        with open(work / f"nodes-{nodes}.log", "w") as nodes_log:
            client = subprocess.Popen(
                ["java", f"-Xmx{args.client_xmx}", "-Xss512k", "-cp", args.bench_jar,
                 "dev.flowerjava.benchmarks.FleetScaleNodes", f"127.0.0.1:{port}", str(nodes),
                 str(args.poll_ms)],
                stdout=subprocess.DEVNULL, stderr=nodes_log,
            )  # fmt: skip
        seen = 0
        deadline = time.time() + args.timeout
        while True:
            if time.time() > deadline:
                status = f"timeout after {args.timeout} s"
                break
            lines = log_path.read_text(errors="replace").splitlines()
            for line in lines[seen:]:
                if "[ROUND " in line or "[SUMMARY]" in line:
                    marks.append((line.split("[", 2)[-1].rstrip("]"), time.time(),
                                  cpu_seconds(server.pid)))  # fmt: skip
            seen = len(lines)
            if server.poll() is not None:
                break
            rss = max(rss, peak_rss_mb(server.pid))
            time.sleep(0.02)
        if server.poll() is None:
            server.kill()
        elif server.returncode != 0 and status == "ok":
            status = f"server exited {server.returncode}"
    finally:
        if server.poll() is None:
            server.kill()
        if client is not None:
            client.kill()
            client.wait()
        server.wait()
    rounds = []
    for (label, wall, cpu), (_, wall2, cpu2) in itertools.pairwise(marks):
        rounds.append({"round": label, "wall_s": wall2 - wall, "cpu_s": cpu2 - cpu})
    steady = rounds[1:] if len(rounds) > 1 else rounds
    out = {"nodes": nodes, "status": status, "rounds": rounds,
           "peak_rss_mb": rss or None}  # fmt: skip
    if steady and status == "ok":
        out["cpu_ms_per_round"] = 1000 * sum(r["cpu_s"] for r in steady) / len(steady)
        out["wall_ms_per_round"] = 1000 * sum(r["wall_s"] for r in steady) / len(steady)
        out["cpu_ms_per_round_per_node"] = out["cpu_ms_per_round"] / nodes
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--server-jar", required=True)
    ap.add_argument("--bench-jar", required=True)
    ap.add_argument("--label", default="java")
    ap.add_argument("--model", choices=sorted(MODELS), default="1m")
    ap.add_argument("--nodes", default="25,50,100,200")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--poll-ms", type=int, default=2000)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--round-timeout", type=float, default=90)
    ap.add_argument("--server-xmx", default="2g")
    ap.add_argument("--client-xmx", default="3g")
    ap.add_argument("--work-dir", help="keep the logs here (default: a temporary directory)")
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in MODELS[args.model]]
    results = []
    with tempfile.TemporaryDirectory(prefix="fleet-scale-") as tmp:
        work = Path(args.work_dir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        model_file = work / "model.npz"
        np.savez(model_file, *arrays)
        for n in [int(x) for x in args.nodes.split(",")]:
            r = run_one(args, model_file, n, work)
            print(json.dumps(r), file=sys.stderr)
            results.append(r)
            if r["status"] != "ok":
                tail = (work / f"server-{n}.log").read_text(errors="replace")[-2000:]
                print(tail, file=sys.stderr)
    values = sum(a.size for a in arrays)
    print(json.dumps({"label": args.label, "model": args.model, "values": int(values),
                      "model_bytes": int(values * 4), "rounds": args.rounds,
                      "poll_ms": args.poll_ms, "results": results}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
