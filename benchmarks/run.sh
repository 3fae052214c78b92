#!/usr/bin/env bash
# Runs every benchmark part and its Python anchor (flwr, numpy, PyTorch doing the same work) in one
# go and writes the figures, as ratios against the anchor, into one report.
#
#   benchmarks/run.sh            full sizes; rewrites BENCHMARKS.md (what BENCHMARKS.md records)
#   benchmarks/run.sh --quick    small sizes, only proves every benchmark still runs (CI runs it);
#                                writes target/benchmarks-quick/BENCHMARKS.md
#   benchmarks/run.sh --only 10-aggregation,20-codec   a subset of benchmarks/parts/
#
# Each part is benchmarks/parts/NN-name.sh, called as `part MODE OUT` (MODE is full or quick); it
# writes OUT/NN-name.md (its section of the report) and may leave raw figures beside it. A part that
# fails does not stop the others: the report says which part failed and how, and the run exits 1.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mode=full
only=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) mode=quick ;;
    --only) only="$2"; shift ;;
    *) echo "benchmarks/run.sh: unknown argument '$1' (use --quick, --only NAMES)" >&2; exit 2 ;;
  esac
  shift
done
scripts/setup-python.sh
scripts/setup-python-torch.sh
scripts/fetch-cifar10.sh
export DJL_OFFLINE=true OPT_OUT_TRACKING=true DJL_CACHE_DIR="$root/.cache/djl"
if [[ -z "${BENCH_SKIP_BUILD:-}" ]]; then
  mvn -B -q -ntp install -DskipTests
fi
out="$root/target/benchmarks-$mode"
rm -rf "$out"
mkdir -p "$out"
started=$(date +%s)
failed=()
for part in benchmarks/parts/*.sh; do
  name=$(basename "$part" .sh)
  if [[ -n "$only" && ",$only," != *",$name,"* ]]; then
    continue
  fi
  echo "== benchmark part $name ($mode)" >&2
  part_started=$(date +%s)
  status=0
  "$part" "$mode" "$out" || status=$?
  took=$(( $(date +%s) - part_started ))
  if [[ $status -ne 0 || ! -s "$out/$name.md" ]]; then
    echo "benchmarks/run.sh: part $name FAILED (exit $status after $took s)" >&2
    failed+=("$name")
    printf '## %s: FAILED\n\nThe part exited with status %s after %s s; its figures are missing.\n\n' \
      "$name" "$status" "$took" > "$out/$name.md"
  fi
  echo "== $name took $took s" >&2
done
command="benchmarks/run.sh${only:+ --only $only}"
[[ $mode == quick ]] && command="$command --quick"
report="$out/BENCHMARKS.md"
.venv/flwr/bin/python python/benchmarks/header.py "$command" "$(( $(date +%s) - started ))" > "$report"
cat "$out"/[0-9]*.md >> "$report"
# what profiling found where a target is missed: kept by hand, read with the figures above
cat benchmarks/targets-missed.md >> "$report"
if [[ $mode == full && -z "$only" ]]; then
  cp "$report" BENCHMARKS.md
  echo "wrote BENCHMARKS.md" >&2
else
  echo "wrote $report" >&2
fi
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "benchmarks/run.sh: FAILED parts: ${failed[*]}" >&2
  exit 1
fi
