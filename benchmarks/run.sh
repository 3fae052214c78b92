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
# fails fails the run.
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
for part in benchmarks/parts/*.sh; do
  name=$(basename "$part" .sh)
  if [[ -n "$only" && ",$only," != *",$name,"* ]]; then
    continue
  fi
  echo "== benchmark part $name ($mode)" >&2
  part_started=$(date +%s)
  "$part" "$mode" "$out"
  if [[ ! -s "$out/$name.md" ]]; then
    echo "benchmarks/run.sh: part $name wrote no $out/$name.md" >&2
    exit 1
  fi
  echo "== $name took $(( $(date +%s) - part_started )) s" >&2
done
command="benchmarks/run.sh${only:+ --only $only}"
[[ $mode == quick ]] && command="$command --quick"
report="$out/BENCHMARKS.md"
.venv/flwr/bin/python python/benchmarks/header.py "$command" "$(( $(date +%s) - started ))" > "$report"
cat "$out"/[0-9]*.md >> "$report"
if [[ $mode == full && -z "$only" ]]; then
  cp "$report" BENCHMARKS.md
  echo "wrote BENCHMARKS.md" >&2
else
  echo "wrote $report" >&2
fi
