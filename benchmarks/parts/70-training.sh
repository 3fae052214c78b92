#!/usr/bin/env bash
# Training speed of the quickstart CNN on CIFAR-10: DJL (PyTorch engine, the examples' CifarTrainer)
# against PyTorch in Python (Debian's python3-torch 1.13 with OpenBLAS, .venv/torch), same batch
# size, thread count, data, optimizer and number of batches, run back to back and alternated so
# that both sides see the same machine. Only the training loop is timed (data already in memory).
#   70-training.sh MODE OUT     MODE = full | quick
# TRAIN_THREADS sets the intra-op threads of both sides (default: all cores in full mode, 1 in quick).
set -euo pipefail
mode=$1 out=$2
name=70-training
if [[ $mode == quick ]]; then
  threads=${TRAIN_THREADS:-1} batches=8 warmup=4 repeats=1 rounds=1
else
  threads=${TRAIN_THREADS:-$(nproc)} batches=300 warmup=200 repeats=3 rounds=2
fi
jar=""
for f in flower-java-examples/target/flower-java-examples-*.jar; do
  case "$f" in *-sources.jar | *-javadoc.jar | *-tests.jar) ;; *) jar=$f ;; esac
done
[[ -n $jar ]] || { echo "70-training: build flower-java-examples first (no jar in target/)" >&2; exit 1; }
cp="$jar:$(cat flower-java-examples/target/classpath.txt)"
# libtorch frees and re-maps its activation buffers every batch; glibc's default trim and mmap
# thresholds then hand the pages back to the kernel and fault them in again (measured: 7% of the
# JVM's training CPU). Both sides run with the same malloc settings.
export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=268435456
export DJL_OFFLINE=true OPT_OUT_TRACKING=true
args=(--threads "$threads" --batch-size 32 --batches "$batches" --warmup "$warmup" --repeats "$repeats")
raw="$out/$name.jsonl"
: > "$raw"
for ((r = 0; r < rounds; r++)); do
  java -Xmx1g -XX:MaxDirectMemorySize=256m -cp "$cp" dev.flowerjava.examples.cifar.TrainingBenchmark \
    "${args[@]}" 2> "$out/$name.java.log" | tail -1 >> "$raw"
  .venv/torch/bin/python python/benchmarks/train_anchor.py "${args[@]}" >> "$raw"
done
.venv/torch/bin/python python/benchmarks/train_report.py "$raw" "$mode" > "$out/$name.md"
