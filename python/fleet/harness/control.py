"""run, status and register-node: the SuperLink's Control API through the flwr CLI (`flwr run`,
`flwr ls`, `flwr stop`, `flwr supernode register`), each with a $FLWR_HOME whose config.toml
names that SuperLink."""

import json
import subprocess
import tempfile
import time
from pathlib import Path

from .flwr_env import CONN_NAME, cli_home, flwr_cli, parse_json_out
from .output import emit, log


def run_status(home: Path, run_id: str | None) -> dict:
    args = ["ls", CONN_NAME, "--format", "json"] + (["--run-id", str(run_id)] if run_id else [])
    res = flwr_cli(args, home, timeout=30)
    return parse_json_out(res.stdout)


def _await_finished(home: Path, run_id, t0: float, timeout: float) -> tuple[str, dict]:
    """Polls `flwr ls` until the run's status is finished:* or timeout seconds after t0."""
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
    return status, runinfo


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
    """`flwr run`s the app and waits for it (`flwr stop` at timeout). Returns the exit code (0
    only for finished:completed with the ServerApp's outcome "ok") and the result, which is also
    written to out/result.json."""
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    home = cli_home(control, root_ca, out)
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
    status, runinfo = _await_finished(home, run_id, t0, timeout)
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


def register_node(home: Path, public_key: str) -> subprocess.CompletedProcess:
    """`flwr supernode register` of an OpenSSH public key file (for --enable-supernode-auth)."""
    args = ["supernode", "register", public_key, CONN_NAME, "--format", "json"]
    return flwr_cli(args, home, timeout=30)


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
        home = cli_home(a.superlink_control, a.root_certificates, Path(tmp))
        emit(run_status(home, a.run_id))
    return 0


def cmd_register_node(a) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        home = cli_home(a.superlink_control, a.root_certificates, Path(tmp))
        res = register_node(home, str(Path(a.public_key).resolve()))
    try:
        out = parse_json_out(res.stdout)
    except ValueError:
        out = {"success": False}
    out.update({"returncode": res.returncode, "stderr": res.stderr[-2000:]})
    emit(out)
    return 0 if res.returncode == 0 else 1
