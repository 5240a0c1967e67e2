"""CIFAR-10 from its "python version" batches (`data_batch_1..5`, `test_batch`).

Each batch is a pickled dict: `b"data"` a (10000, 3072) uint8 array (1024 red, then 1024 green,
then 1024 blue values of a 32x32 image, row by row) and `b"labels"` a list of ints in 0..9.

NOTE: unpickling runs whatever callables a file names, so a crafted "CIFAR batch" could run
any code. `read_cifar_batch` uses an unpickler that refuses every global except the few NumPy
array reconstructors a real batch needs; a pickle naming anything else fails to load.
"""

from __future__ import annotations

import codecs
import os
import pickle
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

import tinygpt as tg

from .dataset import TensorDataset
from .download import DownloadError, download_url

__all__ = ["CIFAR10", "read_cifar_batch", "CIFAR10_URL"]

#: the dataset's home page copy (https://www.cs.toronto.edu/~kriz/cifar.html)
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
_FOLDER = "cifar-10-batches-py"  # the folder inside the tar.gz
_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
_TEST = ("test_batch",)


def _numpy_globals() -> dict[tuple[str, str], Any]:
    """The globals a pickled batch may name: NumPy's array reconstructors (the real batches
    were written by Python 2 NumPy as `numpy.core...`; NumPy 2 writes `numpy._core...`)."""
    try:
        from numpy._core import multiarray, numeric
    except ImportError:  # NumPy 1.x
        from numpy.core import multiarray, numeric  # type: ignore[no-redef]
    allowed: dict[tuple[str, str], Any] = {("numpy", "ndarray"): np.ndarray}
    allowed[("numpy", "dtype")] = np.dtype
    # Python 3 writes bytes into protocol-2 pickles as _codecs.encode(text, "latin1"): a pure
    # text -> bytes conversion, which PyTorch's weights-only unpickler allows too
    allowed[("_codecs", "encode")] = codecs.encode
    for core in ("numpy.core", "numpy._core"):
        allowed[(f"{core}.multiarray", "_reconstruct")] = multiarray._reconstruct
        allowed[(f"{core}.multiarray", "scalar")] = multiarray.scalar
        allowed[(f"{core}.numeric", "_frombuffer")] = getattr(numeric, "_frombuffer")  # noqa: B009
    return allowed


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that can build dicts, lists, bytes, numbers and NumPy arrays, nothing else."""

    allowed = _numpy_globals()

    def find_class(self, module: str, name: str) -> Any:
        found = self.allowed.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: a CIFAR batch only needs NumPy arrays, and "
                "loading other globals from a pickle can run arbitrary code"
            )
        return found


def read_cifar_batch(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """One batch file -> (images (N, 3, 32, 32) uint8, labels (N,) int64)."""
    with open(path, "rb") as f:
        try:
            # encoding="bytes": the Python 2 str keys stay bytes (b"data"), as in the real files
            batch = _RestrictedUnpickler(f, encoding="bytes").load()
        except (pickle.UnpicklingError, EOFError, ValueError) as error:
            raise ValueError(f"read_cifar_batch: {path} is not a CIFAR batch: {error}") from error
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        keys = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
        raise ValueError(f"read_cifar_batch: {path} lacks b'data' / b'labels' (got {keys})")
    data = np.asarray(batch[b"data"])
    labels = np.asarray(batch[b"labels"], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(
            f"read_cifar_batch: {path}: b'data' is {data.dtype} {data.shape}, expected uint8 "
            "(N, 3072)"
        )
    if labels.shape != (len(data),):
        raise ValueError(
            f"read_cifar_batch: {path}: {len(data)} images but labels of shape {labels.shape}"
        )
    return data.reshape(-1, 3, 32, 32), labels  # (N, C, H, W): channel planes, row-major


class CIFAR10(TensorDataset):
    """CIFAR-10: `images` (N, 3, 32, 32) float32 in [0, 1], `labels` (N,) int64 in 0..9.

    Reads `data_batch_1..5` (train) or `test_batch` from `root` or `root/cifar-10-batches-py`.
    `dataset[i]` is `(image (3, 32, 32), label ())`.

    With `download=True` and the batches missing, `cifar-10-python.tar.gz` is fetched from
    `url`, checked against `sha256` (which the caller must give: tinygpt ships no checksum it
    has not verified) and its batches extracted into `root/cifar-10-batches-py`.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        train: bool = True,
        download: bool = False,
        sha256: str | None = None,
        url: str = CIFAR10_URL,
        device: Any = None,
    ) -> None:
        self.root = Path(root)
        self.train = train
        names = _TRAIN if train else _TEST
        folder = self._folder(names)
        if folder is None:
            if not download:
                raise FileNotFoundError(self._missing_message(names))
            folder = self._download(url, sha256)
        parts = [read_cifar_batch(folder / name) for name in names]
        images = np.concatenate([p[0] for p in parts]).astype(np.float32) / 255.0
        labels = np.concatenate([p[1] for p in parts])
        super().__init__(tg.tensor(images, device=device), tg.tensor(labels, device=device))

    @property
    def images(self) -> tg.Tensor:
        return self.tensors[0]

    @property
    def labels(self) -> tg.Tensor:
        return self.tensors[1]

    def _folder(self, names: tuple[str, ...]) -> Path | None:
        for folder in (self.root, self.root / _FOLDER):
            if all((folder / name).is_file() for name in names):
                return folder
        return None

    def _missing_message(self, names: tuple[str, ...]) -> str:
        return (
            f"CIFAR10: {self.root} lacks {', '.join(names)}. Place them there (or extract "
            f"cifar-10-python.tar.gz into it), or pass download=True with sha256='<hex digest>'"
        )

    def _download(self, url: str, sha256: str | None) -> Path:
        if sha256 is None:
            raise ValueError(
                "CIFAR10: download=True needs sha256='<hex digest of cifar-10-python.tar.gz>'; "
                "tinygpt ships no checksum it has not verified"
            )
        archive = self.root / "cifar-10-python.tar.gz"
        try:
            download_url(url, archive, sha256)
        except DownloadError as error:
            hint = self._missing_message(_TRAIN if self.train else _TEST)
            raise DownloadError(f"{error}\n{hint}") from error
        return _extract(archive, self.root / _FOLDER)


def _extract(archive: Path, folder: Path) -> Path:
    """Write the archive's batch files into `folder`, by name only.

    NOTE: members are read, never `extractall`ed, so a crafted archive cannot write outside
    `folder` (no `../` paths, no links).
    """
    wanted = set(_TRAIN + _TEST + ("batches.meta",))
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            name = Path(member.name).name
            if member.isfile() and name in wanted:
                source = tar.extractfile(member)
                assert source is not None  # isfile() members always have data
                data = source.read()
                temp = folder / f".{name}.tmp"
                temp.write_bytes(data)
                os.replace(temp, folder / name)
    return folder
