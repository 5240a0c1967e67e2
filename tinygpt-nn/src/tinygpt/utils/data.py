"""`tinygpt.utils.data`: the `torch.utils.data` spelling of `tinygpt.data` (same objects).

>>> from tinygpt.utils.data import DataLoader, TensorDataset
>>> import tinygpt as tg
>>> len(DataLoader(TensorDataset(tg.arange(6.0)), batch_size=4))
2
"""

from tinygpt.data import (
    CIFAR10,
    MNIST,
    BatchSampler,
    DataLoader,
    Dataset,
    DownloadError,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WorkerInfo,
    default_collate,
    download_url,
    get_worker_info,
    random_split,
    read_cifar_batch,
    read_idx,
    sha256_of,
)

__all__ = [
    "BatchSampler",
    "CIFAR10",
    "MNIST",
    "DataLoader",
    "Dataset",
    "DownloadError",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WorkerInfo",
    "default_collate",
    "download_url",
    "get_worker_info",
    "random_split",
    "read_cifar_batch",
    "read_idx",
    "sha256_of",
]
