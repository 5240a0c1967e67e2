"""Helpers the example scripts share: the success check and classification accuracy."""

from __future__ import annotations

import tinygpt as tg
from tinygpt import nn
from tinygpt.data import DataLoader, Dataset

__all__ = ["accuracy", "loss_fell"]


@tg.no_grad()
def accuracy(model: nn.Module, dataset: Dataset, batch_size: int = 128) -> float:
    """The fraction of `dataset` the model classifies right (in eval mode, e.g. BatchNorm)."""
    model.eval()  # BatchNorm uses its running statistics now
    correct = 0
    for images, labels in DataLoader(dataset, batch_size=batch_size):
        correct += int((model(images).argmax(dim=1) == labels).sum().item())
    model.train()
    return correct / len(dataset)


def loss_fell(losses: list[float]) -> bool:
    """True when the mean of the last tenth of the losses is below 80% of the first tenth's."""
    k = max(1, len(losses) // 10)
    first = sum(losses[:k]) / k
    last = sum(losses[-k:]) / k
    print(f"loss {first:.4f} -> {last:.4f} (mean of the first and last {k} steps)")
    return last < 0.8 * first
