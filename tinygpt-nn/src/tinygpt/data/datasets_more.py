"""Datasets built from other datasets, PyTorch's combinators: `ConcatDataset` (one after the
other, indexable), `ChainDataset` (streams one after the other) and `StackDataset` (samples
zipped side by side, as a tuple or a dict).

    train = ConcatDataset([part1, part2])        # also: part1 + part2
    pairs = StackDataset(images, labels)         # pairs[i] == (images[i], labels[i])
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from typing import Any

from .dataset import Dataset, IterableDataset

__all__ = ["ChainDataset", "ConcatDataset", "StackDataset"]


class ConcatDataset(Dataset):
    """The samples of several map-style datasets, one dataset after the other.

    `cumulative_sizes[k]` is the number of samples in datasets 0..k, as in PyTorch.

    >>> ds = ConcatDataset([[10, 11], [20, 21, 22]])
    >>> len(ds), ds[1], ds[2], ds[-1]
    (5, 11, 20, 22)
    """

    def __init__(self, datasets: Iterable[Any]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for i, ds in enumerate(self.datasets):
            if isinstance(ds, IterableDataset):
                raise TypeError(
                    f"ConcatDataset: dataset {i} is an IterableDataset, which has no indices; "
                    "use ChainDataset for streams"
                )
        self.cumulative_sizes = _cumulative([len(ds) for ds in self.datasets])

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> Any:
        n = len(self)
        if index < 0:
            if -index > n:
                raise ValueError(f"ConcatDataset: index {index} is out of range for {n} samples")
            index += n
        if index >= n:
            raise IndexError(f"ConcatDataset: index {index} is out of range for {n} samples")
        # which dataset: the first whose cumulative size exceeds the index
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which > 0 else 0
        return self.datasets[which][index - start]


def _cumulative(sizes: list[int]) -> list[int]:
    total = 0
    out = []
    for size in sizes:
        total += size
        out.append(total)
    return out


class ChainDataset(IterableDataset):
    """Stream datasets chained: every sample of the first, then of the second, ...

    >>> list(ChainDataset([range(2), range(3)]))
    [0, 1, 0, 1, 2]
    """

    def __init__(self, datasets: Iterable[Any]) -> None:
        self.datasets = list(datasets)

    def __iter__(self) -> Iterator[Any]:
        for ds in self.datasets:
            yield from ds

    def __len__(self) -> int:
        return sum(len(ds) for ds in self.datasets)


class StackDataset(Dataset):
    """Zip datasets of equal length: positional ones give tuple samples, keyword ones dicts.

    >>> StackDataset([1, 2], ["a", "b"])[1]
    (2, 'b')
    >>> StackDataset(x=[1, 2], y=["a", "b"])[0]
    {'x': 1, 'y': 'a'}
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args and kwargs:
            raise ValueError(
                "StackDataset: pass datasets as positional arguments (tuple samples) or as "
                "keywords (dict samples), not both"
            )
        parts = list(args) if args else list(kwargs.values())
        if not parts:
            raise ValueError("StackDataset: at least one dataset should be passed")
        lengths = [len(ds) for ds in parts]
        if len(set(lengths)) != 1:
            raise ValueError(f"StackDataset: size mismatch between datasets: lengths {lengths}")
        self._length = lengths[0]
        self.datasets: tuple[Any, ...] | dict[str, Any] = tuple(args) if args else dict(kwargs)

    def __getitem__(self, index: int) -> Any:
        if isinstance(self.datasets, dict):
            return {key: ds[index] for key, ds in self.datasets.items()}
        return tuple(ds[index] for ds in self.datasets)

    def __getitems__(self, indices: list[int]) -> list[Any]:
        """A batch of samples (PyTorch's batched fetch): one `[i]` per index and dataset."""
        return [self[i] for i in indices]

    def __len__(self) -> int:
        return self._length
