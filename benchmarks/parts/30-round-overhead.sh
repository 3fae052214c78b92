#!/usr/bin/env bash
# Round overhead on loopback: the Java bidi server against flwr's start_server, driven by the same
# JVM of Java FlowerClients that return their parameters at once. See 30-round-overhead.intro.md.
set -euo pipefail
mode=$1 out=$2
here=$(dirname "$0")
dir="$out/30-round-overhead"
mkdir -p "$dir"
# clients params rounds warm-up-intervals
if [[ $mode == quick ]]; then
  configs=("10 62006 8 3")
else
  configs=("10 62006 40 20" "100 62006 20 10" "10 11689512 6 2" "100 11689512 3 1")
fi
for c in "${configs[@]}"; do
  read -r clients params rounds warm <<< "$c"
  for server in java flwr; do
    prefix="$dir/c$clients-p$params.$server"
    echo "$rounds $warm" > "$prefix.plan"
    if (( clients * params > 200000000 )); then
      # 100 x 46.8 MB: several GB in the client JVM and in flwr
      BIDI_CLIENT_XMX=6g BIDI_SERVER_XMX=2g \
        "$here/../lib/bidi-run.sh" "$server" "$clients" "$params" "$rounds" "$prefix"
    else
      "$here/../lib/bidi-run.sh" "$server" "$clients" "$params" "$rounds" "$prefix"
    fi
  done
done
.venv/flwr/bin/python python/benchmarks/bidi_report.py overhead "$dir" "$here/30-round-overhead.intro.md" \
  > "$out/30-round-overhead.md"
