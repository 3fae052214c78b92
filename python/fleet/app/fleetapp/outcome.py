"""Outcome recorder: what the ServerApp saw, written where the test driver reads it.

Layout of <out-dir>:
  outcome.json                      summary (see Outcome.to_json)
  final/<name>.npy                  final global arrays
  round<r>/node<id>/<name>.npy      arrays each node returned in train round r
outcome.json is rewritten after every round, so a partial run is still readable;
"status" is "running" until the ServerApp finishes ("ok") or raises ("error").
"""

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np


def resolve_out_dir(run_config: dict[str, Any]) -> Path:
    out = str(run_config.get("out-dir", "") or os.environ.get("FLEET_OUT_DIR", ""))
    if not out:
        raise RuntimeError("no output dir: set run config out-dir or env FLEET_OUT_DIR")
    path = Path(out).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.generic,)):
        return value.item()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


class Outcome:
    def __init__(self, out_dir: Path, variant: str, run_id: int, num_rounds: int) -> None:
        self.out_dir = out_dir
        self.data: dict[str, Any] = {
            "status": "running",
            "variant": variant,
            "run_id": run_id,
            "num_rounds": num_rounds,
            "rounds_completed": 0,
            "started_at": time.time(),
            "train": {},
            "evaluate": {},
            "failures_per_round": {},
            "final_arrays": {},
            "error": None,
        }
        self.flush()

    def save_arrays(self, rel: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        folder = self.out_dir / rel
        folder.mkdir(parents=True, exist_ok=True)
        listing = {}
        for name, arr in arrays.items():
            # save-arrays=false (large-model benchmark): list them, write no gigabytes to disk
            if getattr(self, "keep_arrays", True):
                np.save(folder / f"{name}.npy", arr, allow_pickle=False)
            listing[name] = {
                "file": f"{rel}/{name}.npy",
                "dtype": str(arr.dtype),
                "shape": list(arr.shape),
            }
        return listing

    def record_reply(self, phase: str, server_round: int, entry: dict[str, Any]) -> None:
        self.data[phase].setdefault(str(server_round), []).append(_jsonable(entry))

    def record_failures(self, phase: str, server_round: int, reasons: list[str]) -> None:
        per_round = self.data["failures_per_round"].setdefault(str(server_round), {})
        per_round[phase] = {"count": len(reasons), "reasons": reasons}

    def round_done(self, server_round: int) -> None:
        self.data["rounds_completed"] = max(self.data["rounds_completed"], server_round)
        self.flush()

    def finish(self, final_arrays: dict[str, np.ndarray]) -> None:
        self.data["final_arrays"] = self.save_arrays("final", final_arrays)
        self.data["status"] = "ok"
        self.data["finished_at"] = time.time()
        self.flush()

    def fail(self, error: str) -> None:
        self.data["status"] = "error"
        self.data["error"] = error
        self.data["finished_at"] = time.time()
        self.flush()

    def flush(self) -> None:
        tmp = self.out_dir / "outcome.json.tmp"
        tmp.write_text(json.dumps(self.data, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.out_dir / "outcome.json")
