"""The PyTorch side of a mixed federation: a Flower NumPyClient training the quickstart CNN with
PyTorch on one IID partition of CIFAR-10, next to Java DJL clients, on the Java server or on
flwr's start_server. Runs in .venv/torch (scripts/setup-python-torch.sh).

Its parameters are the module's state_dict, in order: the same ten float32 tensors, names and
shapes as the Java CifarNet, so FedAvg can average the two kinds of clients.

The data comes from <repo>/.cache/cifar10 (scripts/fetch-cifar10.sh): data_batch_1..5.png and
test_batch.png, 1024 pixels wide, one 32x32 RGB image per row, plus the label arrays
train_lables.json / test_lables.json. The partition is computed exactly like the Java
Partitioner.iid(numPartitions, seed) (java.util.Random's generator and Fisher-Yates shuffle), so a
Java client on partition 0 and this client on partition 1 hold complementary halves.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

REPO = Path(__file__).resolve().parents[2]


class Net(nn.Module):
    """conv(3->6, 5x5), pool, conv(6->16, 5x5), pool, fc 400->120->84->10."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


# ------------------------------------------------------------------------------------------ data


def load_split(directory: Path, train: bool, limit=None):
    """Images as uint8 (N, 3, 32, 32) and labels as int64 (N,), in file order."""
    names = [f"data_batch_{i}.png" for i in range(1, 6)] if train else ["test_batch.png"]
    labels = np.asarray(
        json.loads(
            (directory / ("train_lables.json" if train else "test_lables.json")).read_text()
        ),
        dtype=np.int64,
    )
    parts = []
    have = 0
    for name in names:
        if limit is not None and have >= limit:
            break
        with Image.open(directory / name) as im:
            if im.mode != "RGB" or im.width != 1024:
                raise ValueError(
                    f"{directory / name}: expected 1024-wide RGB, got {im.mode} {im.size}"
                )
            rows = np.asarray(im, dtype=np.uint8)  # (images, 1024 pixels, 3 channels)
        parts.append(rows)
        have += rows.shape[0]
    pixels = np.concatenate(parts)
    if limit is None and pixels.shape[0] != labels.shape[0]:
        raise ValueError(f"{pixels.shape[0]} images but {labels.shape[0]} labels in {directory}")
    n = pixels.shape[0] if limit is None else min(limit, pixels.shape[0])
    images = pixels[:n].transpose(0, 2, 1).reshape(n, 3, 32, 32)  # pixel p = y*32+x -> CHW
    return np.ascontiguousarray(images), labels[:n]


class JavaRandom:
    """java.util.Random's 48-bit linear congruential generator (nextInt(bound) only)."""

    MULTIPLIER = 0x5DEECE66D
    MASK = (1 << 48) - 1

    def __init__(self, seed: int):
        self.state = (seed ^ self.MULTIPLIER) & self.MASK

    def _next31(self) -> int:
        self.state = (self.state * self.MULTIPLIER + 0xB) & self.MASK
        return self.state >> 17

    def next_int(self, bound: int) -> int:
        if bound & (bound - 1) == 0:  # a power of two: take the high bits
            return (bound * self._next31()) >> 31
        while True:
            bits = self._next31()
            value = bits % bound
            if bits - value + (bound - 1) < (1 << 31):  # reject the incomplete last interval
                return value


def iid_partition(n: int, num_partitions: int, partition_id: int, seed: int) -> np.ndarray:
    """The indices of Partitioner.iid(num_partitions, seed).partition(labels, partition_id)."""
    rng = JavaRandom(seed)
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        j = rng.next_int(i + 1)
        order[i], order[j] = order[j], order[i]
    base, extra = divmod(n, num_partitions)
    start = partition_id * base + min(partition_id, extra)
    size = base + (1 if partition_id < extra else 0)
    return np.sort(np.asarray(order[start : start + size], dtype=np.int64))


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 images to floats normalised like the quickstart: (x / 255 - 0.5) / 0.5."""
    return (torch.from_numpy(images).float() / 255.0 - 0.5) / 0.5


# -------------------------------------------------------------------------------------- training


def train(net, images, labels, epochs, batch_size, lr, seed):
    """SGD with momentum 0.9 on shuffled batches; returns (mean loss, accuracy) over all steps."""
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    generator = torch.Generator().manual_seed(seed)
    x_all, y_all = to_tensor(images), torch.from_numpy(labels)
    net.train()
    loss_sum, correct, seen = 0.0, 0, 0
    for _ in range(epochs):
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
    return loss_sum / seen, correct / seen


@torch.no_grad()
def test(net, images, labels, batch_size=1000):
    net.eval()
    loss_sum, correct = 0.0, 0
    for start in range(0, len(labels), batch_size):
        x = to_tensor(images[start : start + batch_size])
        y = torch.from_numpy(labels[start : start + batch_size])
        logits = net(x)
        loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
    return loss_sum / len(labels), correct / len(labels)


def get_weights(net):
    return [v.detach().cpu().numpy().astype(np.float32) for v in net.state_dict().values()]


def set_weights(net, arrays):
    keys = list(net.state_dict().keys())
    if len(arrays) != len(keys):
        raise ValueError(f"expected {len(keys)} tensors {keys}, got {len(arrays)}")
    state = {}
    for key, array in zip(keys, arrays, strict=True):
        want = tuple(net.state_dict()[key].shape)
        if tuple(array.shape) != want:
            raise ValueError(f"{key}: expected shape {want}, got {tuple(array.shape)}")
        state[key] = torch.from_numpy(np.array(array, dtype=np.float32))
    net.load_state_dict(state, strict=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="127.0.0.1:8080", help="host:port")
    parser.add_argument("--partition-id", type=int, default=1)
    parser.add_argument("--num-partitions", type=int, default=2)
    parser.add_argument("--seed", type=int, default=42, help="partitioning seed, as the Java side")
    parser.add_argument("--local-epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.001)
    parser.add_argument("--max-train", type=int, help="use at most this many of the partition")
    parser.add_argument("--max-test", type=int, help="use at most this many test images")
    parser.add_argument("--threads", type=int, help="torch intra-op threads")
    parser.add_argument("--data-dir", type=Path, default=REPO / ".cache" / "cifar10")
    args = parser.parse_args()

    from flwr.client import NumPyClient, start_client  # after argparse: --help stays fast

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed * 31 + args.partition_id)
    images, labels = load_split(args.data_dir, train=True)
    idx = iid_partition(len(labels), args.num_partitions, args.partition_id, args.seed)
    if args.max_train is not None:
        idx = idx[: args.max_train]
    train_x, train_y = images[idx], labels[idx]
    test_x, test_y = load_split(args.data_dir, train=False, limit=args.max_test)
    print(
        f"torch client {args.partition_id}/{args.num_partitions}: {len(train_y)} train, "
        f"{len(test_y)} test images; torch {torch.__version__}",
        flush=True,
    )
    net = Net()

    class TorchClient(NumPyClient):
        def __init__(self):
            self.fits = 0

        def get_parameters(self, config):
            return get_weights(net)

        def fit(self, parameters, config):
            set_weights(net, parameters)
            self.fits += 1
            started = time.monotonic()
            loss, accuracy = train(
                net,
                train_x,
                train_y,
                int(config.get("local-epochs", args.local_epochs)),
                int(config.get("batch-size", args.batch_size)),
                float(config.get("lr", args.lr)),
                seed=args.seed * 1_000_003 + self.fits,
            )
            print(
                f"fit {self.fits}: train loss {loss:.4f}, accuracy {accuracy:.4f} "
                f"({time.monotonic() - started:.1f} s)",
                flush=True,
            )
            return get_weights(net), len(train_y), {"train_loss": loss, "train_accuracy": accuracy}

        def evaluate(self, parameters, config):
            set_weights(net, parameters)
            loss, accuracy = test(net, test_x, test_y)
            print(f"evaluate: loss {loss:.4f}, accuracy {accuracy:.4f}", flush=True)
            return loss, len(test_y), {"accuracy": accuracy}

    client = TorchClient()
    start_client(
        server_address=args.server, client=client.to_client(), insecure=True, max_wait_time=120
    )
    print(f"torch client finished after {client.fits} fit rounds", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
