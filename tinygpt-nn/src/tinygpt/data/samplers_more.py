"""More of PyTorch's samplers: `WeightedRandomSampler` (indices drawn in proportion to
weights) and `DistributedSampler` (each process of a data-parallel run reads its own share).

    sampler = DistributedSampler(dataset)          # rank and world size from tinygpt.distributed
    loader = DataLoader(dataset, batch_size=32, sampler=sampler)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)                   # a new shuffle each epoch, the same on all ranks
        for batch in loader: ...

NOTE: the shuffles are NumPy permutations seeded like PyTorch's (`seed + epoch`), so every
rank agrees on the order, but the orders are not PyTorch's own.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence, Sized
from typing import Any

import numpy as np

import tinygpt as tg

from .sampler import Sampler, _EpochSeeded

__all__ = ["DistributedSampler", "WeightedRandomSampler"]


class WeightedRandomSampler(_EpochSeeded):
    """`num_samples` indices in [0, len(weights)), index i drawn with probability
    `weights[i] / sum(weights)`; without `replacement` each index at most once.

    Seeded per epoch like `RandomSampler` (see sampler.py).

    >>> list(WeightedRandomSampler([0.0, 1.0, 0.0], 3, seed=0))
    [1, 1, 1]
    """

    def __init__(
        self,
        weights: Sequence[float] | Any,
        num_samples: int,
        replacement: bool = True,
        generator: tg.Generator | None = None,
        *,
        seed: int | None = None,
    ) -> None:
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples <= 0:
            raise ValueError(
                f"WeightedRandomSampler: num_samples should be a positive integer value, but "
                f"got num_samples={num_samples!r}"
            )
        if not isinstance(replacement, bool):
            raise ValueError(
                f"WeightedRandomSampler: replacement should be a boolean value, but got "
                f"replacement={replacement!r}"
            )
        values = weights.tolist() if hasattr(weights, "tolist") else list(weights)
        w = np.asarray(values, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(
                f"WeightedRandomSampler: weights should be a 1d sequence but given weights "
                f"have shape {w.shape}"
            )
        if (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
            raise RuntimeError(
                "WeightedRandomSampler: weights must be finite, >= 0, with a positive sum"
            )
        if not replacement and num_samples > int((w > 0).sum()):
            raise RuntimeError(
                f"WeightedRandomSampler: cannot draw {num_samples} samples without replacement "
                f"from {int((w > 0).sum())} indices of non-zero weight"
            )
        self.weights = tg.tensor(w, dtype=tg.float64)
        self._probs = w / w.sum()
        self.num_samples = num_samples
        self.replacement = replacement
        super().__init__(seed, generator)

    def __iter__(self) -> Iterator[int]:
        rng = self._next_rng()
        n = len(self._probs)
        drawn = rng.choice(n, size=self.num_samples, replace=self.replacement, p=self._probs)
        return iter(drawn.tolist())

    def __len__(self) -> int:
        return self.num_samples


class DistributedSampler(Sampler):
    """This rank's share of the dataset: indices `rank, rank + R, rank + 2R, ...` of the
    (shuffled) order, for R = `num_replicas` processes. PyTorch's rules:

    - every rank gets `num_samples` indices: ceil(N / R), the order padded by repeating its
      start; with `drop_last`, floor(N / R) and the tail dropped instead;
    - with `shuffle`, epoch e's order is a permutation seeded by `seed + e`, the same on every
      rank; call `set_epoch(e)` before each epoch (the DataLoader does not advance it).

    `num_replicas` and `rank` default to `tinygpt.distributed`'s world size and rank once it
    is initialized, else to 1 and 0 (a run of one process).

    >>> list(DistributedSampler(range(5), num_replicas=2, rank=1, shuffle=False))
    [1, 3, 0]
    """

    #: the DataLoader leaves the epoch to `set_epoch` (see DataLoader.__iter__)
    follows_loader_epoch = False

    def __init__(
        self,
        dataset: Sized,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if num_replicas is None:
            num_replicas = _world_default("world_size", 1)
        if rank is None:
            rank = _world_default("rank", 0)
        if num_replicas <= 0:
            raise ValueError(f"DistributedSampler: num_replicas must be >= 1, got {num_replicas}")
        if rank >= num_replicas or rank < 0:
            raise ValueError(
                f"DistributedSampler: invalid rank {rank}, rank should be in the interval "
                f"[0, {num_replicas - 1}]"
            )
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        self.shuffle = shuffle
        self.seed = seed
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            # drop the tail so every rank gets the same number of samples
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            indices = np.random.default_rng(self.seed + self.epoch).permutation(n).tolist()
        else:
            indices = list(range(n))
        if self.drop_last:
            indices = indices[: self.total_size]
        else:
            indices = _pad_by_repeating(indices, self.total_size)
        return iter(indices[self.rank : self.total_size : self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Shuffle the next iteration with `seed + epoch` (call it before every epoch)."""
        self.epoch = int(epoch)


def _pad_by_repeating(indices: list[int], total: int) -> list[int]:
    """`indices` made `total` long by repeating it from its start (as often as needed)."""
    padding = total - len(indices)
    if padding <= 0 or not indices:
        return indices
    repeats = math.ceil(padding / len(indices))
    return indices + (indices * repeats)[:padding]


def _world_default(name: str, fallback: int) -> int:
    """tinygpt.distributed's rank or world size when a group is initialized, else fallback."""
    import tinygpt.distributed as dist

    if not dist.is_initialized():
        return fallback
    return int(getattr(dist, name)())
