#!/usr/bin/env bash
# Runs every test, the interop tests against real Python Flower included, after the linters
# (scripts/lint.sh: ruff over python/, shellcheck over the shell scripts; a finding fails the run).
# Installs what the tests need first (each step is skipped when already done): ruff and shellcheck
# in .venv/lint, the pinned flwr in .venv/flwr (1.42.0), .venv/flwr-grpc (1.39.0) and
# .venv/flwr-nightly (flwr-nightly 1.43.0.dev20261026), and CIFAR-10 in .cache/cifar10. After the
# build, the early warning: the Fleet interop suites once more, on the nightly (a few minutes).
# Then the consumer check (scripts/consumer-check.sh): a project outside the
# reactor builds against the artifacts just built, through flower-java-bom, and joins Python
# Flower's start_server. Last, every benchmark in its quick mode (benchmarks/run.sh --quick: small
# sizes; a benchmark that no longer runs fails the tests; its figures are not recorded).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/lint.sh
scripts/setup-python.sh
scripts/fetch-cifar10.sh
export DJL_OFFLINE=true OPT_OUT_TRACKING=true DJL_CACHE_DIR="$root/.cache/djl"
mvn -B -ntp install "$@"
# The early warning: the Fleet interop suites again, their Python side from .venv/flwr-nightly
# (PythonEnv reads -Dflower.flwr.venv). The gRPC test against 1.39.0 (*Flwr139) does not use it.
mvn -B -ntp -pl flower-java-sdk surefire:test -Dflower.flwr.venv=flwr-nightly \
  -Dtest='FleetInteropTest#*OverHttp+*OverGrpc,FleetAuthInteropTest,FleetServerSuperNodeInteropTest' \
  -Dsurefire.failIfNoSpecifiedTests=false "$@"
scripts/consumer-check.sh
BENCH_SKIP_BUILD=1 benchmarks/run.sh --quick
