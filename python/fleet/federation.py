#!/usr/bin/env python3
"""Driver for Fleet API interop runs against a real flwr SuperLink (loopback only).

Run it with the flwr venv's interpreter (.venv/flwr/bin/python, flwr 1.41.0; or
.venv/flwr-grpc/bin/python, flwr 1.39.0); it finds the flwr executables next to that
interpreter. Under flwr < 1.40 the SuperLink's Fleet API is gRPC ("grpc-rere", its default
carrier, and what that version's SuperNodes speak): start-superlink then always places it on
a free port and reports it as both "fleet" and "fleet_grpc" (--grpc-fleet is implied).
Everything is bounded in time; children are killed (with their descendants) when the driver
exits, is interrupted or times out.

Sub-commands (each prints exactly one JSON object on stdout; logs go to files/stderr):

  start-superlink --state-dir D [--port 0] [--tls CERTDIR] [--enable-supernode-auth]
                  [--trace] [--grpc-fleet] [--max-lifetime 1800]
      Starts flower-superlink (one HTTP port serves Fleet, Control and Runtime APIs),
      waits for GET /health == 200, prints {"port", "control", "fleet", ...} and writes
      D/superlink.json. Stays in the foreground until SIGTERM/SIGINT, stdin EOF
      (only with --stop-on-stdin-eof), the SuperLink dying, or --max-lifetime.
      With --trace a recording proxy (trace_proxy.py) is started too; point SuperNodes at
      "fleet_traced" to have their Fleet traffic logged to D/fleet-trace.jsonl.

  supernode --superlink H:P --partition-id I [--num-partitions N] [--state-dir D]
            [--root-certificates CA] [--auth-key KEY] [--max-lifetime 1800]
      A Python flower-supernode, in the foreground like start-superlink.

  run --app DIR --superlink-control H:P --out D [--variant current|legacy]
      [--num-rounds 3] [--min-nodes 2] [--timeout 300] [--root-certificates CA]
      `flwr run`s the app, waits until the run is finished (or --timeout, then
      `flwr stop`s it), and prints {"run_id", "flwr_status", "outcome": <D/outcome.json>}.
      Exit code 0 only if the run is finished:completed and the ServerApp reported "ok".

  status --superlink-control H:P [--run-id R] [--root-certificates CA]
      `flwr ls` as JSON.

  register-node --superlink-control H:P --public-key F --root-certificates CA
      `flwr supernode register F` (needed for nodes when --enable-supernode-auth).

  stop --state-dir D
      SIGTERM to the start-superlink driver recorded in D/superlink.json.

  smoke --work-dir D [--variant current|legacy|both] [--auth] [--trace] [--timeout 300]
      Whole loop with two Python SuperNodes: superlink, nodes, run(s), teardown.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
DEFAULT_APP = HERE / "app"
CONN_NAME = "fleet"


def _flwr_version() -> tuple[int, ...]:
    from importlib.metadata import version  # the flwr next to this interpreter

    return tuple(int(x) for x in version("flwr").split(".")[:2])


# flwr up to 1.39 serves the Fleet API over gRPC only (grpc-rere, the default --fleet-api-type);
# 1.40 made HTTP the Fleet carrier and 1.41 hides gRPC behind FLWR_INTERNAL_GRPC_FLEET_API.
GRPC_ONLY_FLEET = _flwr_version() < (1, 40)


# --------------------------------------------------------------------------- helpers
def log(msg: str) -> None:
    print(f"[federation] {msg}", file=sys.stderr, flush=True)


def emit(obj: dict) -> None:
    print(json.dumps(obj, sort_keys=True), flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def exe(name: str) -> str:
    candidate = BIN / name
    return str(candidate) if candidate.exists() else name


def base_env(flwr_home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "FLWR_HOME": str(flwr_home),
            "FLWR_TELEMETRY_ENABLED": "0",
            "FLWR_DISABLE_UPDATE_CHECK": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def descendants(pid: int) -> list[int]:
    """All live descendants of pid (via /proc), deepest last."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def kill_tree(proc: subprocess.Popen | None, grace: float = 5.0) -> None:
    """SIGTERM a child and everything below it (SuperExec, ServerApp/ClientApp), then SIGKILL."""
    if proc is None:
        return
    pids = [proc.pid, *descendants(proc.pid)]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.time() + grace
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)
    for pid in pids:
        while time.time() < deadline:
            if not Path(f"/proc/{pid}").exists() or _is_zombie(pid):
                break
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=2)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def wait_health(port: int, ca: str | None, proc: subprocess.Popen, timeout: float) -> None:
    scheme = "https" if ca else "http"
    ctx = ssl.create_default_context(cafile=ca) if ca else None
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(
                f"{scheme}://127.0.0.1:{port}/health", timeout=2, context=ctx
            ) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise TimeoutError(f"no /health on port {port} within {timeout}s")


def write_flwr_config(flwr_home: Path, control: str, root_ca: str | None) -> None:
    """1.41 keeps SuperLink connections in $FLWR_HOME/config.toml, not in pyproject.toml."""
    flwr_home.mkdir(parents=True, exist_ok=True)
    lines = [
        "[superlink]",
        f'default = "{CONN_NAME}"',
        "",
        f"[superlink.{CONN_NAME}]",
        f'address = "{control}"',
    ]
    if root_ca:
        lines.append(f'root-certificates = "{Path(root_ca).resolve()}"')
    else:
        lines.append("insecure = true")
    (flwr_home / "config.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def flwr_cli(args: list[str], flwr_home: Path, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [exe("flwr"), *args],
        env=base_env(flwr_home),
        capture_output=True,
        check=False,
        text=True,
        timeout=timeout,
    )


def parse_json_out(text: str) -> dict:
    start = text.find("{")
    if start < 0:
        raise ValueError(f"no JSON in output: {text!r}")
    return json.loads(text[start:])


class Foreground:
    """Keep the driver alive while a child runs; tear it down on any way out."""

    def __init__(self, max_lifetime: float) -> None:
        self.deadline = time.time() + max_lifetime
        self.stop = False
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGHUP, self._on_signal)

    def _on_signal(self, *_):
        self.stop = True

    def wait(self, *procs: subprocess.Popen) -> str:
        while not self.stop:
            for p in procs:
                if p.poll() is not None:
                    return f"child {p.pid} exited with {p.returncode}"
            if time.time() > self.deadline:
                return "max-lifetime reached"
            time.sleep(0.2)
        return "signal"


# --------------------------------------------------------------------------- superlink
def launch_superlink(
    state_dir: Path,
    port: int,
    tls_dir: Path | None,
    auth: bool,
    trace: bool,
    grpc_fleet: bool = False,
):
    state_dir.mkdir(parents=True, exist_ok=True)
    flwr_home = state_dir / "flwr-home"
    port = port or free_port()
    cmd = [
        exe("flower-superlink"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--database",
        str(state_dir / "superlink.db"),
        "--disable-runtime-dependency-installation",
    ]
    ca = None
    if tls_dir:
        ca = str((tls_dir / "ca.crt").resolve())
        cmd += [
            "--ssl-ca-certfile",
            ca,
            "--ssl-certfile",
            str((tls_dir / "server.pem").resolve()),
            "--ssl-keyfile",
            str((tls_dir / "server.key").resolve()),
        ]
    else:
        cmd.append("--insecure")
    if auth:
        cmd.append("--enable-supernode-auth")
    env = base_env(flwr_home)
    grpc_fleet_port = None
    if GRPC_ONLY_FLEET:
        # flwr 1.39: gRPC is the Fleet carrier (default 0.0.0.0:9092): on loopback, a free port
        grpc_fleet_port = free_port()
        cmd += ["--fleet-api-address", f"127.0.0.1:{grpc_fleet_port}"]
    elif grpc_fleet:
        # flwr 1.41 serves the gRPC Fleet API (flwr.proto.Fleet, what SuperNodes up to 1.39 spoke)
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
            "flwr_version": ".".join(map(str, _flwr_version())),
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
            tport = free_port()
            trace_path = state_dir / "fleet-trace.jsonl"
            with open(state_dir / "trace-proxy.log", "ab") as log_file:
                tproc = subprocess.Popen(
                    [
                        sys.executable,
                        str(HERE / "trace_proxy.py"),
                        "--listen",
                        f"127.0.0.1:{tport}",
                        "--upstream",
                        f"127.0.0.1:{port}",
                        "--out",
                        str(trace_path),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=log_file,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
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


# --------------------------------------------------------------------------- supernode
def launch_supernode(
    superlink: str,
    partition_id: int,
    num_partitions: int,
    state_dir: Path,
    root_ca: str | None,
    auth_key: str | None,
    max_retries: int = 30,
):
    state_dir.mkdir(parents=True, exist_ok=True)
    rport = free_port()
    cmd = [
        exe("flower-supernode"),
        "--superlink",
        superlink,
        "--host",
        "127.0.0.1",
        "--port",
        str(rport),
        "--node-config",
        f"partition-id={partition_id} num-partitions={num_partitions}",
        "--max-retries",
        str(max_retries),
        "--max-wait-time",
        "120",
    ]
    cmd += ["--root-certificates", root_ca] if root_ca else ["--insecure"]
    if auth_key:
        cmd += ["--auth-supernode-private-key", auth_key]
    log_path = state_dir / f"supernode-{partition_id}.log"
    log(f"starting: {' '.join(cmd)}")
    with open(log_path, "ab") as log_file:  # the child has its own copy of the descriptor
        proc = subprocess.Popen(
            cmd,
            env=base_env(state_dir / f"flwr-home-node{partition_id}"),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return proc, {
        "pid": proc.pid,
        "partition_id": partition_id,
        "runtime_port": rport,
        "log": str(log_path.resolve()),
    }


def wait_node_id(log_path: str, proc: subprocess.Popen, timeout: float) -> int | None:
    """The SuperNode logs 'SuperNode ID: <id>' once RegisterNode/ActivateNode succeeded."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        text = Path(log_path).read_text(errors="replace")
        for line in text.splitlines():
            if "SuperNode ID:" in line:
                return int(line.rsplit(":", 1)[1].strip())
        if proc.poll() is not None:
            return None
        time.sleep(0.3)
    return None


def cmd_supernode(a) -> int:
    fg = Foreground(a.max_lifetime)
    proc, info = launch_supernode(
        a.superlink,
        a.partition_id,
        a.num_partitions,
        Path(a.state_dir),
        a.root_certificates,
        a.auth_key,
    )
    try:
        info["node_id"] = wait_node_id(info["log"], proc, timeout=60)
        emit(info)
        if info["node_id"] is None:
            return 1
        log(f"stopping supernode: {fg.wait(proc)}")
    finally:
        kill_tree(proc)
    return 0


# --------------------------------------------------------------------------- run / status
def _home_for(control: str, root_ca: str | None, where: Path) -> Path:
    home = where / "flwr-home-cli"
    write_flwr_config(home, control, root_ca)
    return home


def run_status(home: Path, run_id: str | None) -> dict:
    args = ["ls", CONN_NAME, "--format", "json"] + (["--run-id", str(run_id)] if run_id else [])
    res = flwr_cli(args, home, timeout=30)
    return parse_json_out(res.stdout)


def do_run(
    app: Path,
    control: str,
    out: Path,
    variant: str,
    num_rounds: int,
    min_nodes: int,
    timeout: float,
    root_ca: str | None,
    extra_config: list[str],
) -> tuple[int, dict]:
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    home = _home_for(control, root_ca, out)
    config = (
        f'out-dir="{out}" variant="{variant}" num-rounds={num_rounds} '
        f"min-nodes={min_nodes} " + " ".join(extra_config)
    ).strip()
    t0 = time.time()
    res = flwr_cli(
        ["run", str(app.resolve()), CONN_NAME, "--run-config", config, "--format", "json"],
        home,
        timeout=60,
    )
    try:
        started = parse_json_out(res.stdout)
    except ValueError:
        started = {"success": False}
    if not started.get("success"):
        result = {
            "ok": False,
            "error": "flwr run failed",
            "stdout": res.stdout,
            "stderr": res.stderr,
        }
        return 2, result
    run_id = started["run-id"]
    log(f"run {run_id} started; waiting up to {timeout}s")
    status, runinfo = "unknown", {}
    while time.time() - t0 < timeout:
        try:
            runs = run_status(home, run_id).get("runs", [])
            runinfo = runs[0] if runs else {}
            status = runinfo.get("status", "unknown")
        except (ValueError, subprocess.TimeoutExpired) as exc:
            log(f"flwr ls failed: {exc}")
        if status.startswith("finished"):
            break
        time.sleep(2)
    timed_out = not status.startswith("finished")
    if timed_out:
        log(f"run {run_id} not finished after {timeout}s; stopping it")
        flwr_cli(["stop", str(run_id), CONN_NAME, "--format", "json"], home, timeout=30)
    outcome_path = out / "outcome.json"
    outcome = json.loads(outcome_path.read_text()) if outcome_path.exists() else None
    ok = (
        (not timed_out)
        and status == "finished:completed"
        and bool(outcome)
        and outcome.get("status") == "ok"
    )
    result = {
        "ok": ok,
        "run_id": run_id,
        "flwr_status": status,
        "timed_out": timed_out,
        "elapsed_s": round(time.time() - t0, 1),
        "out_dir": str(out),
        "run": runinfo,
        "outcome": outcome,
    }
    (out / "result.json").write_text(json.dumps(result, indent=2, sort_keys=True), encoding="utf-8")
    return (0 if ok else 1), result


def cmd_run(a) -> int:
    code, result = do_run(
        Path(a.app),
        a.superlink_control,
        Path(a.out),
        a.variant,
        a.num_rounds,
        a.min_nodes,
        a.timeout,
        a.root_certificates,
        a.run_config or [],
    )
    emit(result)
    return code


def cmd_status(a) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        home = _home_for(a.superlink_control, a.root_certificates, Path(tmp))
        emit(run_status(home, a.run_id))
    return 0


def cmd_register_node(a) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        home = _home_for(a.superlink_control, a.root_certificates, Path(tmp))
        res = flwr_cli(
            [
                "supernode",
                "register",
                str(Path(a.public_key).resolve()),
                CONN_NAME,
                "--format",
                "json",
            ],
            home,
            timeout=30,
        )
    try:
        out = parse_json_out(res.stdout)
    except ValueError:
        out = {"success": False}
    out.update({"returncode": res.returncode, "stderr": res.stderr[-2000:]})
    emit(out)
    return 0 if res.returncode == 0 else 1


def cmd_stop(a) -> int:
    info = json.loads((Path(a.state_dir) / "superlink.json").read_text())
    try:
        os.kill(info["driver_pid"], signal.SIGTERM)
        emit({"stopped": info["driver_pid"]})
    except ProcessLookupError:
        emit({"stopped": None})
    return 0


# --------------------------------------------------------------------------- smoke
def cmd_smoke(a) -> int:
    work = Path(a.work_dir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    Foreground(a.timeout * 3)  # install signal handlers -> finally-blocks run on SIGTERM
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tls_dir = None
    keys: list[dict] = []
    if a.auth:
        tls_dir = work / "certs"
        res = subprocess.run(
            [sys.executable, str(HERE / "make_certs.py"), "--out", str(tls_dir), "--nodes", "3"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        keys = json.loads(res.stdout)["nodes"]
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
                    home = _home_for(info["control"], ca, Path(tmp))
                    r = flwr_cli(
                        ["supernode", "register", key["public"], CONN_NAME, "--format", "json"],
                        home,
                        timeout=30,
                    )
                summary.setdefault("register", []).append(
                    {"rc": r.returncode, "out": r.stdout.strip()}
                )
        nodes = []
        for pid in range(2):
            proc, ninfo = launch_supernode(
                fleet, pid, 2, work / "nodes", ca, keys[pid]["private"] if a.auth else None
            )
            procs.append(proc)
            nodes.append((proc, ninfo))
        for proc, ninfo in nodes:
            ninfo["node_id"] = wait_node_id(ninfo["log"], proc, timeout=60)
        summary["nodes"] = [n for _, n in nodes]
        if a.auth:
            # A third node whose key was never registered must be refused.
            proc, ninfo = launch_supernode(
                fleet, 2, 2, work / "nodes", ca, keys[2]["private"], max_retries=0
            )
            procs.append(proc)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=60)
            ninfo["exit_code"] = proc.poll()
            ninfo["node_id"] = wait_node_id(ninfo["log"], proc, timeout=1)
            ninfo["log_tail"] = Path(ninfo["log"]).read_text(errors="replace").splitlines()[-6:]
            summary["unregistered_node"] = ninfo
        variants = ["current", "legacy"] if a.variant == "both" else [a.variant]
        summary["runs"] = {}
        code = 0
        for variant in variants:
            c, result = do_run(
                Path(a.app),
                info["control"],
                work / f"out-{variant}",
                variant,
                a.num_rounds,
                2,
                a.timeout,
                ca,
                [],
            )
            summary["runs"][variant] = {
                k: result.get(k)
                for k in ("ok", "run_id", "flwr_status", "elapsed_s", "out_dir", "error")
            }
            summary["runs"][variant]["rounds_completed"] = (result.get("outcome") or {}).get(
                "rounds_completed"
            )
            code = code or c
        summary["ok"] = code == 0
        emit(summary)
        return code
    finally:
        for p in reversed(procs):
            kill_tree(p)


# --------------------------------------------------------------------------- CLI
def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("start-superlink")
    p.add_argument("--state-dir", required=True)
    p.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    p.add_argument(
        "--tls", metavar="CERTDIR", help="dir from make_certs.py (ca.crt, server.pem, server.key)"
    )
    p.add_argument("--enable-supernode-auth", action="store_true")
    p.add_argument("--trace", action="store_true", help="also start the recording Fleet proxy")
    p.add_argument(
        "--grpc-fleet",
        action="store_true",
        help="also serve the gRPC Fleet API on a free port (info: fleet_grpc)",
    )
    p.add_argument("--max-lifetime", type=float, default=1800)
    p.set_defaults(fn=cmd_start_superlink)

    p = sub.add_parser("supernode")
    p.add_argument("--superlink", required=True, help="Fleet address host:port")
    p.add_argument("--partition-id", type=int, required=True)
    p.add_argument("--num-partitions", type=int, default=2)
    p.add_argument("--state-dir", default=tempfile.gettempdir())
    p.add_argument("--root-certificates")
    p.add_argument("--auth-key", help="OpenSSH EC private key (make_certs.py node<i>)")
    p.add_argument("--max-lifetime", type=float, default=1800)
    p.set_defaults(fn=cmd_supernode)

    p = sub.add_parser("run")
    p.add_argument("--app", default=str(DEFAULT_APP))
    p.add_argument("--superlink-control", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--variant", choices=["current", "legacy"], default="current")
    p.add_argument("--num-rounds", type=int, default=3)
    p.add_argument("--min-nodes", type=int, default=2)
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--root-certificates")
    p.add_argument("--run-config", action="append", help="extra k=v run config entries")
    p.set_defaults(fn=cmd_run)

    p = sub.add_parser("status")
    p.add_argument("--superlink-control", required=True)
    p.add_argument("--run-id")
    p.add_argument("--root-certificates")
    p.set_defaults(fn=cmd_status)

    p = sub.add_parser("register-node")
    p.add_argument("--superlink-control", required=True)
    p.add_argument("--public-key", required=True)
    p.add_argument("--root-certificates", required=True)
    p.set_defaults(fn=cmd_register_node)

    p = sub.add_parser("stop")
    p.add_argument("--state-dir", required=True)
    p.set_defaults(fn=cmd_stop)

    p = sub.add_parser("smoke")
    p.add_argument("--work-dir", required=True)
    p.add_argument("--app", default=str(DEFAULT_APP))
    p.add_argument("--variant", choices=["current", "legacy", "both"], default="both")
    p.add_argument("--num-rounds", type=int, default=3)
    p.add_argument(
        "--auth", action="store_true", help="TLS + --enable-supernode-auth + key registration"
    )
    p.add_argument("--trace", action="store_true", help="route node traffic through trace_proxy.py")
    p.add_argument("--timeout", type=float, default=300, help="per run")
    p.set_defaults(fn=cmd_smoke)

    a = ap.parse_args()
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
