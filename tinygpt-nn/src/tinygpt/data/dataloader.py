"""DataLoader: batches of a dataset, in order or shuffled with a seed, and `default_collate`.

Shuffling is reproducible: epoch e uses the permutation drawn from `(seed, e)`, so every epoch
has a new order, two loaders with the same seed agree, and `set_epoch(e)` resumes mid-run.
Without a `seed`, a shuffling loader draws one from `tg.manual_seed`'s stream when it is built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

import tinygpt as tg
from tinygpt import ShapeError, Tensor

from .dataset import Dataset, TensorDataset, seed_from_tinygpt

__all__ = ["DataLoader", "default_collate"]


def default_collate(samples: Sequence[Any]) -> Any:
    """Merge a list of samples into one batch, the way PyTorch's `default_collate` does.

    Tensors of shape S stack into (B, *S); Python/NumPy numbers become a (B,) tensor (bool,
    int64, or float32 as `tg.tensor` would make them); NumPy arrays stack into a tensor;
    tuples, lists and dicts are collated field by field; strings are returned as a list.

    >>> import tinygpt as tg
    >>> batch = default_collate([{"x": tg.zeros(2), "y": 1}, {"x": tg.ones(2), "y": 0}])
    >>> batch["x"].shape, batch["y"].tolist()
    ((2, 2), [1, 0])
    """
    first = samples[0]
    if isinstance(first, Tensor):
        shapes = {tuple(s.shape) for s in samples}
        if len(shapes) > 1:
            raise ShapeError(
                f"default_collate: samples have different shapes {sorted(shapes)}; pad them to "
                "one shape, or pass DataLoader(collate_fn=...)"
            )
        return tg.stack(list(samples))  # (B, *S)
    if isinstance(first, (bool, int, float, np.generic)):
        return tg.tensor(np.array(samples) if isinstance(first, np.generic) else list(samples))
    if isinstance(first, np.ndarray):
        return tg.tensor(np.stack(samples))
    if isinstance(first, (str, bytes)):
        return list(samples)
    if isinstance(first, Mapping):
        for sample in samples:
            if set(sample) != set(first):
                raise ValueError(
                    f"default_collate: samples have different keys: {sorted(first)} and "
                    f"{sorted(sample)}"
                )
        return {key: default_collate([sample[key] for sample in samples]) for key in first}
    if isinstance(first, (tuple, list)):
        for sample in samples:
            if len(sample) != len(first):
                raise ValueError(
                    f"default_collate: samples have different lengths: {len(first)} and "
                    f"{len(sample)}"
                )
        fields = [default_collate(list(field)) for field in zip(*samples)]
        return tuple(fields) if isinstance(first, tuple) else fields
    raise TypeError(
        f"default_collate: cannot batch samples of type {type(first).__name__}; pass "
        "DataLoader(collate_fn=...)"
    )


class DataLoader:
    """Iterate over `dataset` in batches of `batch_size` samples.

    Each batch is `collate_fn([dataset[i] for i in batch_indices])` (`default_collate` when
    None). A `TensorDataset` with the default collate takes a fast path: one integer-index
    gather per tensor, giving the same batches as stacking.

    >>> import tinygpt as tg
    >>> from tinygpt.data import TensorDataset
    >>> loader = DataLoader(TensorDataset(tg.arange(10)), batch_size=4)
    >>> [x.tolist() for (x,) in loader], len(loader)
    ([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]], 3)
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
        collate_fn: Callable[[list[Any]], Any] | None = None,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        if seed is not None and seed < 0:
            raise ValueError(f"DataLoader: seed must be >= 0, got {seed}")
        # NOTE: drawn only when shuffling, so an in-order loader leaves tg's random stream alone
        self.seed = seed_from_tinygpt() if seed is None and shuffle else seed
        self.collate_fn = collate_fn
        self.epoch = 0  # the next __iter__ shuffles with (seed, epoch)

    def __len__(self) -> int:
        n = len(self.dataset)
        if self.drop_last:
            return n // self.batch_size
        return -(-n // self.batch_size)  # ceil

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration use epoch `epoch`'s order (to resume a run)."""
        self.epoch = int(epoch)

    def indices(self) -> np.ndarray:
        """The sample order of the current epoch, (N,) int64."""
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n, dtype=np.int64)
        if self.seed is None:
            self.seed = seed_from_tinygpt()
        return np.random.default_rng([self.seed, self.epoch]).permutation(n)

    def __iter__(self) -> Iterator[Any]:
        order = self.indices()
        self.epoch += 1
        for b in range(len(self)):
            yield self._batch(order[b * self.batch_size : (b + 1) * self.batch_size])

    def _batch(self, indices: np.ndarray) -> Any:
        dataset = self.dataset
        if self.collate_fn is None and isinstance(dataset, TensorDataset):
            if _uses_default_getitem(dataset):
                return _gather(dataset.tensors, indices)
        samples = [self.dataset[int(i)] for i in indices]
        collate = default_collate if self.collate_fn is None else self.collate_fn
        return collate(samples)

    def __repr__(self) -> str:
        return (
            f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, batch_size="
            f"{self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last})"
        )


def _uses_default_getitem(dataset: TensorDataset) -> bool:
    # subtle: a subclass that overrides __getitem__ (to transform samples) must go the slow way
    return type(dataset).__getitem__ is TensorDataset.__getitem__


def _gather(tensors: Sequence[Tensor], indices: np.ndarray) -> tuple[Tensor, ...]:
    """`(t[indices] for t in tensors)` with one index tensor per device: (B, ...) each."""
    on_device: dict[Any, Tensor] = {}
    batch = []
    for t in tensors:
        key = str(t.device)
        if key not in on_device:
            on_device[key] = tg.tensor(indices, dtype=tg.int64, device=t.device)
        batch.append(t[on_device[key]])
    return tuple(batch)
