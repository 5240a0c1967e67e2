"""Loss on held-out text, and loading a trained run back for sampling or evaluation.

`estimate_loss` averages the loss over fixed windows (the same ones at every evaluation
during training); `evaluate_ids` covers a whole token stream in consecutive windows, which
is what `tinygpt eval --data FILE` reports.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import tinygpt as tg
from tinygpt import nn

from .config import GPTConfig, TrainConfig
from .data import eval_offsets, get_batch
from .model import GPT
from .runs import RunError, load_checkpoint, load_run_tokenizer, misfit_error, read_run_config
from .tokenizers import Tokenizer

#: called after each batch of an evaluation with (windows done, windows in all, mean loss so far)
Progress = Callable[[int, int, float], None]

__all__ = [
    "LoadedRun",
    "Progress",
    "estimate_loss",
    "evaluate_ids",
    "load_run",
    "loss_over_offsets",
    "perplexity",
]


def loss_over_offsets(
    model: GPT,
    ids: np.ndarray,
    offsets: np.ndarray,
    batch_size: int,
    device: Any = None,
    progress: Progress | None = None,
) -> float:
    """Mean next-token loss over the windows starting at `offsets` (eval mode, no grad);
    `progress` hears about each batch (see `Progress`)."""
    block_size = model.config.block_size
    was_training = model.training
    model.eval()
    total = 0.0
    count = 0
    try:
        with tg.no_grad():
            for first in range(0, len(offsets), batch_size):
                chunk = offsets[first : first + batch_size]
                x, y = get_batch(ids, chunk, block_size, device)
                _, loss = model(x, y)
                assert loss is not None
                total += loss.item() * len(chunk)  # weight by rows: the last chunk is short
                count += len(chunk)
                if progress is not None:
                    progress(count, len(offsets), total / count)
    finally:
        model.train(was_training)
    return total / count


def estimate_loss(
    model: GPT, ids: np.ndarray, batch_size: int, batches: int, device: Any = None
) -> float:
    """Validation loss during training: `batches` x `batch_size` evenly spread windows."""
    offsets = eval_offsets(len(ids), model.config.block_size, batches * batch_size)
    return loss_over_offsets(model, ids, offsets, batch_size, device)


def evaluate_ids(
    model: GPT,
    ids: np.ndarray,
    batch_size: int,
    max_windows: int | None = None,
    device: Any = None,
    progress: Progress | None = None,
) -> tuple[float, int]:
    """(mean loss, tokens scored) over consecutive non-overlapping windows of `ids`.

    With `max_windows`, that many windows spread evenly over the text instead.
    """
    block_size = model.config.block_size
    last = len(ids) - block_size - 1
    if last < 0:
        raise ValueError(
            f"the text has {len(ids)} tokens, fewer than the model's block_size + 1 = "
            f"{block_size + 1}; evaluate on more text"
        )
    offsets = np.arange(0, last + 1, block_size, dtype=np.int64)
    if max_windows is not None and len(offsets) > max_windows:
        offsets = eval_offsets(len(ids), block_size, max_windows)
    loss = loss_over_offsets(model, ids, offsets, batch_size, device, progress)
    return loss, len(offsets) * block_size


@dataclass
class LoadedRun:
    """A trained model with its tokenizer and configs, as read from a run folder."""

    run_dir: Path
    model: GPT
    tokenizer: Tokenizer
    train_config: TrainConfig
    step: int
    checkpoint: Path


def load_run(run_dir: Path, which: str = "best", device: Any = None) -> LoadedRun:
    """Build the model of `run_dir` from its `best` (or `last`) checkpoint on `device`.

    "best" falls back to "last" when the run never evaluated (no best checkpoint yet).
    """
    if which not in ("best", "last"):
        raise RunError(f"--checkpoint must be 'best' or 'last', got {which!r}")
    path = run_dir / f"{which}.safetensors"
    if which == "best" and not path.exists():
        path = run_dir / "last.safetensors"
    if not path.exists():
        raise RunError(f"{run_dir} has no checkpoint yet (no {path.name})")
    saved = read_run_config(run_dir)
    model_config = GPTConfig.from_dict(saved["model"])
    train_config = TrainConfig.from_dict(saved["train"])
    tokenizer = load_run_tokenizer(run_dir)
    checkpoint = load_checkpoint(path, device=device)
    model = GPT(model_config).to(device)
    try:
        model.load_state_dict(checkpoint.model)
    except nn.StateDictError as error:
        raise misfit_error(path, error) from error
    model.eval()
    return LoadedRun(run_dir, model, tokenizer, train_config, checkpoint.step, path)


def perplexity(loss: float) -> float:
    """exp(loss), or inf when that overflows (an untrained model on a huge vocabulary)."""
    try:
        return math.exp(loss)
    except OverflowError:
        return math.inf
