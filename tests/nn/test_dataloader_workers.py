"""DataLoader(num_workers=N): the same batches as N=0, seeded workers, errors re-raised with the
worker's traceback, clean shutdown; samplers, batch samplers and IterableDataset.

NOTE: workers start with multiprocessing's default method (fork on Linux up to Python 3.13, as
PyTorch's); the datasets here live at module level so that they also pickle for
"forkserver"/"spawn", which a test chooses explicitly (each such loader costs a second or two).
"""

from __future__ import annotations

import doctest
import gc
import importlib
import multiprocessing
import os
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest

import tinygpt as tg
from tinygpt.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
    TensorDataset,
    get_worker_info,
)


@pytest.fixture(autouse=True, scope="module")
def importable_from_workers():
    """Workers unpickle these datasets by importing this module as `tests.nn....`: put the
    repository root on sys.path (workers copy it) for a plain `pytest` run."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(Path(__file__).resolve().parents[2]))
        yield


class Squares(Dataset):
    """A map-style dataset going the slow way (per-sample __getitem__ and collate)."""

    def __init__(self, n: int, device: str | None = None) -> None:
        self.n = n
        self.device = device

    def __getitem__(self, i: int):
        return {"x": tg.tensor([float(i), float(i * i)], device=self.device), "i": i}

    def __len__(self) -> int:
        return self.n


class Noisy(Dataset):
    """Random augmentation: each sample adds noise from tg's generator, plus the worker id."""

    def __getitem__(self, i: int):
        info = get_worker_info()
        return tg.rand(3) + i, -1 if info is None else info.id

    def __len__(self) -> int:
        return 12


class FailsAt(Dataset):
    def __init__(self, bad: int) -> None:
        self.bad = bad

    def __getitem__(self, i: int):
        if i == self.bad:
            raise KeyError(f"sample {i} is missing")
        return i

    def __len__(self) -> int:
        return 10


class Dies(Dataset):
    def __getitem__(self, i: int):
        if get_worker_info() is not None:
            os._exit(3)  # a crash the worker cannot report
        return i

    def __len__(self) -> int:
        return 4


class Slow(Dataset):
    def __getitem__(self, i: int):
        time.sleep(3)
        return i

    def __len__(self) -> int:
        return 2


class Stream(IterableDataset):
    """0..n-1 as a stream; with `shard`, each worker yields its own stride of it."""

    def __init__(self, n: int, shard: bool) -> None:
        self.n = n
        self.shard = shard

    def __iter__(self):
        info = get_worker_info()
        if self.shard and info is not None:
            return iter(range(info.id, self.n, info.num_workers))
        return iter(range(self.n))


def record_worker(worker_id: int) -> None:
    os.environ["RECORDED_WORKER"] = str(worker_id)


class ReportsInit(Dataset):
    def __getitem__(self, i: int):
        return int(os.environ.get("RECORDED_WORKER", "-1"))

    def __len__(self) -> int:
        return 4


def as_lists(batches):
    out = []
    for batch in batches:
        if isinstance(batch, dict):
            out.append({k: v.tolist() for k, v in batch.items()})
        elif isinstance(batch, (tuple, list)):
            out.append([v.tolist() if isinstance(v, tg.Tensor) else v for v in batch])
        else:
            out.append(batch.tolist() if isinstance(batch, tg.Tensor) else batch)
    return out


def no_children_left(deadline: float = 10.0) -> bool:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        gc.collect()
        alive = [p for p in multiprocessing.active_children() if "ForkServer" not in p.name]
        if not alive:
            return True
        time.sleep(0.1)
    return False


# --- workers: same batches, seeds, errors, shutdown -----------------------------------------


def test_workers_give_the_same_batches_as_one_process(device):
    x = tg.arange(60, device=device).reshape(30, 2).to(tg.float32)
    y = (x * x).sum()  # a kernel in this process first: forking after one would hang
    assert y.item() > 0
    ds = TensorDataset(x, tg.arange(30, device=device))
    one = DataLoader(ds, batch_size=4, shuffle=True, seed=3)
    many = DataLoader(ds, batch_size=4, shuffle=True, seed=3, num_workers=2)
    for _ in range(2):  # the second epoch has a new order, the same on both
        batches = list(many)
        assert as_lists(batches) == as_lists(one)
    assert batches[0][0].device == x.device and batches[0][0].dtype == tg.float32
    one = DataLoader(ds, batch_size=7, drop_last=True)
    assert as_lists(DataLoader(ds, batch_size=7, drop_last=True, num_workers=3)) == as_lists(one)
    assert no_children_left()


def test_workers_collate_samples_like_one_process():
    one = DataLoader(Squares(11), batch_size=3, shuffle=True, seed=1)
    many = DataLoader(Squares(11), batch_size=3, shuffle=True, seed=1, num_workers=3)
    assert as_lists(many) == as_lists(one)


class Products(Dataset):
    """Each sample runs a matmul and a reduction (parallel kernels on the cpu backend)."""

    def __init__(self, n: int, device: str) -> None:
        self.n, self.device = n, device

    def __getitem__(self, i: int):
        m = tg.full((64, 64), float(i), device=self.device)
        return (m @ m).sum()

    def __len__(self) -> int:
        return self.n


FORK_AFTER_KERNELS = """
import tinygpt as tg
import tinygpt_backend_cpu
from tinygpt.data import DataLoader, TensorDataset

tinygpt_backend_cpu.set_num_threads(2)  # the parent's OpenMP pool really starts
x = tg.zeros(1024, 1024, device="cpu")
assert x.exp().sum().item() == 1024.0**2  # parallel elementwise and reduction kernels


def products(batch):
    return [(m.exp().sum().item()) for m, in batch]


data = TensorDataset(tg.zeros(4, 512, 512, device="cpu"))
loader = DataLoader(data, batch_size=2, num_workers=2, collate_fn=products,
                    multiprocessing_context="fork", timeout=60)
print(list(loader))
"""


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork")
def test_forked_workers_run_kernels_after_the_parent_did():
    """The parent runs parallel kernels on 2 threads; forked workers then run their own: the
    cpu backend's at-fork handler makes them single-threaded (GNU OpenMP would hang them)."""
    pytest.importorskip("tinygpt_backend_cpu")
    run = subprocess.run(
        [sys.executable, "-c", FORK_AFTER_KERNELS], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == str([[512.0**2] * 2] * 2)


def test_forkserver_can_be_chosen():
    if "forkserver" not in multiprocessing.get_all_start_methods():
        pytest.skip("no forkserver here")
    loader = DataLoader(
        Squares(9), batch_size=4, num_workers=2, multiprocessing_context="forkserver"
    )
    assert as_lists(loader) == as_lists(DataLoader(Squares(9), batch_size=4))


def test_worker_seeds_are_reproducible_and_distinct():
    def run():
        return as_lists(DataLoader(Noisy(), batch_size=2, num_workers=2, seed=5))

    first, second = run(), run()
    assert first == second  # the same seed, the same noise
    assert [b[1] for b in first] == [[0, 0], [1, 1]] * 3  # round-robin over the workers
    noise = [b[0] for b in first]
    assert noise[0] != noise[1]  # two workers, two different streams
    other = as_lists(DataLoader(Noisy(), batch_size=2, num_workers=2, seed=6))
    assert [b[0] for b in other] != noise


def test_an_error_in_a_worker_is_raised_with_its_traceback():
    loader = DataLoader(FailsAt(5), batch_size=2, num_workers=2)
    with pytest.raises(KeyError) as info:
        list(loader)
    message = str(info.value)
    assert "DataLoader worker" in message and "sample 5 is missing" in message
    assert "__getitem__" in message  # the worker's own traceback
    assert no_children_left()


def test_a_worker_that_dies_is_reported():
    with pytest.raises(RuntimeError, match="exited unexpectedly with exit code 3"):
        list(DataLoader(Dies(), batch_size=1, num_workers=1))
    assert no_children_left()


def test_a_timeout_is_reported():
    with pytest.raises(RuntimeError, match="timed out"):
        list(DataLoader(Slow(), batch_size=1, num_workers=1, timeout=0.5))
    assert no_children_left()


def test_breaking_out_early_stops_the_workers():
    for batch in DataLoader(Squares(40), batch_size=2, num_workers=2):
        assert batch["i"].tolist() == [0, 1]
        break
    assert no_children_left()


def test_worker_init_fn_runs_in_each_worker():
    got = as_lists(
        DataLoader(ReportsInit(), batch_size=1, num_workers=2, worker_init_fn=record_worker)
    )
    assert got == [[0], [1], [0], [1]]


def _pickling_context():
    """A start method that sends the dataset pickled (not fork), or skip."""
    for method in ("forkserver", "spawn"):
        if method in multiprocessing.get_all_start_methods():
            return method
    pytest.skip("no pickling start method")


def test_what_cannot_reach_a_worker_is_a_clear_type_error():
    context = _pickling_context()
    with pytest.raises(TypeError, match="module level"):
        loader = DataLoader(
            Squares(4),
            batch_size=2,
            num_workers=1,
            collate_fn=lambda b: b,
            multiprocessing_context=context,
        )
        list(loader)


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork")
def test_forked_workers_take_lambdas_as_pytorch_does():
    loader = DataLoader(
        Squares(4),
        batch_size=2,
        num_workers=2,
        multiprocessing_context="fork",
        collate_fn=lambda batch: [sample["i"] for sample in batch],
    )
    assert list(loader) == [[0, 1], [2, 3]]


def test_a_worker_that_cannot_import_the_dataset_says_so(monkeypatch):
    # a module that exists in this process only (as one made up in a notebook would)
    module = types.ModuleType("only_in_this_process")
    module.Missing = type("Missing", (Squares,), {"__module__": module.__name__})
    monkeypatch.setitem(sys.modules, module.__name__, module)
    context = _pickling_context()
    with pytest.raises(ModuleNotFoundError, match="importable from sys.path"):
        list(
            DataLoader(
                module.Missing(4), batch_size=2, num_workers=1, multiprocessing_context=context
            )
        )
    assert no_children_left()


# --- IterableDataset ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "drop_last, want", [(False, [[0, 1, 2], [3, 4, 5], [6]]), (True, [[0, 1, 2], [3, 4, 5]])]
)
def test_an_iterable_dataset_is_batched_in_stream_order(drop_last, want):
    loader = DataLoader(Stream(7, shard=False), batch_size=3, drop_last=drop_last)
    assert as_lists(loader) == want
    assert as_lists(DataLoader(Stream(3, shard=False), batch_size=None)) == [0, 1, 2]


def test_iterable_workers_each_read_their_own_copy():
    sharded = as_lists(DataLoader(Stream(10, shard=True), batch_size=2, num_workers=2))
    assert sorted(v for batch in sharded for v in batch) == list(range(10))
    assert sharded[0] == [0, 2] and sharded[1] == [1, 3]  # worker 0, worker 1, ...
    copied = as_lists(DataLoader(Stream(4, shard=False), batch_size=2, num_workers=2))
    assert sorted(v for batch in copied for v in batch) == [0, 0, 1, 1, 2, 2, 3, 3]


# --- samplers ---------------------------------------------------------------------------------


def test_sequential_and_batch_samplers():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    batches = BatchSampler(SequentialSampler(range(7)), 3, drop_last=False)
    assert list(batches) == [[0, 1, 2], [3, 4, 5], [6]] and len(batches) == 3
    assert len(BatchSampler(range(7), 3, drop_last=True)) == 2


def test_random_sampler_is_seeded_per_epoch():
    sampler = RandomSampler(range(20), seed=4)
    first, second = list(sampler), list(sampler)
    assert sorted(first) == list(range(20)) and first != second
    again = RandomSampler(range(20), seed=4)
    assert list(again) == first
    again.set_epoch(1)
    assert list(again) == second
    # the default loader order is a RandomSampler's
    loader = DataLoader(TensorDataset(tg.arange(20)), batch_size=20, shuffle=True, seed=4)
    assert next(iter(loader))[0].tolist() == first


def test_a_generator_seeds_samplers_and_loaders_as_in_pytorch():
    def order(make):
        return [v for (x,) in make(tg.Generator().manual_seed(11)) for v in x.tolist()]

    ds = TensorDataset(tg.arange(12))
    by_loader = order(lambda g: DataLoader(ds, batch_size=5, shuffle=True, generator=g))
    assert by_loader == order(lambda g: DataLoader(ds, batch_size=5, shuffle=True, generator=g))
    assert sorted(by_loader) == list(range(12)) and by_loader != list(range(12))
    other = [
        v
        for (x,) in DataLoader(
            ds, batch_size=5, shuffle=True, generator=tg.Generator().manual_seed(12)
        )
        for v in x.tolist()
    ]
    assert other != by_loader
    first = list(RandomSampler(range(12), generator=tg.Generator().manual_seed(11)))
    assert first == list(RandomSampler(range(12), generator=tg.Generator().manual_seed(11)))


def test_random_sampler_with_replacement_and_more_samples():
    drawn = list(RandomSampler(range(5), replacement=True, num_samples=50, seed=0))
    assert len(drawn) == 50 and set(drawn) <= set(range(5)) and len(set(drawn)) > 1
    passes = list(RandomSampler(range(4), num_samples=10, seed=0))
    assert len(passes) == 10 and sorted(passes[:4]) == [0, 1, 2, 3]
    assert sorted(passes[4:8]) == [0, 1, 2, 3]  # whole permutations, chained


def test_subset_random_sampler_visits_only_its_indices():
    sampler = SubsetRandomSampler([3, 5, 9], seed=1)
    assert sorted(sampler) == [3, 5, 9] and len(sampler) == 3


def test_loader_takes_a_sampler_a_batch_sampler_or_no_batching():
    ds = TensorDataset(tg.arange(6))
    reverse = [5, 4, 3, 2, 1, 0]
    assert [x.tolist() for (x,) in DataLoader(ds, batch_size=4, sampler=reverse)] == [
        [5, 4, 3, 2],
        [1, 0],
    ]
    pairs = [[0, 5], [1, 4]]
    assert [x.tolist() for (x,) in DataLoader(ds, batch_sampler=pairs)] == pairs
    singles = list(DataLoader(ds, batch_size=None))
    assert len(singles) == 6 and singles[2][0].tolist() == 2  # samples, not batches
    # without batching, collate_fn takes each sample on its own, as in PyTorch
    picked = list(DataLoader(Squares(2), batch_size=None, collate_fn=lambda s: s["i"] * 10))
    assert picked == [0, 10]


# fmt: off
BAD_OPTIONS = [
    ("shuffle and sampler",      lambda ds: DataLoader(ds, shuffle=True, sampler=[0])),
    ("batch_sampler and size",   lambda ds: DataLoader(ds, batch_size=2, batch_sampler=[[0]])),
    ("iterable and shuffle",     lambda ds: DataLoader(Stream(3, False), shuffle=True)),
    ("negative workers",         lambda ds: DataLoader(ds, num_workers=-1)),
    ("prefetch without workers", lambda ds: DataLoader(ds, prefetch_factor=2)),
    ("negative timeout",         lambda ds: DataLoader(ds, num_workers=1, timeout=-1)),
    ("bad batch size",           lambda ds: DataLoader(ds, batch_size=0)),
]
# fmt: on


@pytest.mark.parametrize("name, build", BAD_OPTIONS, ids=[b[0] for b in BAD_OPTIONS])
def test_conflicting_options_are_value_errors(name, build):
    with pytest.raises(ValueError):
        build(TensorDataset(tg.arange(4)))


def test_persistent_workers_give_the_same_batches_every_epoch():
    loader = DataLoader(
        TensorDataset(tg.arange(6)), batch_size=2, num_workers=1, persistent_workers=True
    )
    epochs = [[x.tolist() for (x,) in loader] for _ in range(2)]
    assert epochs == [[[0, 1], [2, 3], [4, 5]]] * 2
    with pytest.raises(ValueError, match="num_workers > 0"):
        DataLoader(TensorDataset(tg.arange(4)), persistent_workers=True)


def test_no_worker_info_in_the_main_process():
    assert get_worker_info() is None
    assert np.array_equal(
        DataLoader(TensorDataset(tg.arange(5)), shuffle=True, seed=2).indices(),
        np.random.default_rng([2, 0]).permutation(5),
    )


@pytest.mark.parametrize(
    "name",
    [
        "tinygpt.data.sampler",
        "tinygpt.data.dataloader",
        "tinygpt.data.fetch",
        "tinygpt.data.workers",
    ],
)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
