"""Datasets: anything with `__getitem__(i)` and `__len__()`, PyTorch's map-style datasets;
`IterableDataset` for streams that can only be read in order.

`TensorDataset` holds tensors that share their first dimension (the sample axis);
`random_split` cuts a dataset into random, non-overlapping `Subset`s.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any, Generic, TypeVar

import numpy as np

import tinygpt as tg
from tinygpt import ShapeError, Tensor

__all__ = [
    "Dataset",
    "IterableDataset",
    "TensorDataset",
    "Subset",
    "random_split",
    "seed_from_tinygpt",
]


#: the type of a dataset's samples: `class Pairs(Dataset[tuple[Tensor, int]])`, as in PyTorch
T_co = TypeVar("T_co", covariant=True)


class Dataset(Generic[T_co]):
    """Base class of map-style datasets: `dataset[i]` is sample i, `len(dataset)` the count."""

    def __getitem__(self, index: int) -> T_co:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def __add__(self, other: Any) -> Any:
        """`a + b`: the samples of a, then of b (a `ConcatDataset`), as in PyTorch."""
        from .datasets_more import ConcatDataset  # NOTE: late, it subclasses Dataset

        return ConcatDataset([self, other])


class IterableDataset(Generic[T_co]):
    """Base class of stream datasets: `iter(dataset)` yields the samples (a file read line by
    line, a generator). A DataLoader batches consecutive samples; it cannot shuffle them.

    With `num_workers=N` every worker iterates its own copy, so a dataset that does not split
    its stream with `tinygpt.data.get_worker_info()` yields each sample N times (as PyTorch).
    """

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __add__(self, other: Any) -> Any:
        """`a + b`: the stream of a, then of b (a `ChainDataset`), as in PyTorch."""
        from .datasets_more import ChainDataset  # NOTE: late, it subclasses IterableDataset

        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Samples are rows: `dataset[i] == (t[i] for t in tensors)`.

    Every tensor has shape (N, ...) with the same N. `DataLoader` batches a TensorDataset with
    one gather per tensor instead of stacking N samples one by one.

    >>> import tinygpt as tg
    >>> ds = TensorDataset(tg.zeros(5, 3), tg.arange(5))
    >>> len(ds), [tuple(t.shape) for t in ds[2]]
    (5, [(3,), ()])
    """

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        for i, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset: argument {i} is a {type(t).__name__}, not Tensor")
            if t.ndim == 0:
                raise ShapeError(f"TensorDataset: tensor {i} is 0-d; samples need a first dim")
        n = tensors[0].shape[0]
        for i, t in enumerate(tensors):
            if t.shape[0] != n:
                raise ShapeError(
                    f"TensorDataset: tensor {i} has shape {t.shape}, so {t.shape[0]} samples, "
                    f"but tensor 0 has shape {tensors[0].shape}, so {n}; the first dims must match"
                )
        self.tensors = tensors

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = [int(i) for i in indices]

    def __getitem__(self, index: int) -> Any:
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


def seed_from_tinygpt() -> int:
    """A fresh seed from the stream that `tg.manual_seed` resets, so that after
    `tg.manual_seed(s)` shuffles and splits without a `seed` are reproducible too."""
    return int(tg.next_seed())


def random_split(
    dataset: Dataset,
    lengths: Sequence[int | float],
    generator: tg.Generator | None = None,
    *,
    seed: int | None = None,
) -> list[Subset]:
    """Split `dataset` at random into subsets of the given sizes (ints summing to `len`, or
    fractions summing to 1, whose leftover samples go one each to the first subsets).

    The order comes from `seed`, else from a seed drawn from `generator` (PyTorch's argument,
    `tg.Generator().manual_seed(42)`), else from `tg.manual_seed`'s stream.

    >>> import tinygpt as tg
    >>> train, val = random_split(TensorDataset(tg.arange(10)), [0.8, 0.2], seed=0)
    >>> len(train), len(val)
    (8, 2)
    """
    if seed is None and generator is not None:
        seed = int(tg.next_seed(generator))
    if seed is not None and seed < 0:
        raise ValueError(f"random_split: seed must be >= 0, got {seed}")
    n = len(dataset)
    sizes = _split_sizes(n, lengths)
    order = np.random.default_rng(seed_from_tinygpt() if seed is None else seed).permutation(n)
    subsets = []
    start = 0
    for size in sizes:
        subsets.append(Subset(dataset, order[start : start + size].tolist()))
        start += size
    return subsets


def _split_sizes(n: int, lengths: Sequence[int | float]) -> list[int]:
    lengths = list(lengths)
    if any(v < 0 for v in lengths):
        raise ValueError(f"random_split: lengths must be >= 0, got {lengths}")
    if all(isinstance(v, int) for v in lengths):
        if sum(lengths) != n:
            raise ValueError(
                f"random_split: lengths {lengths} sum to {sum(lengths)}, but the dataset has {n} "
                "samples; give sizes that sum to it, or fractions that sum to 1"
            )
        return [int(v) for v in lengths]
    if not math.isclose(sum(lengths), 1.0, abs_tol=1e-6):
        raise ValueError(f"random_split: fractions {lengths} sum to {sum(lengths)}, not 1")
    sizes = [math.floor(n * f) for f in lengths]
    for i in range(n - sum(sizes)):
        sizes[i % len(sizes)] += 1  # like PyTorch: the remainder goes round-robin
    return sizes


# PyTorch's `torch.utils.data.dataset` also holds the combinators of datasets_more.py,
# imported last because they subclass the classes above
from .datasets_more import ChainDataset, ConcatDataset, StackDataset  # noqa: E402

__all__ += ["ChainDataset", "ConcatDataset", "StackDataset"]
