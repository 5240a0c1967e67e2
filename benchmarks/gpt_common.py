"""Shared parts of the GPT training benchmark: the data, the schedule, the loop, tinygpt's side.

A runner (`TinygptRunner` here, `TorchRunner` in gpt_torch.py) does one training step on a
numpy batch (`step`), scores a batch without gradients (`loss`) and waits for its device
(`sync`); `run_steps` and `estimate_val_loss` drive either one identically.
"""

from __future__ import annotations

import math
import time
import tracemalloc
from collections import Counter
from pathlib import Path

import numpy as np

__all__ = [
    "TinygptRunner",
    "estimate_val_loss",
    "load_data",
    "lr_at",
    "run_steps",
    "LEARNING_RATE",
    "MIN_LR",
    "WEIGHT_DECAY",
    "BETAS",
]

LEARNING_RATE = 1e-3
MIN_LR = 1e-4
WEIGHT_DECAY = 0.1
BETAS = (0.9, 0.99)
VOCAB = 65


def load_data(path: str | None) -> tuple[np.ndarray, np.ndarray]:
    """(train, val) int64 ids over a 65-symbol vocabulary (see gpt_train.py's docstring)."""
    if path is not None:
        text = Path(path).read_text(encoding="utf-8")
    else:
        from pydoc_data.topics import topics

        text = "".join(topics[key] for key in sorted(topics))
    common = [c for c, _ in Counter(text).most_common(VOCAB - 1)]
    if len(set(text)) <= VOCAB:
        common = sorted(set(text))  # a small alphabet (tiny Shakespeare): one id per character
    stoi = {c: i for i, c in enumerate(sorted(common))}
    other = VOCAB - 1  # the id of every rarer character
    ids = np.array([stoi.get(c, other) for c in text], dtype=np.int64)
    cut = int(len(ids) * 0.9)
    return ids[:cut], ids[cut:]


def lr_at(step: int, steps: int) -> float:
    """nanoGPT's schedule: linear warm-up over the first 10%, cosine down to MIN_LR."""
    warmup = max(steps // 10, 1)
    if step < warmup:
        return LEARNING_RATE * (step + 1) / (warmup + 1)
    ratio = (step - warmup) / max(steps - warmup, 1)
    return MIN_LR + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (LEARNING_RATE - MIN_LR)


def batch(ids: np.ndarray, offsets: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    windows = np.stack([ids[o : o + block + 1] for o in offsets])  # (B, T+1)
    return windows[:, :-1], windows[:, 1:]


def run_steps(runner, train: np.ndarray, block: int, batch_size: int, steps: int, seed: int):
    """Train `steps` steps; returns (seconds per step, training losses)."""
    times, losses = [], []
    for step in range(steps):
        rng = np.random.default_rng([seed, step])  # the same batches for every framework
        x, y = batch(train, rng.integers(0, len(train) - block, size=batch_size), block)
        started = time.perf_counter()
        losses.append(runner.step(x, y, lr_at(step, steps)))
        runner.sync()
        times.append(time.perf_counter() - started)
    return np.array(times), np.array(losses)


def estimate_val_loss(runner, val: np.ndarray, block: int, batch_size: int, batches: int):
    """Mean loss over evenly spread validation windows (the same ones for everyone)."""
    offsets = np.linspace(0, len(val) - block - 1, num=batches * batch_size).astype(np.int64)
    losses = []
    for first in range(0, len(offsets), batch_size):
        x, y = batch(val, offsets[first : first + batch_size], block)
        losses.append(runner.loss(x, y))
    return float(np.mean(losses))


class TinygptRunner:
    """tinygpt's GPT on one device, with train.py's optimizer setup."""

    def __init__(self, config: dict, weights: dict[str, np.ndarray], device: str) -> None:
        import tinygpt as tg
        from tinygpt import nn, optim
        from tinygpt.gpt import GPT, GPTConfig

        self.tg, self.nn, self.device = tg, nn, device
        self.model = GPT(GPTConfig(**config)).to(device)
        self.model.load_state_dict({k: tg.tensor(v) for k, v in weights.items()})
        decay = [p for p in self.model.parameters() if p.ndim >= 2]
        rest = [p for p in self.model.parameters() if p.ndim < 2]
        groups = [
            {"params": decay, "weight_decay": WEIGHT_DECAY},
            {"params": rest, "weight_decay": 0.0},
        ]
        self.optimizer = optim.AdamW(groups, lr=LEARNING_RATE, betas=BETAS)

    def _tensors(self, x: np.ndarray, y: np.ndarray):
        tg = self.tg
        return tg.tensor(x, dtype=tg.int64, device=self.device), tg.tensor(
            y, dtype=tg.int64, device=self.device
        )

    def step(self, x: np.ndarray, y: np.ndarray, lr: float) -> float:
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        _, loss = self.model(*self._tensors(x, y))
        loss.backward()
        self.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.optimizer.zero_grad()
        return loss.item()

    def loss(self, x: np.ndarray, y: np.ndarray) -> float:
        with self.tg.no_grad():
            _, loss = self.model(*self._tensors(x, y))
        return loss.item()

    def sync(self) -> None:
        self.tg.synchronize(self.device)

    def python_peak_mb(self, train: np.ndarray, batch_size: int, lr: float) -> float:
        """Peak of Python-visible allocations (NumPy buffers included) over two steps."""
        rng = np.random.default_rng(0)
        tracemalloc.start()
        for _ in range(2):
            x, y = batch(train, rng.integers(0, len(train) - 65, size=batch_size), 64)
            self.step(x, y, lr)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return peak / 2**20
