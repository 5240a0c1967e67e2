"""Train a two-layer MLP on MNIST digits and watch the loss fall.

    python examples/mnist_mlp.py                         # synthetic MNIST-shaped digits, seconds
    python examples/mnist_mlp.py --data ~/data/mnist     # the real idx files (tinygpt.data.MNIST)
    python examples/mnist_mlp.py --steps 1000 --device cpu

With `--data DIR`, DIR holds `train-images-idx3-ubyte` & co. (plain or .gz; see
`tinygpt.data.MNIST`). Without it, ten random blurry "digits" stand in, each sample a noisy copy
of one, so the script runs anywhere without a download. Exits 1 if the loss does not fall.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from _common import accuracy, loss_fell  # helpers beside this script

import tinygpt as tg
import tinygpt.nn.functional as F
from tinygpt import nn
from tinygpt.data import MNIST, DataLoader, Dataset, TensorDataset
from tinygpt.optim import Adam


def synthetic_mnist(count: int, seed: int, device: str) -> TensorDataset:
    """`count` images (count, 1, 28, 28) in [0, 1] and labels (count,): noisy copies of ten
    fixed random prototypes (the same ten for every seed, so train and test agree)."""
    prototypes = np.random.default_rng(1234).random((10, 1, 7, 7))
    prototypes = prototypes.repeat(4, axis=2).repeat(4, axis=3)  # blocky 28x28 "strokes"
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=count)
    noise = rng.normal(0.0, 0.5, size=(count, 1, 28, 28))
    images = np.clip(prototypes[labels] + noise, 0.0, 1.0).astype(np.float32)
    return TensorDataset(tg.tensor(images, device=device), tg.tensor(labels, device=device))


def load(data: str | None, device: str) -> tuple[Dataset, Dataset]:
    """(train, test) datasets: real MNIST from `data`, else the synthetic stand-in."""
    if data is not None:
        return MNIST(data, train=True, device=device), MNIST(data, train=False, device=device)
    return synthetic_mnist(2048, seed=0, device=device), synthetic_mnist(512, seed=1, device=device)


def make_model(hidden: int) -> nn.Module:
    """(B, 1, 28, 28) images -> (B, 10) logits."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(28 * 28, hidden),
        nn.ReLU(),
        nn.Linear(hidden, 10),
    )


def train(model: nn.Module, loader: DataLoader, steps: int, lr: float) -> list[float]:
    """`steps` Adam updates over `loader`, cycling through epochs; returns every step's loss."""
    optimizer = Adam(model.parameters(), lr=lr)
    losses: list[float] = []
    while len(losses) < steps:
        for images, labels in loader:
            loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            if len(losses) % max(1, steps // 10) == 0:
                print(f"step {len(losses):5d}  loss {losses[-1]:.4f}")
            if len(losses) == steps:
                break
    return losses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="folder with the MNIST idx files (default: synthetic)")
    parser.add_argument("--steps", type=int, default=300, help="optimizer steps (default 300)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--device", help="numpy, cpu, cuda, ... (default: the best available)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    tg.manual_seed(args.seed)
    device = args.device if args.device is not None else str(tg.default_device())
    train_set, test_set = load(args.data, device)
    model = make_model(args.hidden).to(device)
    loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, seed=args.seed)
    print(f"{len(train_set)} training images on {device}")
    start = time.perf_counter()
    losses = train(model, loader, args.steps, args.lr)
    print(f"trained {args.steps} steps in {time.perf_counter() - start:.1f} s")
    print(f"test accuracy {accuracy(model, test_set):.3f}")
    if not loss_fell(losses):
        print("error: the loss did not fall", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
