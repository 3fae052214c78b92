"""start-superlink and stop: a flower-superlink on loopback, whose one HTTP port serves the Fleet,
Control and Runtime APIs (plus a gRPC Fleet port under flwr 1.39, or with --grpc-fleet),
optionally with the recording proxy (trace_proxy.py) in front of its Fleet API. What was started
is described in <state-dir>/superlink.json."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from . import FLEET_DIR
from .flwr_env import (
    GRPC_ONLY_FLEET,
    base_env,
    exe,
    flwr_distribution,
    flwr_version,
    write_flwr_config,
)
from .output import emit, log
from .processes import Foreground, free_port, kill_tree, wait_health


def _command(state_dir: Path, port: int, ca: str | None, tls_dir: Path | None, auth: bool):
    # fmt: off
    cmd = [
        exe("flower-superlink"),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--database", str(state_dir / "superlink.db"),
        "--disable-runtime-dependency-installation",
    ]
    if tls_dir:
        cmd += [
            "--ssl-ca-certfile", ca,
            "--ssl-certfile", str((tls_dir / "server.pem").resolve()),
            "--ssl-keyfile", str((tls_dir / "server.key").resolve()),
        ]
    else:
        cmd.append("--insecure")
    # fmt: on
    if auth:
        cmd.append("--enable-supernode-auth")
    return cmd


def _start_trace_proxy(state_dir: Path, port: int) -> tuple[subprocess.Popen, int, Path]:
    """The recording proxy on a free port in front of the SuperLink's HTTP port."""
    tport = free_port()
    trace_path = state_dir / "fleet-trace.jsonl"
    # fmt: off
    cmd = [
        sys.executable, str(FLEET_DIR / "trace_proxy.py"),
        "--listen", f"127.0.0.1:{tport}",
        "--upstream", f"127.0.0.1:{port}",
        "--out", str(trace_path),
    ]
    # fmt: on
    with open(state_dir / "trace-proxy.log", "ab") as log_file:
        tproc = subprocess.Popen(
            cmd,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return tproc, tport, trace_path


def launch_superlink(
    state_dir: Path,
    port: int,
    tls_dir: Path | None,
    auth: bool,
    trace: bool,
    grpc_fleet: bool = False,
) -> tuple[list[subprocess.Popen], dict]:
    """Starts the SuperLink (and the proxy with trace), waits for /health, writes superlink.json
    and the flwr CLI's config; returns the processes and the info. Kills them on any failure."""
    state_dir.mkdir(parents=True, exist_ok=True)
    flwr_home = state_dir / "flwr-home"
    port = port or free_port()
    ca = str((tls_dir / "ca.crt").resolve()) if tls_dir else None
    cmd = _command(state_dir, port, ca, tls_dir, auth)
    env = base_env(flwr_home)
    grpc_fleet_port = None
    if GRPC_ONLY_FLEET:
        # flwr 1.39: gRPC is the Fleet carrier (default 0.0.0.0:9092): on loopback, a free port
        grpc_fleet_port = free_port()
        cmd += ["--fleet-api-address", f"127.0.0.1:{grpc_fleet_port}"]
    elif grpc_fleet:
        # flwr 1.41+ serves the gRPC Fleet API (flwr.proto.Fleet, what SuperNodes up to 1.39 spoke)
        # only behind this internal switch; the (deprecated) address flag still places it.
        grpc_fleet_port = free_port()
        env["FLWR_INTERNAL_GRPC_FLEET_API"] = "1"
        cmd += ["--fleet-api-address", f"127.0.0.1:{grpc_fleet_port}"]
    log_path = state_dir / "superlink.log"
    log(f"starting: {' '.join(cmd)}")
    with open(log_path, "ab") as log_file:  # the child has its own copy of the descriptor
        proc = subprocess.Popen(
            cmd,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    procs = [proc]
    try:
        wait_health(port, ca, proc, timeout=60)
        info = {
            "pid": proc.pid,
            "driver_pid": os.getpid(),
            "host": "127.0.0.1",
            "port": port,
            "control": f"127.0.0.1:{port}",
            "fleet": f"127.0.0.1:{grpc_fleet_port if GRPC_ONLY_FLEET else port}",
            "flwr_version": ".".join(map(str, flwr_version())),
            # e.g. ["flwr", "1.42.0"] or ["flwr-nightly", "1.43.0.dev20261026"]
            "flwr_package": list(flwr_distribution()),
            "runtime": f"127.0.0.1:{port}",
            "tls": bool(tls_dir),
            "root_certificates": ca,
            "supernode_auth": auth,
            "fleet_grpc": f"127.0.0.1:{grpc_fleet_port}" if grpc_fleet_port else None,
            "state_dir": str(state_dir.resolve()),
            "flwr_home": str(flwr_home.resolve()),
            "log": str(log_path.resolve()),
        }
        if trace:
            if tls_dir or GRPC_ONLY_FLEET:
                raise ValueError("--trace needs a plain-HTTP Fleet API (no --tls, flwr >= 1.40)")
            tproc, tport, trace_path = _start_trace_proxy(state_dir, port)
            procs.append(tproc)
            wait_health(tport, None, tproc, timeout=20)  # /health is proxied through
            info.update({"fleet_traced": f"127.0.0.1:{tport}", "trace": str(trace_path.resolve())})
        (state_dir / "superlink.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
        write_flwr_config(flwr_home, info["control"], ca)
        return procs, info
    except BaseException:
        for p in reversed(procs):
            kill_tree(p)
        raise


def cmd_start_superlink(a) -> int:
    fg = Foreground(a.max_lifetime)
    procs, info = launch_superlink(
        Path(a.state_dir),
        a.port,
        Path(a.tls) if a.tls else None,
        a.enable_supernode_auth,
        a.trace,
        a.grpc_fleet,
    )
    emit(info)
    try:
        why = fg.wait(*procs)
        log(f"stopping superlink: {why}")
    finally:
        for p in reversed(procs):
            kill_tree(p)
    return 0


def cmd_stop(a) -> int:
    info = json.loads((Path(a.state_dir) / "superlink.json").read_text())
    try:
        os.kill(info["driver_pid"], signal.SIGTERM)
        emit({"stopped": info["driver_pid"]})
    except ProcessLookupError:
        emit({"stopped": None})
    return 0
