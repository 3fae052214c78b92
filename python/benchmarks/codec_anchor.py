"""The Python anchor of the codec section (benchmarks/parts/20-codec.sh): flwr's and numpy's side
of each Java benchmark in NpyCodecBenchmark, timed in the same run. Prints JSON:
{"<benchmark>:<model>": milliseconds per operation, "bytes:<model>": float32 bytes of the model}.

Usage: codec_anchor.py --models cifar-cnn,resnet18-sized [--quick] [--seconds S]"""

import argparse
import json
import statistics
import time
from functools import partial

from anchor import MODELS, random_model
from flwr.common import ndarrays_to_parameters, parameters_to_ndarrays
from flwr.common.serde import parameters_from_proto, parameters_to_proto
from flwr.proto.transport_pb2 import ClientMessage, Status


def time_ms(fn, min_seconds):
    """Mean milliseconds per call after one warm-up call: at least min_seconds and 3 calls, or 2
    when a call takes over a second. (At 400 MB one call takes seconds, so anchor.py's 5-call
    minimum would blow the part's time budget.)"""
    start = time.perf_counter()
    fn()
    min_calls = 2 if time.perf_counter() - start > 1.0 else 3
    samples = []
    end = time.perf_counter() + min_seconds
    while time.perf_counter() < end or len(samples) < min_calls:
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.mean(samples)


def decode_wire(wire):
    """What a server does with a received fit result: protobuf parse, then the tensors."""
    msg = ClientMessage.FromString(wire)
    return parameters_to_ndarrays(parameters_from_proto(msg.fit_res.parameters))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", required=True, help="comma-separated model names")
    parser.add_argument("--quick", action="store_true", help="one short sample per figure")
    parser.add_argument("--seconds", type=float, default=2.0, help="measuring time per figure")
    args = parser.parse_args()
    timed = partial(time_ms, min_seconds=0.2 if args.quick else args.seconds)
    out = {}
    for name in args.models.split(","):
        arrays = random_model(MODELS[name], 1)
        out[f"bytes:{name}"] = sum(a.nbytes for a in arrays)
        encoded = ndarrays_to_parameters(arrays)
        fit_res = ClientMessage.FitRes(
            status=Status(code=0), parameters=parameters_to_proto(encoded), num_examples=1
        )
        wire = ClientMessage(fit_res=fit_res).SerializeToString()
        del fit_res
        out[f"encodeModel:{name}"] = timed(partial(ndarrays_to_parameters, arrays))
        out[f"decodeModel:{name}"] = timed(partial(parameters_to_ndarrays, encoded))
        out[f"decodeWire:{name}"] = timed(partial(decode_wire, wire))
        del arrays, encoded, wire
    print(json.dumps(out))


if __name__ == "__main__":
    main()
