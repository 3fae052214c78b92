"""The Python anchor of the aggregation benchmark (benchmarks/parts/10-aggregation.sh): flwr's own
`aggregate` on the same updates as FedAvgBenchmark, timed in the same run.

flwr's `aggregate` materializes every weighted product (`layer * num_examples` for every layer of
every update) before it sums them, so it needs about clients x model bytes on top of the inputs; a
case above --max-gb is not run and its entry says how much it would need.

The inputs reuse a few distinct updates, as the Java benchmark does (at most 2 GiB distinct).
Prints JSON: {"aggregateRound:<model>:<clients>": milliseconds per call, or "not run: ..."}.

Usage: aggregation_anchor.py --models cifar-cnn,resnet18-sized --clients 10,100 [--quick]"""

import argparse
import json
import statistics
import time

import numpy as np
from anchor import MODELS, random_model
from flwr.server.strategy.aggregate import aggregate

DISTINCT_BYTES = 2 << 30


def time_ms(fn, min_seconds, min_samples, warm_up=True):
    """Mean milliseconds per call over at least min_seconds and min_samples."""
    if warm_up:
        fn()
    samples = []
    end = time.perf_counter() + min_seconds
    while time.perf_counter() < end or len(samples) < min_samples:
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.mean(samples)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", required=True, help="comma-separated model names")
    parser.add_argument("--clients", default="10", help="comma-separated update counts")
    parser.add_argument("--max-gb", type=float, default=10.0, help="skip cases needing more")
    parser.add_argument("--quick", action="store_true", help="short samples")
    args = parser.parse_args()
    out = {}
    for name in args.models.split(","):
        shapes = MODELS[name]
        model_bytes = 4 * sum(int(np.prod(s)) for s in shapes)
        for clients in [int(c) for c in args.clients.split(",")]:
            key = f"aggregateRound:{name}:{clients}"
            distinct = min(clients, max(2, DISTINCT_BYTES // model_bytes))
            # inputs + one weighted product per update + the running sum and the result
            need = (distinct + clients + 2) * model_bytes / 1e9
            if need > args.max_gb:
                out[key] = f"not run: needs {need:.1f} GB"
                continue
            made = [random_model(shapes, c) for c in range(distinct)]
            updates = [(made[c % distinct], 100 + c) for c in range(clients)]
            big = model_bytes * clients > 1e9
            huge = model_bytes * clients > 3e9  # seconds a call: one call, no warm-up
            seconds = 0.2 if args.quick else (0 if big else 3.0)
            samples = 1 if huge else (2 if big else 5)
            out[key] = time_ms(lambda u=updates: aggregate(u), seconds, samples, not huge)
            del made, updates
    print(json.dumps(out))


if __name__ == "__main__":
    main()
