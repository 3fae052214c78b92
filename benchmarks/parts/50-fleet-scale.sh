#!/usr/bin/env bash
# Fleet server at scale: per-round CPU of server.jar's Fleet API (HTTP) with 25..200 Java nodes in
# one client JVM. Full mode: a 1M-value model at 25, 50, 100 and 200 nodes; quick mode: 10 nodes,
# the CIFAR CNN (proves the benchmark runs). Nodes poll every 2 s (fleet_scale.py).
set -euo pipefail
mode=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
py="$root/.venv/flwr/bin/python"
server_jar="$root/flower-java-server/target/server.jar"
bench_jar="$root/flower-java-benchmarks/target/benchmarks.jar"
runs=()
if [[ $mode == quick ]]; then
  "$py" "$root/python/benchmarks/fleet_scale.py" --server-jar "$server_jar" --bench-jar "$bench_jar" \
    --label "Java Fleet server" --model cnn --nodes 10 --rounds 2 --timeout 40 --poll-ms 500 \
    --server-xmx 512m --client-xmx 1g > "$out/50-fleet-scale.cnn.json"
  runs+=("$out/50-fleet-scale.cnn.json")
else
  # the 4-minute budget on 2 cores: the 1M model only (the CNN's per-node cost is the same calls
  # with less data: quick mode shows it), 2 rounds (the first is warm-up, the second is measured)
  "$py" "$root/python/benchmarks/fleet_scale.py" --server-jar "$server_jar" \
    --bench-jar "$bench_jar" --label "Java Fleet server" --model 1m --nodes 25,50,100,200 \
    --rounds 2 --timeout 200 > "$out/50-fleet-scale.1m.json"
  runs+=("$out/50-fleet-scale.1m.json")
fi
"$py" "$root/python/benchmarks/fleet_scale_report.py" "$here/50-fleet-scale.intro.md" "${runs[@]}" \
  > "$out/50-fleet-scale.md"
# a run that did not finish fails the part
"$py" - "${runs[@]}" <<'PY'
import json, sys
bad = [(p, r["nodes"], r["status"]) for p in sys.argv[1:]
       for r in json.load(open(p))["results"] if r["status"] != "ok"]
if bad:
    sys.exit(f"50-fleet-scale: runs that did not finish: {bad}")
PY
