"""ConcatDataset, ChainDataset, StackDataset, WeightedRandomSampler, DistributedSampler,
default_convert and the `torch.utils.data.<submodule>` aliases."""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
import pytest

import tinygpt as tg
from tinygpt.data import (
    ChainDataset,
    ConcatDataset,
    DataLoader,
    DistributedSampler,
    IterableDataset,
    StackDataset,
    TensorDataset,
    WeightedRandomSampler,
    default_convert,
)


class _Stream(IterableDataset):
    def __init__(self, values):
        self.values = list(values)

    def __iter__(self):
        return iter(self.values)

    def __len__(self):
        return len(self.values)


# ------------------------------------------------------------------ datasets
def test_concat_dataset_indexing(device):
    a = TensorDataset(tg.arange(3, device=device))
    b = TensorDataset(tg.arange(10, 14, device=device))
    ds = ConcatDataset([a, b])
    assert len(ds) == 7
    assert ds.cumulative_sizes == [3, 7]
    got = [ds[i][0].item() for i in range(7)]
    assert got == [0, 1, 2, 10, 11, 12, 13]
    assert ds[-1][0].item() == 13
    assert ds[-7][0].item() == 0
    with pytest.raises(IndexError):
        ds[7]
    with pytest.raises(ValueError):
        ds[-8]


def test_concat_dataset_through_loader_and_add(device):
    a = TensorDataset(tg.arange(4.0, device=device))
    b = TensorDataset(tg.arange(4.0, 6.0, device=device))
    ds = a + b
    assert isinstance(ds, ConcatDataset)
    batches = [x.tolist() for (x,) in DataLoader(ds, batch_size=4)]
    assert batches == [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0]]


def test_concat_dataset_rejects_empty_and_streams():
    with pytest.raises(ValueError):
        ConcatDataset([])
    with pytest.raises(TypeError):
        ConcatDataset([_Stream([1])])


def test_chain_dataset():
    ds = ChainDataset([_Stream([1, 2]), _Stream([3])])
    assert list(ds) == [1, 2, 3]
    assert len(ds) == 3
    assert list(_Stream([1]) + _Stream([2, 3])) == [1, 2, 3]
    batches = [b.tolist() for b in DataLoader(ds, batch_size=2)]
    assert batches == [[1, 2], [3]]


def test_stack_dataset_tuple_and_dict():
    ds = StackDataset([1, 2, 3], ["a", "b", "c"])
    assert len(ds) == 3
    assert ds[2] == (3, "c")
    named = StackDataset(x=[1, 2], y=[5, 6])
    assert named[1] == {"x": 2, "y": 6}
    batch = next(iter(DataLoader(named, batch_size=2)))
    assert batch["x"].tolist() == [1, 2] and batch["y"].tolist() == [5, 6]
    with pytest.raises(ValueError):
        StackDataset([1, 2], [1])
    with pytest.raises(ValueError):
        StackDataset([1], y=[1])
    with pytest.raises(ValueError):
        StackDataset()


# ------------------------------------------------------------------ samplers
def test_weighted_sampler_frequencies():
    weights = [1.0, 3.0, 0.0, 4.0]
    sampler = WeightedRandomSampler(weights, num_samples=8000, seed=0)
    counts = np.bincount(list(sampler), minlength=4) / 8000
    assert len(sampler) == 8000
    assert counts[2] == 0.0
    np.testing.assert_allclose(counts, np.array(weights) / 8.0, atol=0.03)


def test_weighted_sampler_without_replacement_and_epochs():
    sampler = WeightedRandomSampler(tg.tensor([1.0, 1.0, 1.0, 1.0]), 4, replacement=False, seed=3)
    first = list(sampler)
    second = list(sampler)
    assert sorted(first) == [0, 1, 2, 3] and sorted(second) == [0, 1, 2, 3]
    again = WeightedRandomSampler([1.0] * 4, 4, replacement=False, seed=3)
    assert list(again) == first  # same seed, same epoch 0
    with pytest.raises(RuntimeError):
        list(WeightedRandomSampler([1.0, 0.0], 2, replacement=False, seed=0))


@pytest.mark.parametrize(
    "kwargs",
    [{"num_samples": 0}, {"num_samples": 2.5}, {"num_samples": 2, "replacement": 1}],
)
def test_weighted_sampler_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        WeightedRandomSampler([1.0, 2.0], **kwargs)


def _pytorch_shards(order, replicas, drop_last):
    """The index lists PyTorch's DistributedSampler gives each rank for a fixed order."""
    n = len(order)
    if drop_last and n % replicas:
        per_rank = math.ceil((n - replicas) / replicas)
    else:
        per_rank = math.ceil(n / replicas)
    total = per_rank * replicas
    full = list(order)
    while len(full) < total:
        full += list(order)
    full = full[:total]
    return [full[r:total:replicas] for r in range(replicas)]


@pytest.mark.parametrize("n,replicas", [(10, 3), (7, 2), (2, 5), (8, 4)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_sharding(n, replicas, drop_last):
    want = _pytorch_shards(range(n), replicas, drop_last)
    for rank in range(replicas):
        s = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(s) == want[rank]
        assert len(s) == len(want[rank])


def test_distributed_sampler_shuffle_is_shared_and_per_epoch():
    n, replicas = 11, 3
    samplers = [DistributedSampler(range(n), replicas, r, seed=5) for r in range(replicas)]
    shards = [list(s) for s in samplers]
    order = np.random.default_rng(5).permutation(n).tolist()
    assert shards == _pytorch_shards(order, replicas, False)
    covered = {i for shard in shards for i in shard}
    assert covered == set(range(n))
    assert [list(s) for s in samplers] == shards  # no set_epoch: the same order again
    for s in samplers:
        s.set_epoch(1)
    epoch1 = [list(s) for s in samplers]
    assert epoch1 != shards
    assert epoch1 == _pytorch_shards(np.random.default_rng(6).permutation(n).tolist(), 3, False)


def test_distributed_sampler_in_loader_keeps_user_epoch(device):
    ds = TensorDataset(tg.arange(8, device=device))
    sampler = DistributedSampler(ds, num_replicas=2, rank=0, seed=1)
    loader = DataLoader(ds, batch_size=8, sampler=sampler)
    sampler.set_epoch(4)
    got = next(iter(loader))[0].tolist()
    want = np.random.default_rng(5).permutation(8).tolist()[0::2]
    assert got == want


def test_distributed_sampler_defaults_and_errors():
    s = DistributedSampler(range(4))
    assert (s.num_replicas, s.rank) == (1, 0)
    assert sorted(s) == [0, 1, 2, 3]
    with pytest.raises(ValueError):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(ValueError):
        DistributedSampler(range(4), num_replicas=2, rank=-1)


# ------------------------------------------------------------------ convert
def test_default_convert():
    Point = namedtuple("Point", ["x", "y"])
    out = default_convert(
        {"a": np.arange(3), "b": (np.float32(2.0), 1), "p": Point(np.zeros(2), "s")}
    )
    assert isinstance(out["a"], tg.Tensor) and out["a"].tolist() == [0, 1, 2]
    assert out["a"].dtype == tg.int64
    assert isinstance(out["b"], list) and out["b"][1] == 1
    assert out["b"][0].dtype == tg.float32 and out["b"][0].item() == 2.0
    assert isinstance(out["p"], Point) and out["p"].y == "s"
    assert out["p"].x.dtype == tg.float64
    strings = np.array(["a", "b"])
    assert default_convert(strings) is strings
    assert default_convert(3) == 3


def test_utils_data_submodule_aliases():
    import tinygpt
    from tinygpt.utils.data.dataloader import DataLoader as DL
    from tinygpt.utils.data.dataloader import default_convert as convert
    from tinygpt.utils.data.dataloader import get_worker_info
    from tinygpt.utils.data.dataset import ConcatDataset as Concat
    from tinygpt.utils.data.dataset import Dataset
    from tinygpt.utils.data.distributed import DistributedSampler as Dist
    from tinygpt.utils.data.sampler import Sampler
    from tinygpt.utils.data.sampler import WeightedRandomSampler as Weighted

    # the names PyTorch's submodules hold are the same objects here
    assert (Concat, Dist, Weighted) == (ConcatDataset, DistributedSampler, WeightedRandomSampler)
    assert convert is default_convert and get_worker_info is tinygpt.data.get_worker_info

    assert DL is DataLoader
    assert Dataset is tinygpt.data.Dataset
    assert Sampler is tinygpt.data.Sampler
    assert tinygpt.utils.data.DistributedSampler is DistributedSampler


class _NumpySamples:
    def __len__(self):
        return 3

    def __getitem__(self, i):
        return {"x": np.full(2, float(i)), "label": i}


class _NumpyStream(IterableDataset):
    def __iter__(self):
        return iter([np.arange(2), np.arange(3)])


def test_unbatched_loader_converts_numpy_samples():
    samples = list(DataLoader(_NumpySamples(), batch_size=None))
    assert isinstance(samples[2]["x"], tg.Tensor) and samples[2]["x"].tolist() == [2.0, 2.0]
    assert samples[1]["label"] == 1  # plain numbers stay numbers, as in PyTorch
    streamed = list(DataLoader(_NumpyStream(), batch_size=None))
    assert [s.tolist() for s in streamed] == [[0, 1], [0, 1, 2]]
    assert all(isinstance(s, tg.Tensor) for s in streamed)
    # a custom collate_fn keeps its samples as they are
    raw = list(DataLoader(_NumpySamples(), batch_size=None, collate_fn=lambda s: s))
    assert isinstance(raw[0]["x"], np.ndarray)


def test_distributed_sampler_reads_the_initialized_world(monkeypatch):
    import tinygpt.distributed as dist

    monkeypatch.setattr(dist, "is_initialized", lambda: True)
    monkeypatch.setattr(dist, "world_size", lambda: 3)
    monkeypatch.setattr(dist, "rank", lambda: 2)
    s = DistributedSampler(range(7), shuffle=False)
    assert (s.num_replicas, s.rank) == (3, 2)
    assert list(s) == [2, 5, 1]  # 7 padded to 9 with indices 0, 1
    explicit = DistributedSampler(range(7), num_replicas=2, rank=0, shuffle=False)
    assert (explicit.num_replicas, explicit.rank) == (2, 0)  # arguments win


def test_generic_bases_and_sampler_init():
    from tinygpt.data import Dataset, Sampler

    class Reverse(Sampler[int]):
        def __init__(self, data_source):
            super().__init__(data_source)  # older PyTorch code still passes it
            self.n = len(data_source)

        def __iter__(self):
            return iter(range(self.n - 1, -1, -1))

        def __len__(self):
            return self.n

    class Numbers(Dataset[int]):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return i * 10

    ds = Numbers()
    batches = [b.tolist() for b in DataLoader(ds, batch_size=2, sampler=Reverse(ds))]
    assert batches == [[20, 10], [0]]
    assert issubclass(IterableDataset[int].__origin__, IterableDataset)  # type: ignore[attr-defined]


def test_random_split_takes_a_generator(device):
    from tinygpt.data import random_split

    ds = TensorDataset(tg.arange(10, device=device))
    a = random_split(ds, [0.7, 0.3], generator=tg.Generator().manual_seed(42))
    b = random_split(ds, [7, 3], tg.Generator().manual_seed(42))  # positional, as PyTorch's
    c = random_split(ds, [7, 3], generator=tg.Generator().manual_seed(43))
    assert a[0].indices == b[0].indices and a[1].indices == b[1].indices
    assert a[0].indices != c[0].indices
    assert sorted(a[0].indices + a[1].indices) == list(range(10))


def test_unbatched_loader_applies_a_custom_collate_fn_to_each_sample():
    loader = DataLoader(_NumpySamples(), batch_size=None, collate_fn=lambda s: ("seen", s["label"]))
    assert [tag for tag, _ in loader] == ["seen"] * len(_NumpySamples())
    assert [label for _, label in loader] == [
        _NumpySamples()[i]["label"] for i in range(len(_NumpySamples()))
    ]
