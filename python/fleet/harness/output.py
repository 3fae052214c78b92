"""What the driver prints: exactly one JSON object on stdout per sub-command; logs go to stderr."""

import json
import sys


def log(msg: str) -> None:
    print(f"[federation] {msg}", file=sys.stderr, flush=True)


def emit(obj: dict) -> None:
    print(json.dumps(obj, sort_keys=True), flush=True)
