"""DataLoader: batches of a dataset, in order or shuffled with a seed, and `default_collate`.

Shuffling is reproducible: epoch e uses the permutation drawn from `(seed, e)`, so every epoch
has a new order, two loaders with the same seed agree, and `set_epoch(e)` resumes mid-run.
Without a `seed`, a shuffling loader draws one from `tg.manual_seed`'s stream when it is built.
The order comes from a sampler (`sampler.py`); `num_workers > 0` loads the batches in worker
processes (`workers.py`) and yields exactly the batches one process would.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

import tinygpt as tg
from tinygpt import ShapeError, Tensor

from .convert import default_convert
from .dataset import Dataset, IterableDataset
from .fetch import Exhausted, IterableFetcher, MapFetcher
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, pick_seed
from .workers import WorkerPool, get_worker_info

# default_convert and get_worker_info: importable from here too, as from PyTorch's dataloader
__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info"]


def default_collate(samples: Sequence[Any]) -> Any:
    """Merge a list of samples into one batch, the way PyTorch's `default_collate` does.

    Tensors of shape S stack into (B, *S); Python/NumPy numbers become a (B,) tensor (bool,
    int64, or float32 as `tg.tensor` would make them); NumPy arrays stack into a tensor;
    tuples, lists and dicts are collated field by field (a tuple gives a list, as in PyTorch;
    a named tuple stays one); strings are returned as a list.

    >>> import tinygpt as tg
    >>> batch = default_collate([{"x": tg.zeros(2), "y": 1}, {"x": tg.ones(2), "y": 0}])
    >>> tuple(batch["x"].shape), batch["y"].tolist()
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
        # as PyTorch: a named tuple stays one; a plain tuple or list becomes a list
        return type(first)(*fields) if hasattr(first, "_fields") else fields
    raise TypeError(
        f"default_collate: cannot batch samples of type {type(first).__name__}; pass "
        "DataLoader(collate_fn=...)"
    )


class DataLoader:
    """Iterate over `dataset` in batches of `batch_size` samples (PyTorch's arguments).

    Each batch is `collate_fn([dataset[i] for i in batch_indices])` (`default_collate` when
    None). A `TensorDataset` with the default collate takes a fast path: one integer-index
    gather per tensor, giving the same batches as stacking. The order comes from `sampler`
    (default: in order, or a seeded `RandomSampler` with `shuffle`), or whole index lists
    from `batch_sampler`; `batch_size=None` yields single samples, each through `collate_fn`
    (`default_convert` when None: NumPy arrays become tensors), as in PyTorch. An
    `IterableDataset` is batched in stream order.

    `num_workers > 0` loads batches in that many worker processes (see `workers.py`): the
    same batches in the same order; the dataset must pickle. `pin_memory` (and
    `pin_memory_device`) is accepted and does nothing (there is no pinned host memory here).
    `persistent_workers=True` is accepted: the batches are the same, but the workers start
    afresh each epoch (so `worker_init_fn` runs each epoch, and state a worker builds up does
    not carry over). `in_order=False` is accepted; batches still come in order.

    >>> import tinygpt as tg
    >>> from tinygpt.data import TensorDataset
    >>> loader = DataLoader(TensorDataset(tg.arange(10)), batch_size=4)
    >>> [x.tolist() for (x,) in loader], len(loader)
    ([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]], 3)
    """

    def __init__(
        self,
        dataset: Dataset | IterableDataset,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Sampler | Iterable[Any] | None = None,
        batch_sampler: Iterable[list[Any]] | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0.0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context: str | None = None,
        generator: tg.Generator | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
        seed: int | None = None,
    ) -> None:
        _check_options(dataset, batch_size, bool(shuffle), sampler, batch_sampler, drop_last)
        _check_workers(num_workers, prefetch_factor, timeout, persistent_workers)
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = drop_last
        self.iterable = isinstance(dataset, IterableDataset)
        # NOTE: drawn only when shuffling, so an in-order loader leaves tg's random stream alone
        self.generator = generator
        if seed is not None or self.shuffle:
            seed = pick_seed("DataLoader", seed, generator)
        self.seed = seed
        self.sampler = _default_sampler(dataset, self.shuffle, self.seed, sampler)
        if batch_sampler is None and batch_size is not None and self.sampler is not None:
            batch_sampler = BatchSampler(self.sampler, batch_size, drop_last)
        self.batch_sampler = batch_sampler
        self.collate_fn = collate_fn
        self.num_workers = num_workers
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.prefetch_factor = 2 if prefetch_factor is None else prefetch_factor
        self.multiprocessing_context = multiprocessing_context
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.in_order = in_order
        self.persistent_workers = persistent_workers
        self.epoch = 0  # the next __iter__ shuffles with (seed, epoch)

    def __len__(self) -> int:
        if self.iterable:
            n = len(self.dataset)  # type: ignore[arg-type]  # TypeError if the stream has none
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)  # type: ignore[arg-type]
        return len(self.sampler)  # type: ignore[arg-type]

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration use epoch `epoch`'s order (to resume a run)."""
        self.epoch = int(epoch)

    def indices(self) -> np.ndarray:
        """The sample order of the current epoch with the default sampler, (N,) int64."""
        n = len(self.dataset)  # type: ignore[arg-type]
        if not self.shuffle:
            return np.arange(n, dtype=np.int64)
        assert self.seed is not None  # __init__ draws one whenever shuffling
        return np.random.default_rng([self.seed, self.epoch]).permutation(n)

    def __iter__(self) -> Iterator[Any]:
        # NOTE: a sampler with `follows_loader_epoch = False` (DistributedSampler) keeps the
        # epoch its user set, as in PyTorch, where the loader never calls set_epoch
        set_epoch = getattr(self.sampler, "set_epoch", None)
        if set_epoch is not None and getattr(self.sampler, "follows_loader_epoch", True):
            set_epoch(self.epoch)
        epoch = self.epoch
        self.epoch += 1
        fetcher = self._fetcher()
        tasks = None
        if not self.iterable:
            # NOTE: `is None`, not `or`: an empty BatchSampler has len 0, so it is falsy
            order = self.sampler if self.batch_sampler is None else self.batch_sampler
            tasks = iter(order)  # type: ignore[arg-type]
        if self.num_workers == 0:
            return _in_process(fetcher, tasks)
        pool = WorkerPool(
            fetcher,
            tasks,
            self.num_workers,
            self._base_seed(epoch),
            self.worker_init_fn,
            self.prefetch_factor,
            self.timeout,
            self._context(),
        )
        return iter(pool)

    def _fetcher(self) -> MapFetcher | IterableFetcher:
        collate = default_collate if self.collate_fn is None else self.collate_fn
        # batch_size=None: each sample goes through collate_fn, default_convert (NumPy ->
        # tensors) when there is none, as in PyTorch
        convert = default_convert if self.collate_fn is None else self.collate_fn
        if self.iterable:
            return IterableFetcher(
                self.dataset, self.batch_size, self.drop_last, collate, convert=convert
            )
        batched = self.batch_sampler is not None
        return MapFetcher(self.dataset, collate, batched, self.collate_fn is None, convert)

    def _base_seed(self, epoch: int) -> int:
        """Worker k of this epoch seeds with base + k: from (seed, epoch) when there is a seed."""
        if self.seed is None:
            return pick_seed("DataLoader", None, self.generator)
        return int(np.random.default_rng([self.seed, epoch, 1]).integers(2**31))

    def _context(self) -> str:
        if self.multiprocessing_context is not None:
            return self.multiprocessing_context
        return mp.get_start_method()  # this Python's default, as PyTorch: see workers.py

    def __repr__(self) -> str:
        size = len(self.dataset) if hasattr(self.dataset, "__len__") else "?"
        return (
            f"DataLoader({type(self.dataset).__name__} of {size}, batch_size="
            f"{self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last}, "
            f"num_workers={self.num_workers})"
        )


def _in_process(fetcher: MapFetcher | IterableFetcher, tasks: Iterator[Any] | None):
    """num_workers=0: fetch each batch here, in order."""
    if tasks is None:
        while True:
            batch = fetcher(None)
            if isinstance(batch, Exhausted):
                return
            yield batch
    for task in tasks:
        yield fetcher(task)


def _default_sampler(
    dataset: Any, shuffle: bool, seed: int | None, sampler: Any
) -> Iterable[Any] | None:
    if sampler is not None or isinstance(dataset, IterableDataset):
        return sampler
    if shuffle:
        return RandomSampler(dataset, seed=seed)
    return SequentialSampler(dataset)


def _check_options(
    dataset: Any,
    batch_size: int | None,
    shuffle: bool,
    sampler: Any,
    batch_sampler: Any,
    drop_last: bool,
) -> None:
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0
    ):
        raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
    if isinstance(dataset, IterableDataset) and (shuffle or sampler or batch_sampler):
        raise ValueError(
            "DataLoader: an IterableDataset is read in stream order; shuffle, sampler and "
            "batch_sampler do not apply (shuffle inside the dataset's __iter__)"
        )
    if sampler is not None and shuffle:
        raise ValueError("DataLoader: pass shuffle=True or a sampler, not both")
    if batch_sampler is not None and (batch_size != 1 or shuffle or sampler or drop_last):
        raise ValueError(
            "DataLoader: batch_sampler gives whole batches; leave batch_size, shuffle, sampler "
            "and drop_last at their defaults"
        )


def _check_workers(
    num_workers: int, prefetch_factor: int | None, timeout: float, persistent: bool
) -> None:
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
        raise ValueError(f"DataLoader: num_workers must be an int >= 0, got {num_workers!r}")
    if prefetch_factor is not None and (num_workers == 0 or prefetch_factor < 1):
        raise ValueError(
            f"DataLoader: prefetch_factor={prefetch_factor} needs num_workers > 0 and a value >= 1"
        )
    if timeout < 0:
        raise ValueError(f"DataLoader: timeout must be >= 0, got {timeout}")
    if persistent and num_workers == 0:
        raise ValueError("DataLoader: persistent_workers=True needs num_workers > 0")
