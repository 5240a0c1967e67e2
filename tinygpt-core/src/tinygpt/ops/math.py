"""Elementwise tensor functions: dtype promotion, broadcasting, and the derived ops.

Every binary op goes through `binary`: check devices, promote dtypes (`Cast`), broadcast
(`Expand`), then call one same-shape primitive. Derived ops (relu, gelu, silu, clamp, ...)
are compositions and need no backward of their own.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .. import array_ops as A
from ..dtypes import DType, float32, int64, promote_types, result_type
from ..errors import DeviceError, DTypeError
from ..ndarray import broadcast_shapes
from . import elementwise as E
from .movement import Expand

if TYPE_CHECKING:
    from ..tensor import Tensor

__all__ = [
    "binary",
    "compare",
    "as_tensor_like",
    "cast",
    "exp",
    "log",
    "sqrt",
    "rsqrt",
    "abs",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "relu",
    "gelu",
    "silu",
    "erf",
    "clamp",
    "maximum",
    "minimum",
    "where",
    "masked_fill",
    "sign",
    "logical_not",
]

Scalar = bool | int | float
_PRIMITIVE = {
    "add": E.Add,
    "sub": E.Sub,
    "mul": E.Mul,
    "div": E.Div,
    "pow": E.Pow,
    "maximum": E.Maximum,
    "minimum": E.Minimum,
}


def as_tensor_like(value: object, like: Tensor) -> Tensor:
    """Lists / NumPy arrays become tensors on `like`'s device."""
    if type(value) is type(like):
        return value
    from ..creation import tensor
    from ..tensor import Tensor

    if isinstance(value, Tensor):  # e.g. a Parameter next to a plain Tensor
        return value

    return tensor(value, device=like.device)


def cast(x: Tensor, dtype: DType) -> Tensor:
    if x.dtype == dtype:
        return x
    if dtype not in x.data.backend.dtypes:
        raise DTypeError(f"to: backend {x.device} does not support {dtype}")
    if x.requires_grad and not dtype.is_floating_point:
        return _detached(A.cast(x.data, dtype))
    return E.Cast.apply(x, dtype=dtype)


def _detached(array):  # -> Tensor
    from ..tensor import Tensor

    return Tensor._make(array, False)


def _check_devices(op: str, a: Tensor, b: Tensor) -> None:
    if a.data.backend is not b.data.backend:
        raise DeviceError(
            f"{op}: tensors are on different devices: {a.device} and {b.device}; move one "
            f"with .to({str(a.device)!r}) (or .to({str(b.device)!r})) first"
        )


def _promote(op: str, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """Same device, same dtype (true division promotes ints to float32)."""
    _check_devices(op, a, b)
    if a.dtype is b.dtype and (op != "div" or a.dtype.kind == "f"):
        return a, b
    dtype = promote_types(a.dtype, b.dtype)
    if op == "div" and not dtype.is_floating_point:
        dtype = float32
    return cast(a, dtype), cast(b, dtype)


#: bool arithmetic as in PyTorch: + is or, * is and (the kernels' add/mul need numbers)
_BOOL_OPS = {
    "add": "logical_or",
    "mul": "logical_and",
    "maximum": "logical_or",
    "minimum": "logical_and",
}


def binary(op: str, a: Tensor, b: object, reflected: bool = False) -> Tensor:
    """`a op b` for a tensor and a tensor, a Python scalar, a list or an array."""
    if isinstance(b, (bool, int, float)):
        dtype = result_type(a.dtype, b)
        if op == "div" and not dtype.is_floating_point:
            dtype = float32
        if dtype.kind == "b":
            return _bool_binary(op, a, as_tensor_like(b, a))
        return E.ScalarOp.apply(cast(a, dtype), op=op, value=b, reflected=reflected)
    other = as_tensor_like(b, a)
    if reflected:
        a, other = other, a
    a, other = _promote(op, a, other)
    if a.dtype.kind == "b":
        return _bool_binary(op, a, other)
    if a.shape != other.shape:
        shape = broadcast_shapes(op, a.shape, other.shape)
        if a.shape != shape:
            a = Expand.apply(a, shape=shape)
        if other.shape != shape:
            other = Expand.apply(other, shape=shape)
    return _PRIMITIVE[op].apply(a, other)


def _bool_binary(op: str, a: Tensor, b: Tensor) -> Tensor:
    if op in _BOOL_OPS:
        return _detached(A.binary(_BOOL_OPS[op], a.data, b.data))
    if op == "sub":
        raise DTypeError("sub: subtracting bool tensors is not supported; use ^ or logical_not")
    return binary(op, cast(a, int64), cast(b, int64))  # pow: as integers


def compare(op: str, a: Tensor, b: object) -> Tensor:
    """Comparisons: bool results, no gradient."""
    if isinstance(b, (bool, int, float)):
        dtype = result_type(a.dtype, b)
        return _detached(A.scalar(op, cast(a, dtype).data, b))
    a, other = _promote(op, a, as_tensor_like(b, a))
    return _detached(A.binary(op, a.data, other.data))


def _float(x: Tensor, op: str) -> Tensor:
    if x.dtype.is_floating_point:
        return x
    return cast(x, float32)


def exp(x: Tensor) -> Tensor:
    return E.Exp.apply(_float(x, "exp"))


def log(x: Tensor) -> Tensor:
    return E.Log.apply(_float(x, "log"))


def sqrt(x: Tensor) -> Tensor:
    return E.Sqrt.apply(_float(x, "sqrt"))


def rsqrt(x: Tensor) -> Tensor:
    return binary("div", sqrt(x), 1.0, reflected=True)


def abs(x: Tensor) -> Tensor:  # noqa: A001 - the PyTorch name
    return E.Abs.apply(x)


def sign(x: Tensor) -> Tensor:
    return _detached(A.unary("sign", x.data))


def logical_not(x: Tensor) -> Tensor:
    truth = x.data if x.dtype.kind == "b" else A.scalar("ne", x.data, 0)
    return _detached(A.unary("logical_not", truth))


def sin(x: Tensor) -> Tensor:
    return E.Sin.apply(_float(x, "sin"))


def cos(x: Tensor) -> Tensor:
    return E.Cos.apply(_float(x, "cos"))


def tanh(x: Tensor) -> Tensor:
    return E.Tanh.apply(_float(x, "tanh"))


def sigmoid(x: Tensor) -> Tensor:
    return E.Sigmoid.apply(_float(x, "sigmoid"))


def erf(x: Tensor) -> Tensor:
    return E.Erf.apply(_float(x, "erf"))


def relu(x: Tensor) -> Tensor:
    return E.Relu.apply(x)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """GELU: x * Phi(x) exactly (erf), or the tanh approximation GPT-2 used.

    One fused kernel each way when the backend lists "gelu"; else composed from tanh/erf.
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    x = _float(x, "gelu")
    if "gelu" in x.data.backend.fused_ops:
        from .fused import Gelu  # NOTE: fused imports this module

        return Gelu.apply(x, approximate=approximate)
    if approximate == "tanh":
        # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        inner = (x + x * x * x * 0.044715) * math.sqrt(2.0 / math.pi)
        return x * 0.5 * (tanh(inner) + 1.0)
    return x * 0.5 * (erf(x * (1.0 / math.sqrt(2.0))) + 1.0)


def silu(x: Tensor) -> Tensor:
    return x * sigmoid(x)


def maximum(a: Tensor, b: object) -> Tensor:
    return binary("maximum", a, b)


def minimum(a: Tensor, b: object) -> Tensor:
    return binary("minimum", a, b)


def clamp(x: Tensor, min: Scalar | None = None, max: Scalar | None = None) -> Tensor:  # noqa: A002
    if min is not None:
        x = binary("maximum", x, min)
    if max is not None:
        x = binary("minimum", x, max)
    return x


def where(cond: Tensor, a: Tensor | Scalar, b: Tensor | Scalar) -> Tensor:
    """`a` where `cond` else `b`, broadcasting all three; a and b may be scalars."""
    from ..creation import full
    from ..dtypes import bool_
    from ..tensor import Tensor

    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise DTypeError("where: at least one of a, b must be a tensor")
    like = a if isinstance(a, Tensor) else b
    assert isinstance(like, Tensor)
    if cond.dtype != bool_:
        raise DTypeError(f"where: condition must be bool, got {cond.dtype}")
    if not isinstance(a, Tensor):
        a = full((), a, dtype=result_type(like.dtype, a), device=like.device)
    if not isinstance(b, Tensor):
        b = full((), b, dtype=result_type(like.dtype, b), device=like.device)
    _check_devices("where", cond, a)
    a, b = _promote("where", a, b)
    shape = broadcast_shapes("where", cond.shape, a.shape, b.shape)
    parts = [t if t.shape == shape else Expand.apply(t, shape=shape) for t in (cond, a, b)]
    return E.Where.apply(*parts)


def masked_fill(x: Tensor, mask: Tensor, value: Scalar) -> Tensor:
    """x with `value` wherever `mask` is true (mask broadcasts to x)."""
    filled = where(mask, value, x)
    return filled if filled.dtype == x.dtype else cast(filled, x.dtype)
