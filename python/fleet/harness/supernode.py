"""supernode: a Python flower-supernode on loopback, with its own $FLWR_HOME and log file."""

import subprocess
import time
from pathlib import Path

from .flwr_env import base_env, exe
from .output import emit, log
from .processes import Foreground, free_port, kill_tree


def launch_supernode(
    superlink: str,
    partition_id: int,
    num_partitions: int,
    state_dir: Path,
    root_ca: str | None,
    auth_key: str | None,
    max_retries: int = 30,
) -> tuple[subprocess.Popen, dict]:
    state_dir.mkdir(parents=True, exist_ok=True)
    rport = free_port()
    # fmt: off
    cmd = [
        exe("flower-supernode"),
        "--superlink", superlink,
        "--host", "127.0.0.1",
        "--port", str(rport),
        "--node-config", f"partition-id={partition_id} num-partitions={num_partitions}",
        "--max-retries", str(max_retries),
        "--max-wait-time", "120",
    ]
    # fmt: on
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
