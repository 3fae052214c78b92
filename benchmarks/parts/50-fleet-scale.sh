#!/usr/bin/env bash
# Fleet server at scale: per-round CPU of server.jar's Fleet API (HTTP) with 25..200 Java nodes in
# one client JVM, for a 1M-value model and the CIFAR CNN. Full mode: the node counts below; quick
# mode: 10 nodes, the CNN only (proves the benchmark runs). Nodes poll every 2 s (fleet_scale.py).
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
  for model in 1m cnn; do
    nodes=25,50,100,200
    [[ $model == cnn ]] && nodes=25,200 # the 3-minute budget: the CNN at both ends only
    "$py" "$root/python/benchmarks/fleet_scale.py" --server-jar "$server_jar" \
      --bench-jar "$bench_jar" --label "Java Fleet server" --model "$model" --nodes "$nodes" \
      --rounds 3 --timeout 150 > "$out/50-fleet-scale.$model.json"
    runs+=("$out/50-fleet-scale.$model.json")
  done
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
