"""Runs a command and samples the memory of its whole process tree until the tree is gone.

Usage: treemem.py OUT.json -- COMMAND [ARGS...]

Ray's simulation is a dozen processes (the driver, gcs_server, raylet, the actor workers, ...);
the peak that matters is that of their sum at one instant, not of any one of them. This process
makes itself a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so a daemon that Ray double-forks
is re-parented to it and stays in the tree, then every INTERVAL seconds sums over all descendants
  - RSS (VmRSS): counts a page shared by several processes once per process (Ray's object store in
    /dev/shm, shared libraries), so it overstates;
  - PSS (smaps_rollup): each shared page divided among its sharers, so the sum is the tree's real
    footprint; this is the figure the report leads with.
It also keeps the largest single VmHWM (the kernel's own peak, for one process) seen. Writes
{"exit": status, "peak_pss_bytes", "peak_rss_bytes", "max_processes", "max_hwm_bytes",
"samples", "wall_seconds"} to OUT.json and exits with the command's status. Processes still alive
after the command exits (Ray's leftovers) are waited for up to 30 s, then killed by pid."""

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time

INTERVAL = 0.2
PR_SET_CHILD_SUBREAPER = 36


def children_map():
    kids = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: the ppid follows the last ')'
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def descendants(root):
    kids = children_map()
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        for child in kids.get(pid, []):
            out.append(child)
            todo.append(child)
    return out


def field_kib(path, name):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(name):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        raise SystemExit("usage: treemem.py OUT.json -- COMMAND [ARGS...]")
    out = sys.argv[1]
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise SystemExit(f"treemem.py: prctl(PR_SET_CHILD_SUBREAPER) failed: {ctypes.get_errno()}")
    me = os.getpid()
    began = time.perf_counter()
    command = subprocess.Popen(sys.argv[3:])
    peak_pss = peak_rss = max_hwm = max_procs = samples = 0
    status = None
    deadline = None
    while True:
        pids = descendants(me)
        pss = sum(field_kib(f"/proc/{p}/smaps_rollup", "Pss:") for p in pids)
        rss = sum(field_kib(f"/proc/{p}/status", "VmRSS:") for p in pids)
        hwm = max((field_kib(f"/proc/{p}/status", "VmHWM:") for p in pids), default=0)
        peak_pss, peak_rss = max(peak_pss, pss), max(peak_rss, rss)
        max_hwm, max_procs = max(max_hwm, hwm), max(max_procs, len(pids))
        samples += 1
        # reap the command and re-parented orphans (so that they leave the tree)
        try:
            while True:
                pid, wait_status = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    break
                if pid == command.pid:
                    status = command.returncode = os.waitstatus_to_exitcode(wait_status)
                    deadline = time.monotonic() + 30
        except ChildProcessError:
            pass
        if status is not None:
            rest = descendants(me)
            if not rest:
                break
            if time.monotonic() > deadline:
                for p in rest:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(p, signal.SIGKILL)
        time.sleep(INTERVAL)
    with open(out, "w") as f:
        json.dump(
            {
                "exit": status,
                "peak_pss_bytes": peak_pss,
                "peak_rss_bytes": peak_rss,
                "max_hwm_bytes": max_hwm,
                "max_processes": max_procs,
                "samples": samples,
                "wall_seconds": time.perf_counter() - began,
            },
            f,
        )
    sys.exit(status)


if __name__ == "__main__":
    main()
