"""Loads an .npz with numpy and prints, per array in numpy.load's order, its name, dtype, shape
and the SHA-256 of its C-ordered little-endian bytes, as one JSON object; the checkpoint tests
compare it with the arrays Java wrote.

Usage:
  python npz_digest.py FILE.npz
"""

import hashlib
import json
import sys

import numpy as np


def main():
    out = {}
    with np.load(sys.argv[1]) as npz:
        for name in npz.files:
            a = npz[name]
            data = np.ascontiguousarray(a.astype(a.dtype.newbyteorder("<"), copy=False))
            out[name] = {
                "dtype": str(a.dtype),
                "shape": list(a.shape),
                "sha256": hashlib.sha256(data.tobytes()).hexdigest(),
            }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
