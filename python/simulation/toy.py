"""The toy client of the simulation benchmark (benchmarks/parts/80-simulation.sh): binary logistic
regression trained by a few steps of minibatch SGD on synthetic data that is a pure function of
(seed, partition id). Its Java twin, dev.flowerjava.benchmarks.simulation.ToyModel, does the same
arithmetic in the same order, so the two simulations can be compared on their final model.

The random numbers come from SplitMix64 over a counter rather than from numpy's generators: a few
lines that Java reproduces bit for bit (numpy uint64 arithmetic wraps like Java's long)."""

import numpy as np

FEATURES = 32
BATCH = 10
LEARNING_RATE = 0.1
SKEW = 0.5  # how far a partition's true weights lie from the shared ones (non-IID labels)
NOISE = 0.1

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_MASK = (1 << 64) - 1


def _stream_key(seed: int, partition: int, stream: int) -> int:
    # distinct (seed, partition, stream) give distinct counters' starting points; multiplying by
    # odd constants keeps it a bijection per component
    return (
        seed * 0xD1B54A32D192ED03 + partition * 0x8CB92BA72F3D8DD7 + stream * 0xABC98388FB8FAC03
    ) & _MASK


def uniform(seed: int, partition: int, stream: int, count: int) -> np.ndarray:
    """count doubles in [0, 1): SplitMix64 finalizer of key + (k + 1) * golden, top 53 bits."""
    with np.errstate(over="ignore"):
        k = np.arange(1, count + 1, dtype=np.uint64)
        z = np.uint64(_stream_key(seed, partition, stream)) + k * _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def num_examples(partition: int) -> int:
    """Partition sizes differ (20 to 44 examples) so that FedAvg's weighting matters."""
    return 20 + partition % 25


def partition_data(seed: int, partition: int) -> tuple[np.ndarray, np.ndarray]:
    """The partition's features (n x FEATURES, in [-1, 1)) and 0/1 labels."""
    n = num_examples(partition)
    shared = 2.0 * uniform(seed, 0, 0, FEATURES) - 1.0
    truth = shared + SKEW * (2.0 * uniform(seed, partition, 1, FEATURES) - 1.0)
    x = (2.0 * uniform(seed, partition, 2, n * FEATURES) - 1.0).reshape(n, FEATURES)
    noise = NOISE * (2.0 * uniform(seed, partition, 3, n) - 1.0)
    y = (x @ truth + noise > 0.0).astype(np.float64)
    return x, y


def initial_model(seed: int) -> list[np.ndarray]:
    """Weights small and seeded (stream 4 of partition 0), bias zero; float64."""
    w = 0.01 * (2.0 * uniform(seed, 0, 4, FEATURES) - 1.0)
    return [w, np.zeros(1, dtype=np.float64)]


def train(model: list[np.ndarray], x: np.ndarray, y: np.ndarray, steps: int) -> list[np.ndarray]:
    """steps of minibatch SGD on the logistic loss; batch t is rows (t*BATCH + r) mod n."""
    w, b = model[0].copy(), float(model[1][0])
    n = len(y)
    for t in range(steps):
        rows = (t * BATCH + np.arange(BATCH)) % n
        xb, yb = x[rows], y[rows]
        p = 1.0 / (1.0 + np.exp(-(xb @ w + b)))
        err = p - yb
        w -= LEARNING_RATE * (xb.T @ err) / BATCH
        b -= LEARNING_RATE * float(err.sum()) / BATCH
    return [w, np.array([b], dtype=np.float64)]


def loss(model: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
    """Mean logistic loss (for reports; not part of the compared arithmetic)."""
    z = x @ model[0] + model[1][0]
    return float(np.mean(np.logaddexp(0.0, z) - y * z))
