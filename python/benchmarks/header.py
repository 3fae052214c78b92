"""Prints the head of the benchmark report: the command, the machine, the date and the versions on
both sides. Usage: header.py COMMAND SECONDS"""

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime


def torch_version():
    """The Debian PyTorch of the training anchor (.venv/torch), or why there is none."""
    python = os.path.join(".venv", "torch", "bin", "python")
    if not os.path.exists(python):
        return "not installed"
    found = subprocess.run(
        [python, "-c", "import torch; print(torch.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.strip() or "not importable"


def main(command, seconds):
    import flwr
    import numpy

    java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=True)
    with open("/proc/meminfo", encoding="utf-8") as f:
        mem_kib = int(f.readline().split()[1])
    print("# Benchmarks\n")
    print(f"Produced by `{command}` in one run of {int(seconds) // 60} min {int(seconds) % 60} s:")
    print("every Java figure beside its Python anchor (flwr, numpy or PyTorch doing the same work)")
    print("measured in the same run on the same machine. A ratio above 1 means Java is faster")
    print("(Python time / Java time) or leaner (Python bytes / Java bytes).\n")
    print(f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(
        f"- machine: {os.cpu_count()} cores, {mem_kib / 2**20:.0f} GiB, {platform.machine()},"
        f" {platform.system()} {platform.release()}"
    )
    print(f"- Java: {java.stderr.splitlines()[0]}")
    print(
        f"- Python {platform.python_version()}: flwr {flwr.__version__}, numpy {numpy.__version__};"
        f" PyTorch {torch_version()}"
    )
    print()


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
