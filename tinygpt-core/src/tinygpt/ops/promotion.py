"""How operands meet before a primitive runs: one device, one dtype.

`promote` checks devices and casts both operands to their common dtype (PyTorch's rules,
`dtypes.promote_types`) with the `Cast` primitive, whose backward casts the gradient back.
Every binary op, comparison and fused op goes through here, so a device or dtype mismatch
fails the same way, naming the op and both sides.
"""

from __future__ import annotations

from typing import Any

from .. import array_ops as A
from ..autograd.function import Function
from ..creation import tensor
from ..dtypes import DType, as_dtype, get_default_dtype, promote_types
from ..errors import DeviceError, DTypeError
from ..ndarray import NDArray
from ..tensor import Tensor

__all__ = [
    "Cast",
    "cast",
    "as_tensor_like",
    "check_devices",
    "check_same",
    "check_float",
    "promote",
    "to_float",
    "detached",
]


class Cast(Function):
    """A -> A in another dtype; the gradient is cast back to the input's dtype."""

    def forward(self, x: NDArray, dtype: Any = None) -> NDArray:
        self.source = x.dtype
        return A.cast(x, dtype)

    def backward(self, grad: NDArray) -> NDArray:
        return A.cast(grad, self.source)


def cast(x: Tensor, dtype: DType | str) -> Tensor:
    """x in `dtype` (x itself when it already is); differentiable between float dtypes."""
    dtype = as_dtype(dtype)
    if x.dtype == dtype:
        return x
    if dtype not in x._data.backend.dtypes:
        raise DTypeError(f"to: backend {x.device} does not support {dtype}")
    if x.requires_grad and not dtype.is_floating_point:
        return detached(A.cast(x._data, dtype))
    return Cast.apply(x, dtype=dtype)


def detached(array: NDArray) -> Tensor:
    """A result that carries no gradient (comparisons, integer results)."""
    return Tensor._make(array, False)


def as_tensor_like(value: object, like: Tensor) -> Tensor:
    """Lists / NumPy arrays become tensors on `like`'s device; tensors pass through."""
    if isinstance(value, Tensor):  # also a Parameter next to a plain Tensor
        return value
    return tensor(value, device=like.device)


def check_devices(op: str, a: Tensor, b: Tensor) -> None:
    if a._data.backend is not b._data.backend:
        raise DeviceError(
            f"{op}: tensors are on different devices: {a.device} and {b.device}; move one "
            f"with .to({str(a.device)!r}) (or .to({str(b.device)!r})) first"
        )


def check_same(op: str, x: Tensor, other: Tensor) -> None:
    """Fused ops take no promotion: one device and one dtype, or a clear error."""
    check_devices(op, x, other)
    if other.dtype != x.dtype:
        raise DTypeError(
            f"{op}: input is {x.dtype} but another operand is {other.dtype}; "
            f"convert with .to({x.dtype})"
        )


def check_float(op: str, x: Tensor) -> None:
    if not x.dtype.is_floating_point:
        raise DTypeError(f"{op}: expected a floating input, got {x.dtype}; use .float()")


def promote(op: str, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """Same device, same dtype (true division promotes ints to float32)."""
    check_devices(op, a, b)
    if a.dtype is b.dtype and (op != "div" or a.dtype.kind == "f"):
        return a, b
    dtype = promote_types(a.dtype, b.dtype)
    if op == "div" and not dtype.is_floating_point:
        dtype = get_default_dtype()
    return cast(a, dtype), cast(b, dtype)


def to_float(x: Tensor) -> Tensor:
    """Integer and bool inputs of float maths (exp, softmax, mean) become the default float
    dtype (float32 unless `tg.set_default_dtype` changed it)."""
    if x._data.dtype.kind == "f":  # the NDArray's field, not two properties: once per op
        return x
    return cast(x, get_default_dtype())
