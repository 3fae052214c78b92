#!/usr/bin/env bash
# The same toy client (python/simulation/toy.py and its Java twin) in the Java Simulation and in
# flwr's run_simulation on Ray: rounds per second, peak memory of the whole process tree, and the
# final models compared. See 80-simulation.intro.md.
set -euo pipefail
mode=$1 out=$2
here=$(dirname "$0")
dir="$out/80-simulation"
mkdir -p "$dir"
steps=5 seed=7
if [[ $mode == quick ]]; then
  clients=10 rounds=2 flwr_timeout=120
else
  clients=1000 rounds=10 flwr_timeout=900
fi
jar=flower-java-benchmarks/target/benchmarks.jar
mem=(.venv/flwr/bin/python python/benchmarks/treemem.py)
# the machine's load around the runs goes into the report: both sides share the 2 cores with it
cut -d' ' -f1 /proc/loadavg > "$dir/load.start"
"${mem[@]}" "$dir/java.mem.json" -- java -Xmx512m -XX:+UseParallelGC -cp "$jar" \
  dev.flowerjava.benchmarks.simulation.SimulationRun "$clients" "$rounds" "$steps" "$seed" \
  "$dir/java.json" > "$dir/java.log" 2>&1 || { echo "the Java simulation failed; see $dir/java.log" >&2; exit 1; }
# Ray's processes inherit this environment: no usage report, no dashboard
# (timeout inside the sampler: on a timeout it still sees, and kills, Ray's leftover processes)
RAY_USAGE_STATS_ENABLED=0 "${mem[@]}" "$dir/flwr.mem.json" -- timeout "$flwr_timeout" \
  .venv/flwr-sim/bin/python python/simulation/flwr_sim.py "$clients" "$rounds" "$steps" "$seed" \
  "$dir/flwr" > "$dir/flwr.log" 2>&1 || { echo "flwr's simulation failed; see $dir/flwr.log" >&2; exit 1; }
cut -d' ' -f1 /proc/loadavg > "$dir/load.end"
.venv/flwr/bin/python python/benchmarks/simulation_report.py "$dir" \
  "$here/80-simulation.intro.md" > "$out/80-simulation.md"
