"""bfloat16, int8 and uint8 on the cpu backend: stored narrow, computed wide.

The compiled kernels compute in bool, int32, int64, float16 (via float32), float32 and
float64. For the storage-only dtypes, `CpuBackend` widens each operand here (bfloat16 ->
float32, int8/uint8 -> int32, exactly), runs the ordinary kernel, and casts the result back
(bfloat16 rounds to nearest even; int8/uint8 wrap, as in NumPy and PyTorch). Kernels that
only move bits (copy, setitem, fill, gather, where) and the random fills read them directly.

>>> from tinygpt.dtypes import bfloat16
>>> bfloat16 in COMPUTE
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tinygpt.dtypes import DType, bfloat16, float32, int8, int32, uint8
from tinygpt.ndarray import NDArray

from .native import memory

if TYPE_CHECKING:
    from .buffer import Buffer

__all__ = ["COMPUTE", "COMPARISONS", "widen", "narrow", "write_back"]

#: storage dtype -> the dtype its kernels compute in
COMPUTE: dict[DType, DType] = {bfloat16: float32, int8: int32, uint8: int32}
#: ops whose result is bool whatever the operands (nothing to narrow)
COMPARISONS = frozenset({"eq", "ne", "lt", "le", "gt", "ge"})


def widen(x: Any) -> Any:
    """`x` (an NDArray or None) in its compute dtype: a dense copy, or `x` itself."""
    if x is None or x.dtype not in COMPUTE:
        return x
    wide = COMPUTE[x.dtype]
    return NDArray(x.backend, memory.cast(x, wide), x.shape, wide)


def narrow(buffer: Buffer | None, dtype: DType) -> Buffer | None:
    """A dense result computed in `dtype`'s compute dtype, cast back to `dtype`."""
    if buffer is None or dtype not in COMPUTE:
        return buffer
    wide = COMPUTE[dtype]
    return memory.cast(NDArray(None, buffer, (buffer.size,), wide), dtype)  # type: ignore[arg-type]


def write_back(dst: NDArray, wide: NDArray) -> None:
    """An in-place result computed in `wide` stored into the narrow `dst` it was made from."""
    narrowed = memory.cast(wide, dst.dtype)
    memory.setitem(dst, NDArray(dst.backend, narrowed, dst.shape, dst.dtype))
