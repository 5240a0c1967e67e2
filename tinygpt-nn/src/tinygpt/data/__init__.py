"""`tinygpt.data`: datasets, the DataLoader, and readers for MNIST and CIFAR-10.

    from tinygpt.data import DataLoader, TensorDataset
    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, seed=0)
    for xb, yb in loader:
        ...

Reading order: `dataset.py` -> `sampler.py` -> `dataloader.py` -> `fetch.py` -> `workers.py`
-> `datasets_more.py` -> `samplers_more.py` -> `convert.py` -> `download.py` -> `mnist.py`
-> `cifar.py`.
"""

from . import dataloader, dataset, distributed, sampler
from .cifar import CIFAR10, read_cifar_batch
from .convert import default_convert
from .dataloader import DataLoader, default_collate
from .dataset import Dataset, IterableDataset, Subset, TensorDataset, random_split
from .datasets_more import ChainDataset, ConcatDataset, StackDataset
from .download import DownloadError, download_url, sha256_of
from .mnist import MNIST, read_idx
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
)
from .samplers_more import DistributedSampler, WeightedRandomSampler
from .workers import WorkerInfo, get_worker_info

__all__ = [
    "BatchSampler",
    "CIFAR10",
    "ChainDataset",
    "ConcatDataset",
    "DistributedSampler",
    "StackDataset",
    "WeightedRandomSampler",
    "dataloader",
    "dataset",
    "distributed",
    "default_convert",
    "sampler",
    "MNIST",
    "DataLoader",
    "Dataset",
    "DownloadError",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
    "WorkerInfo",
    "Subset",
    "TensorDataset",
    "default_collate",
    "download_url",
    "get_worker_info",
    "random_split",
    "read_cifar_batch",
    "read_idx",
    "sha256_of",
]
