"""numpy side of NpzInteropTest (flower-java-sdk): .npz archives both ways.

Usage:
  python npz_interop.py write DIR   # DIR/savez.npz (np.savez, 12 positional arrays) and
                                    # DIR/compressed.npz (np.savez_compressed, named arrays)
  python npz_interop.py show FILE   # np.load FILE and print "name dtype shape values" per member

The arrays are small functions of their position, so the Java test builds the same ones.
"""

import sys

import numpy as np


def positional():
    return [np.arange(i + 1, dtype=np.float32) * i for i in range(12)]


def write(directory):
    np.savez(f"{directory}/savez.npz", *positional())
    np.savez_compressed(
        f"{directory}/compressed.npz",
        weight=np.arange(6, dtype=np.float64).reshape(2, 3),
        bias=np.array([7, -8], dtype=np.int64),
    )


def show(path):
    with np.load(path, allow_pickle=False) as npz:
        for name in npz.files:
            a = npz[name]
            values = " ".join(repr(v) for v in a.ravel().tolist())
            print(f"{name} {a.dtype} {list(a.shape)} {values}")


def main(argv):
    if len(argv) != 3 or argv[1] not in ("write", "show"):
        raise SystemExit(__doc__)
    if argv[1] == "write":
        write(argv[2])
    else:
        show(argv[2])


if __name__ == "__main__":
    main(sys.argv)
