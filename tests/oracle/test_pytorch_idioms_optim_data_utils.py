"""`torch.utils.data` (ConcatDataset, StackDataset, ChainDataset, DistributedSampler,
WeightedRandomSampler, default_convert, random_split, submodule paths) run as written with
`tinygpt` and compared with torch (split from test_pytorch_idioms_optim_data.py)."""

from __future__ import annotations

import pytest
from idiom_harness import IDIOM_DEVICES, idiom, params

pytestmark = pytest.mark.oracle


# ------------------------------------------------------------------ utils.data
@idiom
def concat_stack_chain_datasets(torch, nn, F, optim):
    data = torch.utils.data
    a = data.TensorDataset(torch.arange(3.0))
    b = data.TensorDataset(torch.arange(10.0, 14.0))
    concat = data.ConcatDataset([a, b])
    stacked = data.StackDataset(x=torch.arange(4), y=torch.arange(4) * 2)
    batches = [x for (x,) in data.DataLoader(concat, batch_size=3)]
    return [
        len(concat),
        concat.cumulative_sizes,
        concat[4][0],
        concat[-1][0],
        len(a + b),
        batches,
        stacked[2],
        next(iter(data.DataLoader(stacked, batch_size=4))),
    ]


@idiom
def random_split_with_generator(torch, nn, F, optim):
    data = torch.utils.data
    ds = data.TensorDataset(torch.arange(10))
    train, val = data.random_split(ds, [0.8, 0.2], generator=torch.Generator().manual_seed(42))
    # the orders differ between the libraries by design; sizes and coverage do not
    covered = sorted(int(sample[0]) for part in (train, val) for sample in part)
    return [len(train), len(val), covered]


@idiom
def chain_dataset(torch, nn, F, optim):
    data = torch.utils.data

    class Stream(data.IterableDataset):
        def __init__(self, start, stop):
            self.start, self.stop = start, stop

        def __iter__(self):
            return iter(range(self.start, self.stop))

    chained = data.ChainDataset([Stream(0, 3), Stream(10, 12)])
    return [list(chained), [b for b in data.DataLoader(chained, batch_size=2)]]


@idiom
def distributed_sampler_shards(torch, nn, F, optim):
    from_data = torch.utils.data
    shards = []
    for n, replicas, drop_last in ((10, 3, False), (10, 3, True), (2, 4, False), (7, 2, False)):
        for rank in range(replicas):
            s = from_data.DistributedSampler(
                range(n), num_replicas=replicas, rank=rank, shuffle=False, drop_last=drop_last
            )
            shards.append([list(s), len(s)])
    shuffled = [
        sorted(list(from_data.DistributedSampler(range(9), num_replicas=3, rank=r, seed=4)))
        for r in range(3)
    ]
    covered = sorted(i for shard in shuffled for i in shard)
    return [shards, covered]


@idiom
def distributed_sampler_in_loader(torch, nn, F, optim):
    data = torch.utils.data
    ds = data.TensorDataset(torch.arange(8))
    sampler = data.DistributedSampler(ds, num_replicas=2, rank=1)
    loader = data.DataLoader(ds, batch_size=2, sampler=sampler)
    sizes = []
    for epoch in range(2):
        sampler.set_epoch(epoch)
        sizes.append([len(x) for (x,) in loader])
    return [sizes, len(loader), sampler.epoch]


@idiom
def typed_custom_sampler_and_dataset(torch, nn, F, optim):
    from_data = torch.utils.data

    class Reverse(from_data.Sampler[int]):
        def __init__(self, data_source):
            super().__init__()
            self.n = len(data_source)

        def __iter__(self):
            return iter(range(self.n - 1, -1, -1))

        def __len__(self):
            return self.n

    class Squares(from_data.Dataset[int]):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return i * i

    ds = Squares()
    return list(from_data.DataLoader(ds, batch_size=2, sampler=Reverse(ds)))


@idiom
def weighted_random_sampler(torch, nn, F, optim):
    data = torch.utils.data
    sampler = data.WeightedRandomSampler([0.0, 2.0, 0.0, 1.0], num_samples=50)
    drawn = list(sampler)
    no_repeat = list(data.WeightedRandomSampler([1.0, 1.0, 1.0], 3, replacement=False))
    return [len(sampler), len(drawn), set(drawn) <= {1, 3}, sorted(no_repeat)]


@idiom
def default_convert_and_submodules(torch, nn, F, optim):
    import numpy as np

    from_data = torch.utils.data
    converted = from_data.default_convert({"a": np.arange(3), "b": (np.float32(2.5), 1)})
    sampler_mod = torch.utils.data.sampler
    import importlib

    def sub(name):  # `from torch.utils.data.<name> import ...` for either library
        return importlib.import_module(f"{torch.__name__}.utils.data.{name}")

    return [
        sub("distributed").DistributedSampler is from_data.DistributedSampler,
        sub("sampler").WeightedRandomSampler is from_data.WeightedRandomSampler,
        sub("dataset").ConcatDataset is from_data.ConcatDataset,
        sub("dataset").StackDataset is from_data.StackDataset,
        sub("dataloader").default_convert is from_data.default_convert,
        sub("dataloader").get_worker_info is from_data.get_worker_info,
        converted,
        sampler_mod.SequentialSampler is from_data.SequentialSampler,
        torch.utils.data.dataset.Dataset is from_data.Dataset,
        torch.utils.data.dataloader.DataLoader is from_data.DataLoader,
    ]


@idiom
def unbatched_loader_converts_numpy(torch, nn, F, optim):
    import numpy as np

    class Samples(torch.utils.data.Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return {"x": np.full(2, float(i), dtype=np.float32), "label": i}

    return list(torch.utils.data.DataLoader(Samples(), batch_size=None))


IDIOMS = params(globals())


@pytest.mark.parametrize("dev", IDIOM_DEVICES)
@pytest.mark.parametrize("item", IDIOMS)
def test_idiom(item, dev, check_idiom):
    check_idiom(item, dev)
