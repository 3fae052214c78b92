"""The driver's child processes: a free loopback port to put them on, waiting until one answers
GET /health, keeping the driver in the foreground while they run, and killing a child together
with everything it started (the SuperLink's SuperExec, ServerApp and ClientApp processes)."""

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_health(port: int, ca: str | None, proc: subprocess.Popen, timeout: float) -> None:
    """Returns once 127.0.0.1:port answers GET /health with 200 (over TLS when ca is given)."""
    scheme = "https" if ca else "http"
    ctx = ssl.create_default_context(cafile=ca) if ca else None
    url = f"{scheme}://127.0.0.1:{port}/health"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2, context=ctx) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise TimeoutError(f"no /health on port {port} within {timeout}s")


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


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


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
        """Blocks until a signal, a child's exit or max-lifetime; returns which, for the log."""
        while not self.stop:
            for p in procs:
                if p.poll() is not None:
                    return f"child {p.pid} exited with {p.returncode}"
            if time.time() > self.deadline:
                return "max-lifetime reached"
            time.sleep(0.2)
        return "signal"
