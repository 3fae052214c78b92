"""numpy side of NumpyInteropTest (flower-java-sdk).

Usage:
  python npy_interop.py write DIR SPEC   # np.save each case of SPEC into DIR/<name>.npy
  python npy_interop.py check DIR SPEC   # np.load DIR/<name>.npy, compare with the expected array

SPEC has one case per line: "name dtype shape order byteorder version", where shape is
comma-separated dims or "-" for 0-d, order is C or F, byteorder is "<", ">" or "=", and version
is "default" (np.save) or "1", "2", "3" (np.lib.format.write_array with that version).

Values are deterministic functions of the flat C-order index so that the Java test builds the
same array (see NumpyInteropTest#expected). "check" prints one line per case: "name<TAB>ok" or
"name<TAB>problem", and exits 0 unless the script itself breaks.
"""

import sys

import numpy as np


def flat_values(dtype, n):
    out = []
    for i in range(n):
        if dtype == "bool":
            v = i % 3 == 0
        elif dtype == "int8":
            v = (i * 37) % 256 - 128
        elif dtype == "uint8":
            v = (i * 37) % 256
        elif dtype == "int16":
            v = (i * 7919) % 65536 - 32768
        elif dtype == "uint16":
            v = (i * 7919) % 65536
        elif dtype == "int32":
            v = (i * 2654435761) % 2**32 - 2**31
        elif dtype == "uint32":
            v = (i * 2654435761) % 2**32
        elif dtype in ("int64", "uint64"):
            v = (i * 0x9E3779B97F4A7C15 + 12345) % 2**64
            if dtype == "int64" and v >= 2**63:
                v -= 2**64
        elif dtype in ("float16", "float32", "float64"):
            if i % 17 == 16:
                v = float("inf")
            elif i % 19 == 18:
                v = -0.0
            else:
                v = ((i * 7919) % 2001 - 1000) / 8.0
        else:
            raise SystemExit(f"unknown dtype {dtype}")
        out.append(v)
    return np.array(out, dtype=np.dtype(dtype)).reshape(-1)


def expected(dtype, shape):
    n = 1
    for d in shape:
        n *= d
    return flat_values(dtype, n).reshape(shape)


def read_spec(path):
    cases = []
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if not line:
                continue
            name, dtype, shape, order, byteorder, version = line.split(" ")
            dims = () if shape == "-" else tuple(int(x) for x in shape.split(","))
            cases.append((name, dtype, dims, order, byteorder, version))
    return cases


def write(directory, cases):
    for name, dtype, shape, order, byteorder, version in cases:
        arr = expected(dtype, shape)
        if order == "F":
            arr = np.asfortranarray(arr)
        if byteorder != "=":
            arr = arr.astype(arr.dtype.newbyteorder(byteorder))
            if order == "F":
                arr = np.asfortranarray(arr)
        path = f"{directory}/{name}.npy"
        if version == "default":
            np.save(path, arr, allow_pickle=False)
        else:
            with open(path, "wb") as f:
                np.lib.format.write_array(f, arr, version=(int(version), 0), allow_pickle=False)


def check(directory, cases):
    for name, dtype, shape, _order, _byteorder, _version in cases:
        try:
            got = np.load(f"{directory}/{name}.npy", allow_pickle=False)
            want = expected(dtype, shape)
            if got.dtype != want.dtype:
                problem = f"dtype {got.dtype.str}, expected {want.dtype.str}"
            elif got.shape != want.shape:
                problem = f"shape {got.shape}, expected {want.shape}"
            elif not got.flags.c_contiguous:
                problem = "not C-contiguous"
            elif got.tobytes() != want.tobytes():
                problem = f"values differ: {got.reshape(-1)[:8]!r} vs {want.reshape(-1)[:8]!r}"
            elif not np.array_equal(got, want) and dtype not in ("float16", "float32", "float64"):
                problem = "array_equal is False"
            else:
                problem = "ok"
        except Exception as e:  # report, do not stop: the Java side names the failing case
            problem = f"np.load failed: {type(e).__name__}: {e}"
        print(f"{name}\t{problem}".replace("\n", " "))


def main(argv):
    if len(argv) != 4 or argv[1] not in ("write", "check"):
        raise SystemExit(__doc__)
    cases = read_spec(argv[3])
    if argv[1] == "write":
        write(argv[2], cases)
    else:
        check(argv[2], cases)


if __name__ == "__main__":
    main(sys.argv)
