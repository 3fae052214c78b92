#!/usr/bin/env bash
# Codec: a whole model to Flower's Parameters (.npy per tensor) and back, and a received message's
# model decoded, against flwr + numpy. The 100m model runs
# in a second JMH fork with a larger heap, and the section has
# columns of its own (MB/s, target).
#   20-codec.sh MODE OUT
set -euo pipefail
mode=$1 out=$2
here=$(dirname "$0")
jar=flower-java-benchmarks/target/benchmarks.jar
ops='NpyCodecBenchmark.(encodeModel|decodeModel|decodeModelCopy|decodeWire)$'
jmh_json=("$out/20-codec.jmh.json")
anchors="$out/20-codec.anchor.json"
if [[ $mode == quick ]]; then
  java -jar "$jar" "$ops" -wi 1 -w 200ms -i 1 -r 200ms -p model=cifar-cnn \
    -rf json -rff "$out/20-codec.jmh.json" >&2
  (cd python/benchmarks && ../../.venv/flwr/bin/python codec_anchor.py --models cifar-cnn \
    --quick) > "$out/20-codec.anchor.json"
else
  java -jar "$jar" "$ops" -wi 1 -w 1s -i 3 -r 1s -p model=cifar-cnn,resnet18-sized \
    -rf json -rff "$out/20-codec.jmh.json" >&2
  (cd python/benchmarks && ../../.venv/flwr/bin/python codec_anchor.py \
    --models cifar-cnn,resnet18-sized) > "$out/20-codec.anchor.json"
  # 400 MB of float32: several copies of it live at once on each side, so one at a time
  java -jar "$jar" "$ops" -wi 1 -w 1s -i 3 -r 1s -p model=100m \
    -jvmArgs "-Xmx5g" -rf json -rff "$out/20-codec-100m.jmh.json" >&2
  bash -c 'cd python/benchmarks && ../../.venv/flwr/bin/python codec_anchor.py \
    --models 100m' > "$out/20-codec-100m.anchor.json"
  jmh_json+=("$out/20-codec-100m.jmh.json")
  anchors="$anchors,$out/20-codec-100m.anchor.json"
fi
.venv/flwr/bin/python python/benchmarks/codec_report.py "Codec" "$here/20-codec.intro.md" \
  "$anchors" "${jmh_json[@]}" > "$out/20-codec.md"
