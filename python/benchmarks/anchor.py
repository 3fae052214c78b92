"""The Python anchor for the JMH benchmarks: the same operations done by flwr and numpy,
timed in the same run. Prints JSON: {"<benchmark>:<model>": milliseconds per operation}.

Usage: anchor.py --ops encodeModel,decodeModel --models cifar-cnn,resnet18-sized [--quick]"""

import argparse
import json
import statistics
import time
from functools import partial

import numpy as np
from flwr.common import ndarrays_to_parameters, parameters_to_ndarrays
from flwr.server.strategy.aggregate import aggregate

MODELS = {
    "cifar-cnn": [
        (6, 3, 5, 5),
        (6,),
        (16, 6, 5, 5),
        (16,),
        (120, 400),
        (120,),
        (84, 120),
        (84,),
        (10, 84),
        (10,),
    ],
    "resnet18-sized": [(11_689_512,)],
    "100m": [(100_000_000,)],
    "flat-1m": [(1_000_000,)],
    "flat-100m": [(100_000_000,)],
}
CLIENTS = 10


def random_model(shapes, seed):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, size=s).astype(np.float32) for s in shapes]


def time_ms(fn, min_seconds=3.0):
    """Mean milliseconds per call over at least min_seconds, after a warm-up of a third of that."""
    warm_end = time.perf_counter() + min_seconds / 3
    while time.perf_counter() < warm_end:
        fn()
    samples = []
    end = time.perf_counter() + min_seconds
    while time.perf_counter() < end or len(samples) < 5:
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.mean(samples)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ops", required=True, help="comma-separated benchmark names")
    parser.add_argument("--models", required=True, help="comma-separated model names")
    parser.add_argument("--quick", action="store_true", help="one short sample per figure")
    args = parser.parse_args()
    ops = args.ops.split(",")
    seconds = 0.2 if args.quick else 3.0
    timed = partial(time_ms, min_seconds=seconds)
    out = {}
    for name in args.models.split(","):
        shapes = MODELS[name]
        arrays = random_model(shapes, 1)
        encoded = ndarrays_to_parameters(arrays)
        if "encodeModel" in ops:
            out[f"encodeModel:{name}"] = timed(partial(ndarrays_to_parameters, arrays))
        if "decodeModel" in ops:
            out[f"decodeModel:{name}"] = timed(partial(parameters_to_ndarrays, encoded))
        if "aggregateRound" in ops:
            updates = [(random_model(shapes, c), 100 + c) for c in range(CLIENTS)]
            out[f"aggregateRound:{name}"] = timed(partial(aggregate, updates))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
