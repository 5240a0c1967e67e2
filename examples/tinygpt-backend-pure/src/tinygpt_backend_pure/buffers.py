"""Buffers are `array.array`s; how to read a dense input, and how to walk any view.

The backend sets ``dense_inputs = True``, so core hands its compute kernels dense inputs only:
offset 0, row-major, the elements are ``buffer[0:size]`` (`dense`). Only the memory movers
(copy, setitem, fill, to_host) see arbitrary views: (buffer, shape, strides, offset), element
(i0, i1, ...) at ``buffer[offset + i0*strides[0] + i1*strides[1] + ...]``. `positions` lists
those buffer indices in row-major order: transposed, broadcast (stride 0), reversed (negative
strides) or offset, it is the one place where strides are read.

>>> from array import array
>>> from tinygpt.dtypes import float32
>>> from tinygpt.ndarray import NDArray
>>> x = NDArray(None, array("f", range(6)), (2, 3), float32)
>>> positions(x)
[0, 1, 2, 3, 4, 5]
>>> positions(x.transpose(0, 1))  # (3, 2) with strides (1, 3)
[0, 3, 1, 4, 2, 5]
>>> dense(x.slice((0, slice(None))))  # row 0: dense, a prefix of the buffer
array('f', [0.0, 1.0, 2.0])
>>> new_buffer(float32, [1, 2.5])
array('f', [1.0, 2.5])
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable
from typing import TYPE_CHECKING

from tinygpt.dtypes import DType
from tinygpt.errors import BackendError

if TYPE_CHECKING:
    from tinygpt.ndarray import NDArray

__all__ = [
    "TYPECODES",
    "typecode",
    "new_buffer",
    "convert",
    "wrap_int",
    "dense",
    "positions",
    "values",
]


def _typecode_of_size(candidates: str, itemsize: int) -> str:
    """The first array typecode among `candidates` whose items are `itemsize` bytes here."""
    for code in candidates:
        if array(code).itemsize == itemsize:
            return code
    raise RuntimeError(f"no array typecode of {itemsize} bytes among {candidates!r}")


#: tinygpt dtype name -> `array` typecode. float16 is missing: `array` has no half type,
#: so PureBackend does not list float16 (core and the kit then never ask for it).
#: NOTE: C's `int` and `long` differ in size between platforms, hence the look-up.
TYPECODES = {
    "float32": "f",
    "float64": "d",
    "int32": _typecode_of_size("il", 4),
    "int64": "q",  # always 8 bytes
    "bool": "B",  # one byte, 0 or 1: the same bytes NumPy uses for bool
}


def typecode(dtype: DType) -> str:
    """The `array` typecode that stores `dtype`; a BackendError for float16."""
    code = TYPECODES.get(dtype.name)
    if code is None:
        raise BackendError(
            f"pure: cannot store {dtype} (Python's array module has no such type); "
            f"the pure backend lists {sorted(TYPECODES)}"
        )
    return code


def new_buffer(dtype: DType, items: Iterable[bool | int | float]) -> array:
    """A fresh buffer of `dtype` holding `items` (floats round to float32 as they go in)."""
    code = typecode(dtype)
    items = list(items)
    try:
        return array(code, items)
    except OverflowError:
        # C integers wrap around on overflow (int32: 2**31 -> -2**31); Python ints do not.
        return array(code, [wrap_int(item, dtype) for item in items])


def wrap_int(value: int, dtype: DType) -> int:
    """`value` wrapped into the range of a signed integer dtype, as C does."""
    bits = 8 * dtype.itemsize
    return (int(value) + 2 ** (bits - 1)) % 2**bits - 2 ** (bits - 1)


def convert(value: bool | int | float, dtype: DType) -> bool | int | float:
    """One Python value as an element of `dtype`, with C's conversion rules.

    float -> int truncates toward zero (NaN and inf give the most negative integer, as
    NumPy does on x86); anything -> bool is "not zero"; float32 rounds to the nearest float32.
    """
    if dtype.kind == "b":
        return value != 0
    if dtype.kind == "i":
        if isinstance(value, float) and not math.isfinite(value):
            return -(2 ** (8 * dtype.itemsize - 1))
        return wrap_int(int(value), dtype)
    if dtype.name == "float32":
        return array("f", [value])[0]  # the float32 nearest to value
    return float(value)


def dense(x: NDArray) -> array:
    """The elements of a dense input `x` (what compute kernels get), as a new array.

    NOTE: slice, do not take the whole buffer: `x` may be a prefix of a longer one.
    """
    return x.buffer[: x.size]


def positions(x: NDArray) -> list[int]:
    """The buffer index of every element of view `x`, in row-major order."""
    found = [x.offset]
    for size, stride in zip(x.shape, x.strides):
        # every index so far, extended by each step along this dim: the last dim varies fastest
        found = [start + i * stride for start in found for i in range(size)]
    return found


def values(x: NDArray) -> list[bool | int | float]:
    """The elements of any view `x` as Python numbers, in row-major order."""
    buffer = x.buffer
    return [buffer[p] for p in positions(x)]
