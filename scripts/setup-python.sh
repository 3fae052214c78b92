#!/usr/bin/env bash
# Creates the git-ignored virtual environment .venv/flwr with the pinned Python Flower that the
# interop tests run against. Idempotent: an environment that already matches is left alone.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv/flwr"
req="$root/python/requirements.txt"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)

if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
echo "setting up $venv (flwr from PyPI, pinned in python/requirements.txt)"
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
# fail here, loudly, rather than letting interop tests discover a broken install
"$venv/bin/python" -c "import flwr, numpy; from flwr.server import start_server; from flwr.client import start_client; print('flwr', flwr.__version__, 'numpy', numpy.__version__)"
echo "$want" > "$stamp"
