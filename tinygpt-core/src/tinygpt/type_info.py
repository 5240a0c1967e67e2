"""`tg.finfo(dtype)` and `tg.iinfo(dtype)`: the limits of a dtype, as PyTorch's (code reads
`tg.finfo(x.dtype).min` to fill masked scores, `.eps` for tolerances).

>>> import tinygpt as tg
>>> tg.finfo(tg.float16).max, tg.iinfo(tg.uint8).max
(65504.0, 255)
"""

from __future__ import annotations

import math
from typing import Any

from .dtypes import as_dtype
from .errors import DTypeError

__all__ = ["finfo", "iinfo"]

#: (explicit mantissa bits, largest exponent) of each floating format
_FLOAT_FORMATS = {
    "float16": (10, 15),
    "bfloat16": (7, 127),
    "float32": (23, 127),
    "float64": (52, 1023),
}


class finfo:  # noqa: N801 - PyTorch's name
    """Machine limits of a floating dtype: bits, eps, max, min (= -max), tiny, resolution."""

    def __init__(self, dtype: Any = "float32") -> None:
        d = as_dtype(dtype)
        if d.name not in _FLOAT_FORMATS:
            raise DTypeError(f"finfo: {d.name} is not a floating dtype; use tg.iinfo for integers")
        mantissa, top = _FLOAT_FORMATS[d.name]
        self.dtype = d.name
        self.bits = d.itemsize * 8
        self.eps = 2.0**-mantissa  # the gap between 1.0 and the next value
        self.max = (2.0 - 2.0**-mantissa) * 2.0**top
        self.min = -self.max
        self.tiny = 2.0 ** (1 - top)  # the smallest normal value
        self.resolution = 10.0 ** -math.floor(mantissa * math.log10(2))

    def __repr__(self) -> str:
        return f"finfo(dtype={self.dtype}, eps={self.eps}, max={self.max}, tiny={self.tiny})"


class iinfo:  # noqa: N801 - PyTorch's name
    """Limits of an integer dtype: bits, min, max."""

    def __init__(self, dtype: Any) -> None:
        d = as_dtype(dtype)
        if d.kind != "i":
            raise DTypeError(f"iinfo: {d.name} is not an integer dtype; use tg.finfo for floats")
        self.dtype = d.name
        self.bits = d.itemsize * 8
        signed = d.is_signed
        self.min = -(2 ** (self.bits - 1)) if signed else 0
        self.max = 2 ** (self.bits - 1) - 1 if signed else 2**self.bits - 1

    def __repr__(self) -> str:
        return f"iinfo(dtype={self.dtype}, min={self.min}, max={self.max})"
