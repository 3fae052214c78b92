#!/usr/bin/env bash
# Aggregation: the server's fold of client updates against a read-only pass over the same bytes on
# all cores (the ceiling, same JMH run) and flwr's aggregate.
#   10-aggregation.sh MODE OUT
# Full: cifar-cnn, resnet18-sized and flat-100m (JMH single-shot-like: few 1 s iterations for the
# 100M cases), 10 and 100 updates each. Quick: cifar-cnn and flat-1m, 10 updates.
set -euo pipefail
mode=$1 out=$2
here=$(dirname "$0")
jar=flower-java-benchmarks/target/benchmarks.jar
bench='FedAvgBenchmark.(aggregateRound|readCeiling)$'
jsons=()
# The same fold on a newer JDK too: its C2 vectorizes more loops (float-to-double conversion among
# them), which tells how much of the gap to the ceiling is the Java 17 compiler's.
jdk25=""
for candidate in /usr/lib/jvm/*-25-*/bin/java /usr/lib/jvm/*-25/bin/java; do
  if [[ -x $candidate ]]; then
    jdk25=$candidate
    break
  fi
done
if [[ -z $jdk25 ]]; then
  echo "10-aggregation: no Java 25 JDK under /usr/lib/jvm (the polyglot machine ships Temurin 25)" >&2
  exit 1
fi
if [[ $mode == quick ]]; then
  java -jar "$jar" "$bench" -p model=cifar-cnn,flat-1m -p clients=10 -wi 1 -w 200ms -i 1 -r 200ms \
    -jvmArgs '-Xms256m -Xmx2g' -rf json -rff "$out/10-aggregation.jmh.json" >&2
  java -jar "$jar" "$bench" -jvm "$jdk25" -p model=flat-1m -p clients=10 -wi 1 -w 200ms -i 1 \
    -r 200ms -jvmArgs '-Xms256m -Xmx2g' -rf json -rff "$out/10-aggregation-jdk25.jmh.json" >&2
  jsons=("$out/10-aggregation.jmh.json" "$out/10-aggregation-jdk25.jmh.json")
  .venv/flwr/bin/python python/benchmarks/aggregation_anchor.py --models cifar-cnn,flat-1m \
    --clients 10 --quick > "$out/10-aggregation.anchor.json"
else
  # -Xmx16g: a quarter of the heap (4 GiB) is the fold's default bound on held updates; what is
  # live is about 2 GiB of distinct updates plus the sums and the result
  java -jar "$jar" "$bench" -p model=cifar-cnn,resnet18-sized -p clients=10,100 \
    -wi 2 -w 1 -i 3 -r 1 -jvmArgs '-Xms1g -Xmx16g' \
    -rf json -rff "$out/10-aggregation.jmh.json" >&2
  java -jar "$jar" "$bench" -p model=flat-100m -p clients=10,100 -wi 1 -w 1 -i 2 -r 1 \
    -jvmArgs '-Xms1g -Xmx16g' -rf json -rff "$out/10-aggregation-100m.jmh.json" >&2
  java -jar "$jar" "$bench" -jvm "$jdk25" -p model=resnet18-sized -p clients=10,100 \
    -wi 2 -w 1 -i 3 -r 1 -jvmArgs '-Xms1g -Xmx16g' \
    -rf json -rff "$out/10-aggregation-jdk25.jmh.json" >&2
  jsons=("$out/10-aggregation.jmh.json" "$out/10-aggregation-100m.jmh.json"
    "$out/10-aggregation-jdk25.jmh.json")
  .venv/flwr/bin/python python/benchmarks/aggregation_anchor.py \
    --models cifar-cnn,resnet18-sized,flat-100m --clients 10,100 > "$out/10-aggregation.anchor.json"
fi
.venv/flwr/bin/python python/benchmarks/report_aggregation.py "$out/10-aggregation.anchor.json" \
  "$here/10-aggregation.intro.md" "${jsons[@]}" > "$out/10-aggregation.md"
