"""Turn a tinygpt view (buffer, shape, strides, offset) into a NumPy array, without copying.

tinygpt counts strides and offsets in elements; NumPy counts them in bytes. Everything else
is the same idea, so one `np.ndarray(...)` call over the buffer reads any view in place:
transposed, broadcast (stride 0), reversed (negative strides) or overlapping.

>>> import numpy as np
>>> from tinygpt.ndarray import NDArray
>>> from tinygpt.dtypes import float32
>>> x = NDArray(None, np.arange(6, dtype=np.float32), (2, 3), float32)
>>> as_numpy(x.transpose(0, 1)).tolist()
[[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tinygpt.ndarray import NDArray

__all__ = ["as_numpy", "numpy_dtype"]

# Byte strides per (element strides, itemsize). Views reuse a handful of stride tuples, and
# a dict lookup is cheaper than rebuilding the tuple on every kernel call.
_BYTE_STRIDES: dict[tuple[tuple[int, ...], int], tuple[int, ...]] = {}
_CACHE_LIMIT = 4096

_NUMPY_DTYPES = {
    name: np.dtype(name) for name in ("float16", "float32", "float64", "int32", "int64", "bool")
}


def numpy_dtype(dtype) -> np.dtype:
    """The NumPy dtype of a tinygpt DType (looked up by name: hashing a DType is slower)."""
    return _NUMPY_DTYPES[dtype.numpy_name]


def as_numpy(x: NDArray) -> np.ndarray:
    """A NumPy view of `x` that shares its buffer: writes to it land in the buffer."""
    buffer = x.buffer
    itemsize = buffer.itemsize
    key = (x.strides, itemsize)
    byte_strides = _BYTE_STRIDES.get(key)
    if byte_strides is None:
        byte_strides = _remember(key)
    try:
        return np.ndarray(x.shape, buffer.dtype, buffer, x.offset * itemsize, byte_strides)
    except ValueError:
        # subtle: an empty view may carry an offset past the end of its (empty) buffer,
        # which NumPy refuses; it holds no elements, so any empty array of its shape will do.
        if 0 in x.shape:
            return np.empty(x.shape, buffer.dtype)
        raise


def _remember(key: tuple[tuple[int, ...], int]) -> tuple[int, ...]:
    strides, itemsize = key
    if len(_BYTE_STRIDES) >= _CACHE_LIMIT:
        _BYTE_STRIDES.clear()
    byte_strides = tuple(s * itemsize for s in strides)
    _BYTE_STRIDES[key] = byte_strides
    return byte_strides
