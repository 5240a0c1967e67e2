"""Fetchers: turn one batch's indices into a batch, in the main process or in a worker.

`MapFetcher` reads `dataset[i]` for each index and collates (a `TensorDataset` with the default
collate takes a fast path: one integer-index gather per tensor). `IterableFetcher` takes the
next `batch_size` samples of an `IterableDataset`'s stream. Both pickle, so a worker process can
receive one and call it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import tinygpt as tg
from tinygpt import Tensor

from .dataset import TensorDataset

__all__ = ["Exhausted", "MapFetcher", "IterableFetcher"]


class Exhausted:
    """What a fetcher returns when its stream has no more batches."""


class MapFetcher:
    """indices -> `collate_fn([dataset[i] for i in indices])`; with `batched=False` one index
    -> `dataset[index]` as it is (a DataLoader with batch_size=None)."""

    def __init__(
        self,
        dataset: Any,
        collate_fn: Callable[[list[Any]], Any],
        batched: bool,
        fast: bool,
        convert: Callable[[Any], Any] | None = None,
    ) -> None:
        self.dataset = dataset
        self.collate_fn = collate_fn
        self.batched = batched
        self.fast = fast  # the TensorDataset gather gives the same batch as collate
        self.convert = convert  # applied to each unbatched sample (collate_fn or default_convert)

    def __call__(self, indices: Any) -> Any:
        if not self.batched:
            sample = self.dataset[indices]
            return sample if self.convert is None else self.convert(sample)
        if self.fast and isinstance(self.dataset, TensorDataset):
            if _uses_default_getitem(self.dataset):
                return _gather(self.dataset.tensors, [int(i) for i in indices])
        return self.collate_fn([self.dataset[int(i)] for i in indices])


class IterableFetcher:
    """The next `batch_size` samples of the stream, collated; Exhausted() at its end (a short
    last batch is kept unless `drop_last`). `batch_size=None`: the next sample as it is."""

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None,
        drop_last: bool,
        collate_fn: Callable[[list[Any]], Any],
        convert: Callable[[Any], Any] | None = None,
    ) -> None:
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.collate_fn = collate_fn
        self.convert = convert  # applied to each unbatched sample (collate_fn or default_convert)
        self.stream: Iterator[Any] | None = None
        self.done = False

    def __call__(self, _: Any = None) -> Any:
        if self.done:
            return Exhausted()
        if self.stream is None:
            self.stream = iter(self.dataset)  # NOTE: lazily, so it starts inside the worker
        if self.batch_size is None:
            sample = self._one()
            if self.convert is None or isinstance(sample, Exhausted):
                return sample
            return self.convert(sample)
        samples = []
        for sample in self.stream:
            samples.append(sample)
            if len(samples) == self.batch_size:
                return self.collate_fn(samples)
        self.done = True
        if not samples or self.drop_last:
            return Exhausted()
        return self.collate_fn(samples)

    def _one(self) -> Any:
        assert self.stream is not None
        for sample in self.stream:
            return sample
        self.done = True
        return Exhausted()

    def __getstate__(self) -> dict[str, Any]:
        # a live generator cannot pickle; a worker starts its own stream
        return {**self.__dict__, "stream": None}


def _uses_default_getitem(dataset: TensorDataset) -> bool:
    # subtle: a subclass that overrides __getitem__ (to transform samples) must go the slow way
    return type(dataset).__getitem__ is TensorDataset.__getitem__


def _gather(tensors: Sequence[Tensor], indices: list[int]) -> list[Tensor]:
    """`[t[indices] for t in tensors]` with one index tensor per device: (B, ...) each.

    A list, as default_collate (and PyTorch's) makes of the samples' tuples."""
    on_device: dict[Any, Tensor] = {}
    batch = []
    for t in tensors:
        key = str(t.device)
        if key not in on_device:
            on_device[key] = tg.tensor(indices, dtype=tg.int64, device=t.device)
        batch.append(t[on_device[key]])
    return batch
