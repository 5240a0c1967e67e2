"""`tinygpt.data`: datasets, the DataLoader, and readers for MNIST and CIFAR-10.

    from tinygpt.data import DataLoader, TensorDataset
    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, seed=0)
    for xb, yb in loader:
        ...

Reading order: `dataset.py` -> `dataloader.py` -> `download.py` -> `mnist.py` -> `cifar.py`.
"""

from .cifar import CIFAR10, read_cifar_batch
from .dataloader import DataLoader, default_collate
from .dataset import Dataset, Subset, TensorDataset, random_split
from .download import DownloadError, download_url, sha256_of
from .mnist import MNIST, read_idx

__all__ = [
    "CIFAR10",
    "MNIST",
    "DataLoader",
    "Dataset",
    "DownloadError",
    "Subset",
    "TensorDataset",
    "default_collate",
    "download_url",
    "random_split",
    "read_cifar_batch",
    "read_idx",
    "sha256_of",
]
