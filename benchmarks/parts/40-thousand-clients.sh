#!/usr/bin/env bash
# 1,000 clients in one JVM on the Java bidi server (every result aggregated, server peak RSS from
# the OS), then the same clients against flwr's start_server. See 40-thousand-clients.intro.md.
set -euo pipefail
mode=$1 out=$2
here=$(dirname "$0")
dir="$out/40-thousand-clients"
mkdir -p "$dir"
if [[ $mode == quick ]]; then
  clients=50 params=10000 rounds=2
  run=("$here/../lib/bidi-run.sh")
else
  clients=1000 params=1000000 rounds=3
  run=("$here/../lib/bidi-run.sh")
fi
# the Java server in a bounded heap: 384 MiB, of which at most 128 MiB client messages being read
# (large sends wait for budget room for their replies, so none is refused)
BIDI_SERVER_XMX=384m BIDI_BUDGET=$((128 * 1024 * 1024)) BIDI_CLIENT_XMX=6g \
  "${run[@]}" java "$clients" "$params" "$rounds" "$dir/java"
# flwr may fail or not finish; that is a figure too
status=0
BIDI_CLIENT_XMX=6g BIDI_TIMEOUT="${BIDI_FLWR_TIMEOUT:-150}" \
  "${run[@]}" flwr "$clients" "$params" "$rounds" "$dir/flwr" || status=$?
echo "$status" > "$dir/flwr.status"
.venv/flwr/bin/python python/benchmarks/bidi_report.py clients "$dir" \
  "$here/40-thousand-clients.intro.md" > "$out/40-thousand-clients.md"
