"""flwr side of AggregationSemanticsTest (flower-java-sdk): FedAvg's aggregation across dtypes and
shapes, case by case, as flwr itself computes it (docs/AGGREGATION-SEMANTICS.md).

Usage:
  python aggregation_semantics.py OUT_DIR

For every case below, OUT_DIR/<case>/ gets:
  global_t<T>.npy          the global model the round starts from
  c<C>_t<T>.npy            client C's update (clients in arrival order)
  clients.txt              one line per client: num_examples
  spec.txt                 what the Java fold must do: "java aggregate|inplace|exact|reject", and
                           "reject_client C" and "reason TEXT" for reject, "from_client 1" when the
                           global model came from a client's get_parameters (first round)
  <way>_t<T>.npy           flwr's result, <way> one of aggregate (flwr.server.strategy.aggregate),
                           inplace (aggregate_inplace, FedAvg's default, what start_server runs)
                           and inplace_reversed (the same results arriving in the other order)
  <way>.error              instead, when flwr raised: "ExceptionType: message"
  exact_t<T>.npy           the weighted mean computed in float64 and cast to the case's dtype
  scale_t<T>.npy           the example-weighted mean of |x|, for the tolerance
  rest_t<T>.npy            for reject cases: flwr's aggregate over the other clients
and OUT_DIR/promote.txt holds np.promote_types for every pair of the dtypes NDArray can hold.

The script also checks that flwr still behaves as each case says ("flwr" below) and exits 1 on a
difference, so the table in the docs stays true for the pinned flwr and numpy.
"""

import os
import sys
import warnings

import numpy as np
from flwr.common import Code, FitRes, Status, ndarrays_to_parameters
from flwr.server.strategy.aggregate import aggregate, aggregate_inplace

DTYPES = [
    "bool", "int8", "uint8", "int16", "uint16", "int32", "uint32",
    "int64", "uint64", "float16", "float32", "float64",
]  # fmt: skip


def a(values, dtype):
    return np.array(values, dtype=dtype)


F32 = np.float32
F64 = np.float64

# name: (global model, [(tensors, num_examples), ...], what Java does, what flwr does,
#        extra spec lines)
# flwr: "aggregate=R inplace=R inplace_reversed=R", R the result's dtypes and shapes or the
# exception type.
CASES = {
    "float32": (
        [a([0, 0], F32)],
        [([a([1.5, -2], F32)], 10), ([a([3, 4.25], F32)], 30)],
        "aggregate",
        "aggregate=float32(2,) inplace=float32(2,) inplace_reversed=float32(2,)",
        {},
    ),
    "int_model_float64_updates": (
        [a([1], np.int64)],
        [([a([5.0], F64)], 1), ([a([2.5], F64)], 3)],
        "aggregate",
        "aggregate=float64(1,) inplace=float64(1,) inplace_reversed=float64(1,)",
        {},
    ),
    "float32_model_float64_updates": (
        [a([1, 2], F32)],
        [([a([0.1, 0.2], F64)], 2), ([a([0.3, 0.4], F64)], 5)],
        "aggregate",
        "aggregate=float64(2,) inplace=float64(2,) inplace_reversed=float64(2,)",
        {},
    ),
    "float64_model_float32_updates": (
        [a([1, 2], F64)],
        [([a([0.1, 0.2], F32)], 2), ([a([0.3, 0.4], F32)], 5)],
        "aggregate",
        "aggregate=float32(2,) inplace=float32(2,) inplace_reversed=float32(2,)",
        {},
    ),
    "clients_float32_and_float64": (
        [a([0, 0], F32)],
        [([a([0.1, 0.2], F32)], 2), ([a([0.3, 0.4], F64)], 5)],
        "aggregate",
        "aggregate=float64(2,) inplace=float32(2,) inplace_reversed=float64(2,)",
        {},
    ),
    "clients_int64_and_float64": (
        [a([0, 0], np.int64)],
        [([a([1, 2], np.int64)], 1), ([a([3.5, 4], F64)], 3)],
        "aggregate",
        "aggregate=float64(2,) inplace=int64(2,) inplace_reversed=float64(2,)",
        {},
    ),
    "clients_float16_and_float32": (
        [a([0, 0], np.float16)],
        [([a([0.5, 1.5], np.float16)], 2), ([a([0.25, -3], F32)], 6)],
        "aggregate",
        "aggregate=float32(2,) inplace=float16(2,) inplace_reversed=float32(2,)",
        {},
    ),
    "clients_int8_uint8_float16": (
        [a([0], np.int8)],
        [([a([1], np.int8)], 1), ([a([2], np.uint8)], 1), ([a([3], np.float16)], 1)],
        "aggregate",
        "aggregate=float32(1,) inplace=int8(1,) inplace_reversed=float16(1,)",
        {},
    ),
    "clients_int64_and_uint64": (
        [a([0], np.int64)],
        [([a([-4], np.int64)], 1), ([a([10], np.uint64)], 3)],
        "aggregate",
        "aggregate=float64(1,) inplace=UFuncTypeError inplace_reversed=uint64(1,)",
        {},
    ),
    "int64": (
        [a([0, 0, 0], np.int64)],
        [([a([1, 2, -7], np.int64)], 1), ([a([4, 6, 3], np.int64)], 2)],
        "aggregate",
        "aggregate=float64(3,) inplace=int64(3,) inplace_reversed=int64(3,)",
        {},
    ),
    "int32": (
        [a([[0, 0]], np.int32)],
        [([a([[1, 2]], np.int32)], 3), ([a([[4, 5]], np.int32)], 3)],
        "aggregate",
        "aggregate=float64(1, 2) inplace=int32(1, 2) inplace_reversed=int32(1, 2)",
        {},
    ),
    "uint8": (
        [a([0, 0], np.uint8)],
        [([a([255, 1], np.uint8)], 1), ([a([0, 2], np.uint8)], 1)],
        "aggregate",
        "aggregate=float64(2,) inplace=uint8(2,) inplace_reversed=uint8(2,)",
        {},
    ),
    "int8_products_wrap": (
        [a([0, 0], np.int8)],
        [([a([100, 2], np.int8)], 100), ([a([3, 4], np.int8)], 100)],
        "exact",
        "aggregate=float64(2,) inplace=int8(2,) inplace_reversed=int8(2,)",
        {"exact_dtype": "float64"},
    ),
    "int8_num_examples_beyond_int8": (
        [a([0, 0], np.int8)],
        [([a([1, 2], np.int8)], 1000), ([a([3, 4], np.int8)], 1000)],
        "exact",
        "aggregate=OverflowError inplace=int8(2,) inplace_reversed=int8(2,)",
        {"exact_dtype": "float64"},
    ),
    "uint64_beyond_int64": (
        [a([0], np.uint64)],
        [([a([2**63 + 2048], np.uint64)], 1), ([a([2**63 + 4096], np.uint64)], 1)],
        "exact",
        "aggregate=float64(1,) inplace=uint64(1,) inplace_reversed=uint64(1,)",
        {"exact_dtype": "float64"},
    ),
    "bool": (
        [a([False, False, False], np.bool_)],
        [([a([True, False, True], np.bool_)], 1), ([a([True, True, False], np.bool_)], 3)],
        "aggregate",
        "aggregate=float64(3,) inplace=bool(3,) inplace_reversed=bool(3,)",
        {},
    ),
    "clients_int64_and_bool": (
        [a([0, 0], np.int64)],
        [([a([1, 2], np.int64)], 1), ([a([True, False], np.bool_)], 1)],
        "aggregate",
        "aggregate=float64(2,) inplace=int64(2,) inplace_reversed=bool(2,)",
        {},
    ),
    "float16": (
        [a([0, 0, 0], np.float16)],
        [([a([1, 2.5, -0.1], np.float16)], 1), ([a([3, 4, 0.3], np.float16)], 3)],
        "aggregate",
        "aggregate=float16(3,) inplace=float16(3,) inplace_reversed=float16(3,)",
        {},
    ),
    "float16_many_examples": (
        [a([0, 0], np.float16)],
        [([a([1, 2], np.float16)], 100000), ([a([3, 4], np.float16)], 100000)],
        "inplace",
        "aggregate=float16(2,) inplace=float16(2,) inplace_reversed=float16(2,)",
        {},
    ),
    "zero_dim_float64": (
        [a(0, F64)],
        [([a(1.5, F64)], 1), ([a(2.5, F64)], 3)],
        "aggregate",
        "aggregate=float64() inplace=float64() inplace_reversed=float64()",
        {},
    ),
    "zero_dim_float32_and_int64": (
        [a(0, F32), a(0, np.int64)],
        [([a(1.5, F32), a(1, np.int64)], 1), ([a(2.5, F32), a(2, np.int64)], 3)],
        "aggregate",
        "aggregate=float32(),float64() inplace=float32(),int64() "
        "inplace_reversed=float32(),int64()",
        {},
    ),
    "empty_tensors": (
        [np.zeros((0,), F32), np.zeros((0, 3), np.int64), a([0], F64)],
        [
            ([np.zeros((0,), F32), np.zeros((0, 3), np.int64), a([1], F64)], 1),
            ([np.zeros((0,), F32), np.zeros((0, 3), np.int64), a([2], F64)], 3),
        ],
        "aggregate",
        "aggregate=float32(0,),float64(0, 3),float64(1,) "
        "inplace=float32(0,),int64(0, 3),float64(1,) "
        "inplace_reversed=float32(0,),int64(0, 3),float64(1,)",
        {},
    ),
    "one_tensor_too_few": (
        [a([0, 0], F64), a([0], F64)],
        [
            ([a([1, 2], F64), a([3], F64)], 1),
            ([a([1, 2], F64)], 3),
            ([a([5, 6], F64), a([7], F64)], 2),
        ],
        "reject",
        "aggregate=ValueError inplace=ValueError inplace_reversed=ValueError",
        {"reject_client": "1", "reason": "expected 2 tensors, got 1"},
    ),
    "one_tensor_too_many": (
        [a([0, 0], F64)],
        [([a([1, 2], F64)], 1), ([a([1, 2], F64), a([9], F64)], 3), ([a([5, 6], F64)], 2)],
        "reject",
        "aggregate=ValueError inplace=ValueError inplace_reversed=ValueError",
        {"reject_client": "1", "reason": "expected 1 tensors, got 2"},
    ),
    "shape_that_broadcasts": (
        [a([0, 0, 0], F64)],
        [([a([1, 2, 3], F64)], 1), ([a([5], F64)], 3), ([a([4, 5, 6], F64)], 2)],
        "reject",
        "aggregate=float64(3,) inplace=float64(3,) inplace_reversed=float64(3,)",
        {"reject_client": "1", "reason": "tensor 0 has shape [1], expected [3]"},
    ),
    "shape_that_does_not_broadcast": (
        [a([[0, 0, 0]], F32)],
        [([a([[1, 2, 3]], F32)], 1), ([a([[1, 2], [3, 4]], F32)], 3), ([a([[4, 5, 6]], F32)], 2)],
        "reject",
        "aggregate=ValueError inplace=ValueError inplace_reversed=ValueError",
        {"reject_client": "1", "reason": "tensor 0 has shape [2, 2], expected [1, 3]"},
    ),
    "zero_dim_where_the_model_has_one_element": (
        [a([0], F64)],
        [([a([1], F64)], 1), ([a(2, F64)], 3)],
        "reject",
        "aggregate=float64(1,) inplace=float64(1,) inplace_reversed=ValueError",
        {"reject_client": "1", "reason": "tensor 0 has shape [], expected [1]"},
    ),
    "nan_in_an_update": (
        [a([0, 0], F32)],
        [([a([1, 2], F32)], 1), ([a([np.nan, 2], F32)], 3), ([a([3, 4], F32)], 2)],
        "reject",
        "aggregate=float32(2,) inplace=float32(2,) inplace_reversed=float32(2,)",
        {"reject_client": "1", "reason": "tensor 0 holds NaN at flat index 0"},
    ),
    "first_round_model_from_a_client_with_another_layout": (
        [a([1, 2], np.int64)],
        [
            ([a([1, 2, 3], F64), a([[1, 2], [3, 4]], F32)], 1),
            ([a([4, 5, 6], F64), a([[5, 6], [7, 8]], F32)], 3),
        ],
        "aggregate",
        "aggregate=float64(3,),float32(2, 2) inplace=float64(3,),float32(2, 2) "
        "inplace_reversed=float64(3,),float32(2, 2)",
        {"from_client": "1"},
    ),
    "first_round_model_from_a_client_and_updates_that_disagree": (
        [a([1, 2], np.int64)],
        [
            ([a([1, 2, 3], F64)], 1),
            ([a([4, 5], F64)], 3),
            ([a([7, 8, 9], F64)], 2),
        ],
        "reject",
        "aggregate=ValueError inplace=ValueError inplace_reversed=ValueError",
        {
            "from_client": "1",
            "reject_client": "1",
            "reason": "tensor 0 has shape [2], expected [3]",
        },
    ),
}


def describe(result):
    if isinstance(result, BaseException):
        return type(result).__name__
    return ",".join(f"{x.dtype}{x.shape}" for x in result)


def attempt(fn):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return fn()
    except (ValueError, TypeError, OverflowError) as e:
        return e


def fit_results(clients):
    return [
        (None, FitRes(Status(Code.OK, ""), ndarrays_to_parameters(tensors), n, {}))
        for tensors, n in clients
    ]


def save_all(directory, prefix, arrays):
    for t, x in enumerate(arrays):
        np.save(os.path.join(directory, f"{prefix}_t{t}.npy"), x)


def weighted(clients, fn):
    total = sum(n for _, n in clients)
    count = len(clients[0][0])
    return [sum(fn(tensors[t]) * (n / total) for tensors, n in clients) for t in range(count)]


def run_case(out, name, case):
    model, clients, java, flwr_expected, extra = case
    d = os.path.join(out, name)
    os.makedirs(d)
    save_all(d, "global", model)
    for c, (tensors, _) in enumerate(clients):
        save_all(d, f"c{c}", tensors)
    with open(os.path.join(d, "clients.txt"), "w", encoding="utf-8") as f:
        f.writelines(f"{n}\n" for _, n in clients)
    with open(os.path.join(d, "spec.txt"), "w", encoding="utf-8") as f:
        f.write(f"java {java}\n")
        f.writelines(f"{k} {v}\n" for k, v in extra.items())

    ways = {
        # copies: aggregate_inplace writes into the arrays it decodes, never into ours, but
        # aggregate must not see anything another way left behind either
        "aggregate": lambda: aggregate([([x.copy() for x in t], n) for t, n in clients]),
        "inplace": lambda: aggregate_inplace(fit_results(clients)),
        "inplace_reversed": lambda: aggregate_inplace(fit_results(clients[::-1])),
    }
    seen = []
    for way, fn in ways.items():
        result = attempt(fn)
        seen.append(f"{way}={describe(result)}")
        if isinstance(result, BaseException):
            with open(os.path.join(d, f"{way}.error"), "w", encoding="utf-8") as f:
                f.write(f"{type(result).__name__}: {result}\n")
        else:
            save_all(d, way, result)
    observed = " ".join(seen)
    if observed != flwr_expected:
        print(f"{name}: flwr now does\n  {observed}\nwhere the case says\n  {flwr_expected}")
        return False

    kept = clients
    if java == "reject":
        reject = int(extra["reject_client"])
        kept = [c for i, c in enumerate(clients) if i != reject]
        save_all(d, "rest", aggregate(kept))
    if java == "exact":
        exact = weighted(kept, lambda x: x.astype(np.float64))
        save_all(d, "exact", [np.asarray(x, dtype=extra["exact_dtype"]) for x in exact])
    scale = weighted(kept, lambda x: np.abs(x.astype(np.float64)))
    save_all(d, "scale", [np.asarray(x, dtype=np.float64) for x in scale])
    return True


def main(out):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "promote.txt"), "w", encoding="utf-8") as f:
        for x in DTYPES:
            for y in DTYPES:
                f.write(f"{x} {y} {np.promote_types(x, y)}\n")
    # every case runs, so that one run reports every difference
    results = [run_case(out, name, case) for name, case in CASES.items()]
    ok = all(results)
    print("ok", len(CASES) if ok else "flwr differs")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
