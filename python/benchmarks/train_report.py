"""Writes the training section of BENCHMARKS.md from the JSON lines of 70-training.sh (one line
per run of the Java TrainingBenchmark or of train_anchor.py, alternated).

Usage: train_report.py RUNS.jsonl MODE"""

import json
import statistics
import sys

TARGET = 0.9


def main():
    path, mode = sys.argv[1], sys.argv[2]
    with open(path) as f:
        runs = [json.loads(line) for line in f if line.strip()]
    djl = [r for r in runs if r["side"] == "djl"]
    torch = [r for r in runs if r["side"] == "pytorch"]
    if not djl or not torch:
        raise SystemExit(f"{path}: need runs of both sides, got {[r['side'] for r in runs]}")

    def median(side, key):
        return statistics.median(x for r in side for x in r[key])

    java_ips, py_ips = median(djl, "images_per_second"), median(torch, "images_per_second")
    java_cpu, py_cpu = median(djl, "images_per_cpu_second"), median(torch, "images_per_cpu_second")
    ratio = java_ips / py_ips
    d, t = djl[0], torch[0]
    met = "met" if ratio >= TARGET else "not met"
    print("## Training (DJL vs PyTorch)\n")
    print(
        "The quickstart CNN (conv 3->6 5x5, pool, conv 6->16 5x5, pool, fc 400-120-84-10) trained "
        "on the first "
        f"{d['batches'] * d['batch_size']:,} CIFAR-10 training images held in memory as "
        "normalised floats: per batch, forward, softmax cross-entropy, backward, SGD with "
        "momentum 0.9 (lr 0.001), the loss value and the accuracy count. Java: "
        "`dev.flowerjava.examples.cifar.TrainingBenchmark` (the examples' `CifarTrainer`, DJL "
        f"{d['djl']}, libtorch {d['libtorch']} from DJL's pytorch-native-cpu jar). Python: "
        f"`python/benchmarks/train_anchor.py` (torch {t['torch']} from Debian, BLAS: "
        f"{t['blas']}). Batch size {d['batch_size']}, {d['batches']} batches per timed epoch after "
        f"{d['warmup_batches']} warm-up batches, intra-op threads {d['intra_op_threads']} "
        f"(Python {t['intra_op_threads']}), inter-op threads {d['inter_op_threads']} "
        f"(Python {t['inter_op_threads']}); {len(djl)} Java and {len(torch)} Python runs "
        "alternated, figures are medians over all timed epochs. Images per CPU-second divide by "
        "the process's CPU time instead of the wall time (less sensitive to other load; on the "
        "Java side it includes the JIT compiler threads). Both sides run with glibc's malloc "
        "trim and mmap thresholds raised (GLIBC_TUNABLES, see the part script): libtorch frees "
        "and reallocates its activation buffers every batch, and by default glibc returns those "
        "pages to the kernel and faults them in again, which cost the JVM about 7% of its "
        "training CPU and Python little.\n"
    )
    print("| | DJL (Java) | PyTorch (Python) | ratio | target |")
    print("|---|---:|---:|---:|---|")
    print(f"| images/s | {java_ips:,.0f} | {py_ips:,.0f} | {ratio:.2f}x | >= {TARGET}x: {met} |")
    print(f"| images/CPU-s | {java_cpu:,.0f} | {py_cpu:,.0f} | {java_cpu / py_cpu:.2f}x | |")
    print()
    if ratio < TARGET:
        print(
            "Where the Java side's time goes (perf on the training thread at 1 intra-op thread, "
            "while developing, before the malloc setting): about 83% in libtorch itself (oneDNN "
            "convolutions forward and backward, max-pooling, ReLU backward, small matrix "
            "products), about 10% in malloc/free and page faults for libtorch's tensors, under "
            "7% in DJL's JNI layer and Java code. The two sides run different libtorch builds "
            "(DJL's bundled libtorch against Debian's torch 1.13 with its own oneDNN), so the "
            "kernels differ; how much of the remaining gap that explains was not separated "
            "further.\n"
        )
    if mode == "quick":
        print("Quick mode: a few batches; proves the benchmark runs, the figures mean nothing.\n")


if __name__ == "__main__":
    main()
