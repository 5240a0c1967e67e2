"""The loss-curve picture of a run, drawn with matplotlib when it is installed.

matplotlib is optional (`pip install tinygpt-gpt[plot]`): without it, `plot_losses` returns
None and the run goes on; the numbers are in metrics.jsonl either way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["plot_losses"]


def plot_losses(records: list[dict[str, Any]], path: str | os.PathLike[str]) -> Path | None:
    """Draw train and validation loss against step into `path` (PNG); None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # NOTE: no display needed: training often runs on a server
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    train = [(r["step"], r["train_loss"]) for r in records if "train_loss" in r]
    val = [(r["step"], r["val_loss"]) for r in records if "val_loss" in r]
    figure, axes = plt.subplots(figsize=(7, 4), dpi=100)
    if train:
        axes.plot(*zip(*train), label="train", linewidth=1, alpha=0.8)
    if val:
        axes.plot(*zip(*val), label="validation", marker="o", markersize=3)
    axes.set_xlabel("step")
    axes.set_ylabel("loss (nats/token)")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return Path(path)
