"""MNIST from its original idx files, gzipped or not, in a local folder.

The idx format: a 4-byte magic number `0, 0, type, ndim` (2049 for label files: ubyte, 1 dim;
2051 for image files: ubyte, 3 dims), then `ndim` big-endian uint32 sizes, then the values
in C order (big-endian for multi-byte types).
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

import tinygpt as tg

from .dataset import TensorDataset
from .download import DownloadError, download_url

__all__ = ["MNIST", "read_idx", "MNIST_MIRROR"]

#: where torchvision fetches MNIST from (the original site now often refuses downloads)
MNIST_MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"

_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# idx type code -> NumPy dtype (big-endian, as stored)
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an idx file (gzipped if its bytes start with the gzip magic) into a NumPy array.

    Returns the array with the shape the header gives, e.g. (60000, 28, 28) uint8 for MNIST's
    training images, in native byte order.
    """
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":  # the gzip magic, whatever the file is called
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"read_idx: {path} is not an idx file (bad magic number {raw[:4]!r})")
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"read_idx: {path} is truncated inside its header")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    count = int(np.prod(shape))
    if len(raw) - header != count * dtype.itemsize:
        raise ValueError(
            f"read_idx: {path} should hold {count * dtype.itemsize} bytes of data for shape "
            f"{shape}, but holds {len(raw) - header}; the file is truncated or corrupt"
        )
    values = np.frombuffer(raw, dtype=dtype, count=count, offset=header)
    return values.reshape(shape).astype(dtype.newbyteorder("="))


class MNIST(TensorDataset):
    """The MNIST digits: `images` (N, 1, 28, 28) float32 in [0, 1], `labels` (N,) int64.

    Reads `train-images-idx3-ubyte` / `train-labels-idx1-ubyte` (or the `t10k-` pair when
    `train=False`) from `root`, each plain or with `.gz`; torchvision's `root/MNIST/raw/`
    layout works too. `dataset[i]` is `(image (1, 28, 28), label ())`.

    With `download=True`, missing files are fetched from `base_url` as `<name>.gz` and checked
    against `sha256`, a dict `{"train-images-idx3-ubyte.gz": "<hex digest>", ...}`. NOTE:
    tinygpt ships no checksums it has not verified itself, so the caller must pass them.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        train: bool = True,
        download: bool = False,
        sha256: Mapping[str, str] | None = None,
        base_url: str = MNIST_MIRROR,
        device: Any = None,
    ) -> None:
        self.root = Path(root)
        self.train = train
        names = _FILES[train]
        found = [self._find(name) for name in names]
        if not download and any(p is None for p in found):
            raise FileNotFoundError(self._missing_message(names))
        paths = [
            p if p is not None else self._download(name, sha256, base_url)
            for p, name in zip(found, names)
        ]
        images = read_idx(paths[0])
        labels = read_idx(paths[1])
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(
                f"MNIST: {paths[0]} has shape {images.shape} and {paths[1]} has shape "
                f"{labels.shape}; expected (N, 28, 28) images and (N,) labels"
            )
        pixels = images[:, None].astype(np.float32) / 255.0  # (N, 1, 28, 28)
        super().__init__(
            tg.tensor(pixels, device=device),
            tg.tensor(labels.astype(np.int64), device=device),
        )

    @property
    def images(self) -> tg.Tensor:
        return self.tensors[0]

    @property
    def labels(self) -> tg.Tensor:
        return self.tensors[1]

    def _find(self, name: str) -> Path | None:
        for folder in (self.root, self.root / "MNIST" / "raw"):
            for candidate in (folder / name, folder / f"{name}.gz"):
                if candidate.is_file():
                    return candidate
        return None

    def _missing_message(self, names: tuple[str, ...]) -> str:
        listed = ", ".join(f"{n}(.gz)" for n in names)
        return (
            f"MNIST: {self.root} lacks {listed}. Place these files there (gzipped or not), or "
            "pass download=True with sha256={'<name>.gz': '<hex digest>', ...}"
        )

    def _download(self, name: str, sha256: Mapping[str, str] | None, base_url: str) -> Path:
        file = f"{name}.gz"
        digest = (sha256 or {}).get(file)
        if digest is None:
            raise ValueError(
                f"MNIST: download=True needs the SHA-256 of {file}: pass sha256={{{file!r}: "
                "'<hex digest>', ...}. tinygpt ships no checksums it has not verified."
            )
        try:
            return download_url(base_url.rstrip("/") + "/" + file, self.root / file, digest)
        except DownloadError as error:
            raise DownloadError(f"{error}\n{self._missing_message(_FILES[self.train])}") from error
