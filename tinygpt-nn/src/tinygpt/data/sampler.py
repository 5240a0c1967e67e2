"""Samplers: the order in which a DataLoader visits a map-style dataset, PyTorch's classes.

A sampler is an iterable of indices (`SequentialSampler`, `RandomSampler`,
`SubsetRandomSampler`); a `BatchSampler` groups one into lists of indices. Random samplers are
seeded per epoch, like the DataLoader: epoch e draws from `(seed, e)`, each `iter()` moves to
the next epoch, and `set_epoch(e)` jumps to one (to resume). Without a `seed` one is drawn from
`generator` (a `tg.Generator`, PyTorch's argument) or else from `tg.manual_seed`'s stream when
the sampler is built.

>>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
[[0, 1], [2, 3], [4]]
>>> sorted(RandomSampler(range(4), seed=0)) == [0, 1, 2, 3]
True
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Any, Generic, TypeVar

import numpy as np

import tinygpt as tg

from .dataset import seed_from_tinygpt

__all__ = [
    "pick_seed",
    "Sampler",
    "SequentialSampler",
    "RandomSampler",
    "SubsetRandomSampler",
    "BatchSampler",
]


#: what a sampler yields: `class MySampler(Sampler[int])` (or lists of ints), as in PyTorch
T_co = TypeVar("T_co", covariant=True)


class Sampler(Generic[T_co]):
    """Base class: `iter(sampler)` yields dataset indices; `len(sampler)` counts them."""

    def __init__(self, data_source: Any = None) -> None:
        # NOTE: the argument older PyTorch took (2.13 dropped it), accepted because custom samplers
        # written for it call `super().__init__(data_source)`; nothing is stored
        del data_source

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class _EpochSeeded(Sampler):
    """Shared by the random samplers: a seed, and the epoch the next `iter()` uses."""

    def __init__(self, seed: int | None, generator: tg.Generator | None) -> None:
        self.seed = pick_seed(type(self).__name__, seed, generator)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration use epoch `epoch`'s order."""
        self.epoch = int(epoch)

    def _next_rng(self) -> np.random.Generator:
        rng = np.random.default_rng([self.seed, self.epoch])
        self.epoch += 1
        return rng


class RandomSampler(_EpochSeeded):
    """A random order of the dataset's indices: a permutation, or with `replacement`
    `num_samples` independent draws. Without replacement, `num_samples` larger than the
    dataset chains several permutations (each index at most once per pass), as PyTorch."""

    def __init__(
        self,
        data_source: Sized,
        replacement: bool = False,
        num_samples: int | None = None,
        generator: tg.Generator | None = None,
        *,
        seed: int | None = None,
    ) -> None:
        if num_samples is not None and (not isinstance(num_samples, int) or num_samples <= 0):
            raise ValueError(
                f"RandomSampler: num_samples must be a positive int, got {num_samples}"
            )
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        super().__init__(seed, generator)

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n = len(self.data_source)
        rng = self._next_rng()
        if self.replacement:
            return iter(rng.integers(0, n, size=self.num_samples).tolist())
        passes = -(-self.num_samples // n) if n else 0  # ceil
        order = [rng.permutation(n) for _ in range(passes)]
        flat = np.concatenate(order) if order else np.zeros(0, dtype=np.int64)
        return iter(flat[: self.num_samples].tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(_EpochSeeded):
    """The given `indices`, in a random order (a new one each epoch)."""

    def __init__(
        self,
        indices: Sequence[int],
        generator: tg.Generator | None = None,
        *,
        seed: int | None = None,
    ) -> None:
        self.indices = list(indices)
        super().__init__(seed, generator)

    def __iter__(self) -> Iterator[int]:
        order = self._next_rng().permutation(len(self.indices))
        return iter([self.indices[i] for i in order])

    def __len__(self) -> int:
        return len(self.indices)


def pick_seed(where: str, seed: int | None, generator: tg.Generator | None) -> int:
    """`seed` itself, else a seed drawn from `generator`, else from tg's default stream."""
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"{where}: seed must be an int >= 0, got {seed!r}")
        return seed
    if generator is not None:
        return int(tg.next_seed(generator))
    return seed_from_tinygpt()


class BatchSampler(Sampler):
    """Lists of `batch_size` consecutive indices from `sampler`; the last one may be shorter
    unless `drop_last`."""

    def __init__(self, sampler: Iterable[Any], batch_size: int, drop_last: bool) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"BatchSampler: batch_size must be a positive int, got {batch_size!r}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[Any]]:
        batch: list[Any] = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        if self.drop_last:
            return n // self.batch_size
        return -(-n // self.batch_size)  # ceil


# PyTorch's `torch.utils.data.sampler` also holds WeightedRandomSampler; it lives in
# samplers_more.py, imported last because it subclasses the samplers above
from .samplers_more import WeightedRandomSampler  # noqa: E402

__all__ += ["WeightedRandomSampler"]
