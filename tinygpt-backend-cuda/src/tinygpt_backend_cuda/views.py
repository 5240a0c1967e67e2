"""How a tinygpt view reaches a CUDA kernel: a buffer pointer plus a small "meta" array.

meta = [ndim, offset, shape..., strides...] as int64 in device memory, the layout
``kernels/prelude.cuh``'s ``at()`` reads. Views repeat (a training step uses the same few
dozen layouts every step), so each meta array is uploaded once and cached: after the first
step the only host-to-device copies are the ones the user asks for (`from_host`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cupy
import numpy as np

from tinygpt.ndarray import prod, strides_for

if TYPE_CHECKING:
    from tinygpt.ndarray import NDArray

__all__ = ["MetaCache", "as_cupy", "layout_flags", "numpy_dtype", "scalar", "META_NDIM"]

_NUMPY_DTYPES = {
    name: np.dtype(name) for name in ("float16", "float32", "float64", "int32", "int64", "bool")
}
# The numpy type of a kernel's $A scalar argument: float16 computes in float32.
_COMPUTE_DTYPES = {**_NUMPY_DTYPES, "float16": np.dtype("float32")}
#: meta[0] = ndim | flags (kernels/prelude.cuh): the low byte is ndim
META_NDIM = 0xFF
#: row-major contiguous: at() returns offset + i with no division at all
META_DENSE = 0x100
#: fewer than 2**31 elements: at() divides in 32 bits (GPUs have no 64-bit divide)
META_INT32 = 0x200
#: meta arrays kept per device; past this many the cache starts over (a view-heavy workload)
CACHE_LIMIT = 8192


def numpy_dtype(dtype) -> np.dtype:
    """The NumPy (and CuPy) dtype of a tinygpt DType."""
    return _NUMPY_DTYPES[dtype.numpy_name]


def scalar(value: bool | int | float, dtype) -> np.generic:
    """`value` converted to `dtype` first (so 0.1 into float16 rounds as float16 does), then
    to the numpy type the kernel's $A argument has."""
    exact = _NUMPY_DTYPES[dtype.numpy_name].type(value)
    return _COMPUTE_DTYPES[dtype.numpy_name].type(exact)


def compute_dtype(dtype) -> np.dtype:
    return _COMPUTE_DTYPES[dtype.numpy_name]


class MetaCache:
    """Device-resident meta arrays, keyed by (shape, strides, offset)."""

    def __init__(self) -> None:
        self._arrays: dict[tuple, cupy.ndarray] = {}

    def __call__(self, x: NDArray) -> cupy.ndarray:
        return self.layout(x.shape, x.strides, x.offset)

    def dense(self, shape: tuple[int, ...]) -> cupy.ndarray:
        return self.layout(shape, strides_for(shape), 0)

    def layout(self, shape: tuple[int, ...], strides: tuple[int, ...], offset: int):
        key = (shape, strides, offset)
        meta = self._arrays.get(key)
        if meta is None:
            if len(self._arrays) >= CACHE_LIMIT:
                # NOTE: safe with kernels in flight: CuPy's pool reuses freed memory in stream
                # order, so a later allocation cannot overwrite it before they have read it.
                self._arrays.clear()
            head = len(shape) | layout_flags(shape, strides)
            host = np.array([head, offset, *shape, *strides], dtype=np.int64)
            meta = cupy.asarray(host)
            self._arrays[key] = meta
        return meta


def layout_flags(shape: tuple[int, ...], strides: tuple[int, ...]) -> int:
    """The flags of meta[0] for a view (see prelude.cuh's at())."""
    flags = META_INT32 if prod(shape) < 2**31 else 0
    dense = strides_for(shape)
    # a dim of size 1 is never stepped over, so its stride does not matter
    if all(n == 1 or s == d for n, s, d in zip(shape, strides, dense)):
        flags |= META_DENSE
    return flags


def as_cupy(x: NDArray) -> cupy.ndarray:
    """A CuPy view of `x` sharing its buffer (byte strides; 0 and negative work too)."""
    buffer = x.buffer
    if prod(x.shape) == 0:
        return cupy.empty(x.shape, buffer.dtype)
    itemsize = buffer.dtype.itemsize
    strides = tuple(s * itemsize for s in x.strides)
    memptr = buffer.data + x.offset * itemsize
    return cupy.ndarray(x.shape, buffer.dtype, memptr=memptr, strides=strides)
