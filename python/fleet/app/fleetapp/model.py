"""The tiny 'model' both sides of the interop tests agree on."""

import numpy as np

ARRAY_NAMES = ("w", "b")


def initial_arrays(big_values: int = 0, big_arrays: int = 1) -> dict[str, np.ndarray]:
    """Deterministic starting point: w = [[0,.1,.2],[.3,.4,.5]], b = 0; with big_values > 0 also
    an array "big" of that many float32 values, to make a model larger than one object chunk, and
    with big_arrays > 1 more such arrays "big1", "big2", ... (one array holds < 2 GiB)."""
    arrays = {
        "w": (np.arange(6, dtype=np.float32) / 10.0).reshape(2, 3),
        "b": np.zeros(3, dtype=np.float32),
    }
    if big_values > 0:
        for i in range(big_arrays):
            arrays["big" if i == 0 else f"big{i}"] = np.linspace(
                -1.0, 1.0, big_values, dtype=np.float32
            )
    return arrays


def local_update(arrays: dict[str, np.ndarray], partition_id: int) -> dict[str, np.ndarray]:
    """What a node's 'training' does: add 0.1 * (partition_id + 1) to every entry."""
    step = np.float32(0.1 * (partition_id + 1))
    return {name: (arr + step).astype(arr.dtype) for name, arr in arrays.items()}


def num_examples(partition_id: int) -> int:
    """Weight a node reports: 10 * (partition_id + 1)."""
    return 10 * (partition_id + 1)
