#!/usr/bin/env bash
# Creates the git-ignored virtual environments with the pinned Python Flower that the interop
# tests run against:
#   .venv/flwr       python/requirements.txt       (flwr 1.41.0, Fleet API over HTTP)
#   .venv/flwr-grpc  python/requirements-grpc.txt  (flwr 1.39.0, Fleet API over gRPC by default)
# Idempotent: an environment that already matches its requirements file is left alone. Any
# failure stops the script with a non-zero exit.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# setup_venv NAME REQUIREMENTS EXPECTED_FLWR_VERSION
setup_venv() {
  local venv="$root/.venv/$1" req="$root/python/$2" expect="$3"
  local stamp="$venv/.requirements.sha256" want
  want=$(sha256sum "$req" | cut -d' ' -f1)
  if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  echo "setting up $venv (flwr from PyPI, pinned in python/$2)"
  rm -rf "$venv"
  python3 -m venv "$venv"
  if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"; then
    echo "setup-python.sh: installing python/$2 into $venv failed" >&2
    exit 1
  fi
  # fail here, loudly, rather than letting interop tests discover a broken install
  "$venv/bin/python" - "$expect" <<'PY'
import sys
import flwr, numpy
from flwr.server import start_server
from flwr.client import start_client
from flwr.serverapp.strategy import FedAvg
if flwr.__version__ != sys.argv[1]:
    sys.exit(f"expected flwr {sys.argv[1]}, got {flwr.__version__}")
print("flwr", flwr.__version__, "numpy", numpy.__version__)
PY
  echo "$want" > "$stamp"
}

setup_venv flwr requirements.txt 1.41.0
setup_venv flwr-grpc requirements-grpc.txt 1.39.0
