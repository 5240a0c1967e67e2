"""Train a small ResNet (residual conv blocks with BatchNorm) on CIFAR-10 images.

    python examples/cifar_resnet.py                        # synthetic CIFAR-shaped data, seconds
    python examples/cifar_resnet.py --data ~/data/cifar10  # real batches (tinygpt.data.CIFAR10)
    python examples/cifar_resnet.py --steps 2000 --width 32 --device cpu

With `--data DIR`, DIR holds CIFAR-10's "python version" batches (`data_batch_1..5`,
`test_batch`, or the folder `cifar-10-batches-py`). Without it, ten random colour patterns
stand in, each sample a noisy copy of one. Exits 1 if the loss does not fall.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from _common import accuracy, loss_fell  # helpers beside this script

import tinygpt as tg
import tinygpt.nn.functional as F
from tinygpt import Tensor, nn
from tinygpt.data import CIFAR10, DataLoader, Dataset, TensorDataset
from tinygpt.optim import Adam


class BasicBlock(nn.Module):
    """relu(bn(conv(relu(bn(conv(x))))) + shortcut(x)): (B, C_in, H, W) -> (B, C_out, H/s, W/s).

    The shortcut is the identity, or a strided 1x1 conv when the shape changes. Adding the
    input back gives gradients a path around every block, which is what lets ResNets go deep.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        # NOTE: bias=False because the BatchNorm right after would cancel any bias anyway
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: Tensor) -> Tensor:
        out = self.bn1(self.conv1(x)).relu()
        out = self.bn2(self.conv2(out))
        return (out + self.shortcut(x)).relu()


class ResNet(nn.Module):
    """(B, 3, 32, 32) -> (B, 10): a stem conv, three stages (width w, 2w, 4w; the last two
    halve the image), global average pooling and a linear classifier."""

    def __init__(self, width: int = 16, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()
        )
        self.stages = nn.Sequential(
            BasicBlock(width, width, 1),
            BasicBlock(width, 2 * width, 2),
            BasicBlock(2 * width, 4 * width, 2),
        )
        self.head = nn.Linear(4 * width, classes)

    def forward(self, x: Tensor) -> Tensor:
        features = self.stages(self.stem(x))  # (B, 4w, H/4, W/4)
        return self.head(features.mean(dim=(2, 3)))  # global average pool -> (B, 4w) -> (B, 10)


def synthetic_cifar(count: int, seed: int, device: str) -> TensorDataset:
    """`count` images (count, 3, 32, 32) in [0, 1] and labels: noisy copies of ten fixed
    random 8x8 colour patterns, scaled up to 32x32."""
    prototypes = np.random.default_rng(1234).random((10, 3, 8, 8))
    prototypes = prototypes.repeat(4, axis=2).repeat(4, axis=3)
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=count)
    noise = rng.normal(0.0, 0.5, size=(count, 3, 32, 32))
    images = np.clip(prototypes[labels] + noise, 0.0, 1.0).astype(np.float32)
    return TensorDataset(tg.tensor(images, device=device), tg.tensor(labels, device=device))


def load(data: str | None, device: str) -> tuple[Dataset, Dataset]:
    """(train, test): real CIFAR-10 from `data`, else the synthetic stand-in."""
    if data is not None:
        return CIFAR10(data, train=True, device=device), CIFAR10(data, train=False, device=device)
    return synthetic_cifar(1024, seed=0, device=device), synthetic_cifar(256, seed=1, device=device)


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
    parser.add_argument("--data", help="folder with the CIFAR-10 batches (default: synthetic)")
    parser.add_argument("--steps", type=int, default=100, help="optimizer steps (default 100)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--width", type=int, default=8, help="channels of the first stage")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--device", help="numpy, cpu, cuda, ... (default: the best available)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    tg.manual_seed(args.seed)
    device = args.device if args.device is not None else str(tg.default_device())
    train_set, test_set = load(args.data, device)
    model = ResNet(args.width).to(device)
    loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, seed=args.seed)
    count = sum(p.numel() for p in model.parameters())
    print(f"ResNet with {count} parameters, {len(train_set)} training images on {device}")
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
