"""smoke: the whole loop with Python SuperNodes - a SuperLink, two nodes, one run per variant,
teardown - and with --auth also TLS, key registration and a third, unregistered node that must be
refused."""

import contextlib
import json
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from . import FLEET_DIR
from .control import do_run, register_node
from .flwr_env import cli_home
from .output import emit
from .processes import Foreground, kill_tree
from .superlink import launch_superlink
from .supernode import launch_supernode, wait_node_id


def _make_certs(tls_dir: Path) -> list[dict]:
    """TLS material and three node key pairs (make_certs.py); returns the nodes' key files."""
    res = subprocess.run(
        [sys.executable, str(FLEET_DIR / "make_certs.py"), "--out", str(tls_dir), "--nodes", "3"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(res.stdout)["nodes"]


def _unregistered_node(fleet: str, work: Path, ca: str, key: dict, procs: list) -> dict:
    """Starts a node whose key was never registered (added to procs at once, for the teardown),
    waits for it to give up, and reports it."""
    proc, ninfo = launch_supernode(fleet, 2, 2, work / "nodes", ca, key["private"], max_retries=0)
    procs.append(proc)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=60)
    ninfo["exit_code"] = proc.poll()
    ninfo["node_id"] = wait_node_id(ninfo["log"], proc, timeout=1)
    ninfo["log_tail"] = Path(ninfo["log"]).read_text(errors="replace").splitlines()[-6:]
    return ninfo


def cmd_smoke(a) -> int:
    work = Path(a.work_dir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    Foreground(a.timeout * 3)  # install signal handlers -> finally-blocks run on SIGTERM
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tls_dir = None
    keys: list[dict] = []
    if a.auth:
        tls_dir = work / "certs"
        keys = _make_certs(tls_dir)
    procs: list[subprocess.Popen] = []
    summary: dict = {"work_dir": str(work)}
    try:
        sl_procs, info = launch_superlink(work / "superlink", 0, tls_dir, a.auth, a.trace)
        procs += sl_procs
        summary["superlink"] = info
        ca = info["root_certificates"]
        fleet = info.get("fleet_traced", info["fleet"])
        if a.auth:
            for key in keys[:2]:
                with tempfile.TemporaryDirectory() as tmp:
                    r = register_node(cli_home(info["control"], ca, Path(tmp)), key["public"])
                summary.setdefault("register", []).append(
                    {"rc": r.returncode, "out": r.stdout.strip()}
                )
        nodes = []
        for pid in range(2):
            auth_key = keys[pid]["private"] if a.auth else None
            proc, ninfo = launch_supernode(fleet, pid, 2, work / "nodes", ca, auth_key)
            procs.append(proc)
            nodes.append((proc, ninfo))
        for proc, ninfo in nodes:
            ninfo["node_id"] = wait_node_id(ninfo["log"], proc, timeout=60)
        summary["nodes"] = [n for _, n in nodes]
        if a.auth:
            # A third node whose key was never registered must be refused.
            summary["unregistered_node"] = _unregistered_node(fleet, work, ca, keys[2], procs)
        variants = ["current", "legacy"] if a.variant == "both" else [a.variant]
        summary["runs"] = {}
        code = 0
        for variant in variants:
            out = work / f"out-{variant}"
            c, result = do_run(
                Path(a.app), info["control"], out, variant, a.num_rounds, 2, a.timeout, ca, []
            )
            keep = ("ok", "run_id", "flwr_status", "elapsed_s", "out_dir", "error")
            summary["runs"][variant] = {k: result.get(k) for k in keep}
            outcome = result.get("outcome") or {}
            summary["runs"][variant]["rounds_completed"] = outcome.get("rounds_completed")
            code = code or c
        summary["ok"] = code == 0
        emit(summary)
        return code
    finally:
        for p in reversed(procs):
            kill_tree(p)
