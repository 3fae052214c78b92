#!/usr/bin/env bash
# Shared by the JMH parts: runs one JMH benchmark class and its Python anchor, then writes the
# part's section of the report.
#   jmh-section.sh MODE OUT NAME CLASS OPS TITLE INTRO_FILE
# MODE quick: the smallest model only, one short iteration (proves the benchmark runs).
set -euo pipefail
mode=$1 out=$2 name=$3 class=$4 ops=$5 title=$6 intro=$7
models=cifar-cnn,resnet18-sized
jmh_args=()
anchor_args=()
if [[ $mode == quick ]]; then
  models=cifar-cnn
  jmh_args=(-wi 1 -w 200ms -i 1 -r 200ms -p model=cifar-cnn)
  anchor_args=(--quick)
fi
java -jar flower-java-benchmarks/target/benchmarks.jar "$class" "${jmh_args[@]}" \
  -rf json -rff "$out/$name.jmh.json" >&2
.venv/flwr/bin/python python/benchmarks/anchor.py --ops "$ops" --models "$models" \
  "${anchor_args[@]}" > "$out/$name.anchor.json"
.venv/flwr/bin/python python/benchmarks/report.py "$out/$name.jmh.json" \
  "$out/$name.anchor.json" "$title" "$intro" > "$out/$name.md"
