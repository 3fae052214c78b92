#!/usr/bin/env bash
# Lints what is not Java: every Python file under python/ with ruff (rules and formatting,
# settings in python/pyproject.toml) and the shell scripts with shellcheck. Installs the pinned
# linters first (scripts/setup-lint.sh). Runs every check, then exits non-zero if any failed.
# To apply ruff's formatting and safe fixes: .venv/lint/bin/ruff format python/ and
# .venv/lint/bin/ruff check --fix python/
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup-lint.sh
bin=.venv/lint/bin
failed=()
run() { # name command...
  echo "lint: $1"
  if ! "${@:2}"; then failed+=("$1"); fi
}
run "ruff check" "$bin/ruff" check python/
run "ruff format" "$bin/ruff" format --check python/
run "shellcheck" "$bin/shellcheck" scripts/*.sh benchmarks/*.sh benchmarks/*/*.sh .ci/run
if [ "${#failed[@]}" -gt 0 ]; then
  echo "lint: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "lint: ok"
