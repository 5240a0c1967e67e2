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

from tinygpt.ndarray import prod, strides_for

if TYPE_CHECKING:
    from tinygpt.ndarray import NDArray

__all__ = ["as_numpy", "numpy_dtype", "NARROW_FLOATS", "NUMPY_NAMES"]

# Both caches are keyed by tuples that views reuse over and over; a dict lookup is cheaper
# than recomputing the facts on every kernel call (a tiny op costs ~1 us in all).
_CACHE_LIMIT = 4096
# shape -> (its row-major strides, its element count, whether it is 1-D)
_DENSE: dict[tuple[int, ...], tuple[tuple[int, ...], int, bool]] = {}
# (element strides, itemsize) -> byte strides
_BYTE_STRIDES: dict[tuple[tuple[int, ...], int], tuple[int, ...]] = {}

_NUMPY_DTYPES = {
    name: np.dtype(name)
    for name in ("float16", "float32", "float64", "uint8", "int8", "int32", "int64", "bool")
}
try:  # NumPy has no bfloat16 of its own; the `ml_dtypes` package (a dependency) adds one
    import ml_dtypes

    _NUMPY_DTYPES["bfloat16"] = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover - then the backend does not list bfloat16
    pass
#: the 2-byte floats, which kernels compute in float32 and round once at the end
NARROW_FLOATS = frozenset(
    _NUMPY_DTYPES[name] for name in ("float16", "bfloat16") if name in _NUMPY_DTYPES
)


#: the tinygpt dtype names this NumPy can store
NUMPY_NAMES = frozenset(_NUMPY_DTYPES)


def numpy_dtype(dtype) -> np.dtype:
    """The NumPy dtype of a tinygpt DType (looked up by name: hashing a DType is slower)."""
    return _NUMPY_DTYPES[dtype.numpy_name]


def as_numpy(x: NDArray) -> np.ndarray:
    """A NumPy view of `x` that shares its buffer: writes to it land in the buffer."""
    buffer = x.buffer
    if x.offset == 0:
        # fast path for the most common input: a whole buffer in row-major order
        layout = _DENSE.get(x.shape)
        if layout is None:
            layout = _remember_dense(x.shape)
        strides, size, flat = layout
        if strides == x.strides and size == buffer.size:
            return buffer if flat else buffer.reshape(x.shape)
    return _strided(x, buffer)


def _strided(x: NDArray, buffer: np.ndarray) -> np.ndarray:
    """Any view: the same memory seen through byte strides (negative and 0 work too)."""
    itemsize = buffer.itemsize
    key = (x.strides, itemsize)
    byte_strides = _BYTE_STRIDES.get(key)
    if byte_strides is None:
        byte_strides = _remember_byte_strides(key)
    try:
        return np.ndarray(x.shape, buffer.dtype, buffer, x.offset * itemsize, byte_strides)
    except ValueError:
        # subtle: an empty view may carry an offset past the end of its (empty) buffer,
        # which NumPy refuses; it holds no elements, so any empty array of its shape will do.
        if 0 in x.shape:
            return np.empty(x.shape, buffer.dtype)
        raise


def _remember_dense(shape: tuple[int, ...]) -> tuple[tuple[int, ...], int, bool]:
    if len(_DENSE) >= _CACHE_LIMIT:
        _DENSE.clear()
    layout = (strides_for(shape), prod(shape), len(shape) == 1)
    _DENSE[shape] = layout
    return layout


def _remember_byte_strides(key: tuple[tuple[int, ...], int]) -> tuple[int, ...]:
    strides, itemsize = key
    if len(_BYTE_STRIDES) >= _CACHE_LIMIT:
        _BYTE_STRIDES.clear()
    byte_strides = tuple(s * itemsize for s in strides)
    _BYTE_STRIDES[key] = byte_strides
    return byte_strides
