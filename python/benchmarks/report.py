"""Turns a JMH JSON result and the anchor's JSON into the BENCHMARKS.md table."""

import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime

NOTES = """\
Reading the figures: the two sides do not do quite the same work in `aggregateRound`.
Java checks every value of every update (NaN/Inf, tensor count and shapes) before folding it into
one running double-precision sum, so server memory stays O(model) however many clients
report; flwr's `aggregate` holds all updates in memory, checks nothing and sums in float32.
`encodeModel`/`decodeModel` are whole-model `Parameters` <-> arrays conversions
(`ndarrays_to_parameters` / `parameters_to_ndarrays` on the Python side).
"""


def main(jmh_path, anchor_path):
    with open(jmh_path, encoding="utf-8") as f:
        jmh = json.load(f)
    with open(anchor_path, encoding="utf-8") as f:
        anchor = json.load(f)
    import flwr
    import numpy

    version = subprocess.run(["java", "-version"], capture_output=True, text=True, check=True)
    java = version.stderr.splitlines()[0]
    machine = f"{os.cpu_count()} cores, {platform.machine()}"
    python = f"Python {platform.python_version()}"
    print("# Benchmarks\n")
    print("Produced by `benchmarks/run.sh` (JMH for Java, `python/benchmarks/anchor.py` for the")
    print("Python anchor, both in the same run on the same machine). Lower is better; the ratio is")
    print("Python time / Java time, so above 1 means Java is faster.\n")
    print(f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {machine}")
    print(f"- Java: {java}; {python}, flwr {flwr.__version__}, numpy {numpy.__version__}")
    print("- models: `cifar-cnn` = the quickstart CNN, 10 tensors, 62,006 float32 values;")
    print("  `resnet18-sized` = one tensor of 11,689,512 float32 values (46.8 MB)")
    print("- `aggregateRound` = 10 client updates folded into the weighted mean (Java: streaming")
    print("  `WeightedMean` with validation; Python: `flwr.server.strategy.aggregate.aggregate`)\n")
    print("| benchmark | model | Java ms/op (± 99.9% CI) | Python ms/op | ratio |")
    print("|---|---|---:|---:|---:|")
    for r in jmh:
        name = r["benchmark"].rsplit(".", 1)[1]
        model = r["params"]["model"]
        score = r["primaryMetric"]["score"]
        err = r["primaryMetric"]["scoreError"]
        py = anchor.get(f"{name}:{model}")
        ratio = f"{py / score:.2f}" if py else "-"
        py_s = f"{py:.3f}" if py else "-"
        print(f"| {name} | {model} | {score:.3f} ± {err:.3f} | {py_s} | {ratio} |")
    print()
    print(NOTES, end="")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
