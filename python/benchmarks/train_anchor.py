"""The Python anchor of benchmarks/parts/70-training.sh: training speed of the quickstart CNN in
PyTorch, the twin of the Java TrainingBenchmark (dev.flowerjava.examples.cifar).

Loads the first batches x batch_size CIFAR-10 training images into memory (normalised floats, not
timed), trains a few batches to warm up, then times `repeats` epochs over them with the training
loop of python/mixed/torch_client.py (the quickstart's: zero_grad, forward, cross-entropy,
backward, SGD step with momentum 0.9 and lr 0.001, loss.item() and the accuracy count every
batch). Prints one JSON line; images per CPU-second use the process CPU time.

Run with .venv/torch/bin/python (Debian's python3-torch with OpenBLAS)."""

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "python" / "mixed"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch_client import Net, load_split, to_tensor  # noqa: E402


def train_epoch(net, optimizer, x_all, y_all, batch_size, generator):
    """One epoch of torch_client.train's loop over data already in memory as normalised floats."""
    net.train()
    loss_sum, correct, seen = 0.0, 0, 0
    order = torch.randperm(len(y_all), generator=generator)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        x, y = x_all[idx], y_all[idx]
        optimizer.zero_grad()
        logits = net(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        optimizer.step()
        loss_sum += loss.item() * len(idx)
        correct += (logits.argmax(1) == y).sum().item()
        seen += len(idx)
    return loss_sum / seen


def loaded_blas():
    """The BLAS library this process loaded (Debian's torch links libblas.so.3, an alternative)."""
    libs = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if "blas" in path:
                libs.add(Path(path).resolve().as_posix())
    return ", ".join(sorted(libs)) or "none found"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=REPO / ".cache" / "cifar10")
    args = parser.parse_args()
    for name in ("threads", "batch_size", "batches", "warmup", "repeats"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be > 0, got {getattr(args, name)}")
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    n = args.batches * args.batch_size
    images, labels = load_split(args.data_dir, train=True, limit=n)
    if len(labels) < n:
        raise SystemExit(f"need {n} training images, the data set has {len(labels)}")
    x_all, y_all = to_tensor(images), torch.from_numpy(labels)
    torch.manual_seed(42)
    generator = torch.Generator().manual_seed(42)
    net = Net()
    warm = min(n, args.warmup * args.batch_size)
    # a new optimizer per epoch, as the Java trainer starts one per train() call
    optimizer = torch.optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
    train_epoch(net, optimizer, x_all[:warm], y_all[:warm], args.batch_size, generator)
    rates, cpu_rates = [], []
    loss = float("nan")
    for _ in range(args.repeats):
        cpu_start = time.process_time()
        start = time.perf_counter()
        optimizer = torch.optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
        loss = train_epoch(net, optimizer, x_all, y_all, args.batch_size, generator)
        rates.append(n / (time.perf_counter() - start))
        cpu_rates.append(n / (time.process_time() - cpu_start))
    print(
        json.dumps(
            {
                "side": "pytorch",
                "images_per_second": [round(x, 1) for x in rates],
                "images_per_cpu_second": [round(x, 1) for x in cpu_rates],
                "batch_size": args.batch_size,
                "batches": args.batches,
                "warmup_batches": warm // args.batch_size,
                "intra_op_threads": torch.get_num_threads(),
                "inter_op_threads": torch.get_num_interop_threads(),
                "torch": torch.__version__,
                "blas": loaded_blas(),
                "last_loss": round(loss, 4),
            }
        )
    )


if __name__ == "__main__":
    main()
