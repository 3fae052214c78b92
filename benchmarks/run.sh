#!/usr/bin/env bash
# Runs the JMH benchmarks and the Python anchor (flwr + numpy doing the same work) in one go
# and writes the figures, as ratios against the anchor, into BENCHMARKS.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup-python.sh
mvn -B -q -ntp install -DskipTests -pl flower-java-benchmarks -am
out=$(mktemp -d)
java -jar flower-java-benchmarks/target/benchmarks.jar -rf json -rff "$out/jmh.json" "$@"
.venv/flwr/bin/python python/benchmarks/anchor.py > "$out/anchor.json"
.venv/flwr/bin/python python/benchmarks/report.py "$out/jmh.json" "$out/anchor.json" > BENCHMARKS.md
cat BENCHMARKS.md
