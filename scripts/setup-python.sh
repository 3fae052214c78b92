#!/usr/bin/env bash
# Creates the git-ignored virtual environments with the pinned Python Flower that the interop
# tests run against:
#   .venv/flwr          python/requirements.txt          (flwr 1.42.0, Fleet API over HTTP)
#   .venv/flwr-grpc     python/requirements-grpc.txt     (flwr 1.39.0, Fleet API over gRPC by default)
#   .venv/flwr-nightly  python/requirements-nightly.txt  (flwr-nightly 1.43.0.dev20261026, the
#                       early warning: scripts/test.sh runs the Fleet interop suites on it too)
#   .venv/flwr-sim      python/requirements-simulation.txt  (flwr[simulation] 1.42.0 with Ray,
#                       for benchmarks/parts/80-simulation.sh: flwr's run_simulation)
# Idempotent: an environment that already matches its requirements file is left alone. Any
# failure stops the script with a non-zero exit.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# setup_venv NAME REQUIREMENTS EXPECTED_DISTRIBUTION EXPECTED_FLWR_VERSION [MODULE]
# (MODULE: one more module that must import, e.g. an extra's)
setup_venv() {
  local venv="$root/.venv/$1" req="$root/python/$2" dist="$3" expect="$4" extra="${5:-}"
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
  # (flwr-nightly installs the same `flwr` package; the distribution's name tells them apart)
  "$venv/bin/python" - "$dist" "$expect" "$extra" <<'PY'
import importlib
import sys
from importlib.metadata import PackageNotFoundError, version
import flwr, numpy
from flwr.server import start_server
from flwr.client import start_client
from flwr.serverapp.strategy import FedAvg
dist, expect = sys.argv[1], sys.argv[2]
try:
    installed = version(dist)
except PackageNotFoundError:
    sys.exit(f"expected the distribution {dist} {expect}, but {dist} is not installed")
if installed != expect or flwr.__version__ != expect:
    sys.exit(f"expected {dist} {expect}, got {dist} {installed} (flwr.__version__ {flwr.__version__})")
if sys.argv[3]:
    importlib.import_module(sys.argv[3])
print(dist, flwr.__version__, "numpy", numpy.__version__)
PY
  echo "$want" > "$stamp"
}

setup_venv flwr requirements.txt flwr 1.42.0
setup_venv flwr-grpc requirements-grpc.txt flwr 1.39.0
setup_venv flwr-nightly requirements-nightly.txt flwr-nightly 1.43.0.dev20261026
setup_venv flwr-sim requirements-simulation.txt flwr 1.42.0 flwr.simulation.ray_transport.ray_actor
