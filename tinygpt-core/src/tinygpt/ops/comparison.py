"""Comparisons and the ops that choose between values with their results: eq/lt/...,
logical and/or/not, `where` (its primitive), masked_fill, clamp, tril and triu.

Comparisons and logical ops return bool tensors with no gradient. `Where` passes the gradient
to whichever input each element came from.

>>> import tinygpt as tg
>>> x = tg.tensor([1.0, -2.0, 3.0])
>>> tg.where(x > 0, x, 0.0).tolist()
[1.0, 0.0, 3.0]
"""

from __future__ import annotations

from typing import Any

from .. import array_ops as A
from ..autograd.function import Function
from ..creation import arange, full, tensor
from ..dtypes import bool_, check_fits, get_default_dtype, int64, result_type
from ..errors import DTypeError, ShapeError
from ..ndarray import NDArray, broadcast_shapes
from ..tensor import Tensor
from .aliases import nonzero
from .elementwise import Scalar, binary
from .movement import Expand
from .promotion import as_tensor_like, cast, check_devices, detached, promote

__all__ = [
    "Where",
    "compare",
    "logical",
    "logical_not",
    "where",
    "masked_fill",
    "clamp",
    "tril",
    "triu",
]


class Where(Function):
    """where(cond, a, b): cond is bool and gets no gradient."""

    def forward(self, cond: NDArray, a: NDArray, b: NDArray) -> NDArray:
        self.save_for_backward(cond)
        return A.where(cond, a, b)

    def backward(self, grad: NDArray) -> tuple[None, NDArray | None, NDArray | None]:
        (cond,) = self.saved
        zero = A.zeros(grad, ())  # broadcast by where: no full-size array of zeros
        # NOTE: masked_fill's fill value needs no gradient: skip its (full-size) where
        da = A.where(cond, grad, zero) if self.needs_grad[1] else None
        db = A.where(cond, zero, grad) if self.needs_grad[2] else None
        return None, da, db


# ------------------------------------------------------------------ functions
def compare(op: str, a: Tensor, b: object) -> Tensor:
    """Comparisons (eq, ne, lt, le, gt, ge): bool results, no gradient."""
    if isinstance(b, (bool, int, float)):
        dtype = result_type(a.dtype, b)
        check_fits(op, b, dtype)
        return detached(A.scalar(op, cast(a, dtype)._data, b))
    a, other = promote(op, a, as_tensor_like(b, a))
    return detached(A.binary(op, a._data, other._data))


def logical(op: str, a: Tensor, b: object) -> Tensor:
    """`a & b`, `a | b` on bool tensors (op: "logical_and" or "logical_or")."""
    other = as_tensor_like(b, a)
    if a.dtype != bool_ or other.dtype != bool_:
        raise DTypeError(f"{op}: needs bool tensors, got {a.dtype} and {other.dtype}")
    check_devices(op, a, other)
    return detached(A.binary(op, a._data, other._data))


def logical_not(x: Tensor) -> Tensor:
    truth = x._data if x.dtype.kind == "b" else A.scalar("ne", x._data, 0)
    return detached(A.unary("logical_not", truth))


def clamp(x: Tensor, min: Scalar | None = None, max: Scalar | None = None) -> Tensor:  # noqa: A002
    if min is not None:
        x = binary("maximum", x, min)
    if max is not None:
        x = binary("minimum", x, max)
    return x


def where(cond: Tensor, a: Tensor | Scalar | None = None, b: Tensor | Scalar | None = None) -> Any:
    """`a` where `cond` else `b`, broadcasting all three; a and b may be scalars.
    `where(cond)` alone is `nonzero(cond, as_tuple=True)`, as PyTorch."""
    if a is None and b is None:
        return nonzero(cond, as_tuple=True)
    if a is None or b is None:
        raise TypeError("where: pass both a and b, or neither (where(cond) is nonzero(cond))")
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        # two numbers: PyTorch's dtype for them (bool, int64, or the default float)
        if isinstance(a, bool) and isinstance(b, bool):
            kind = bool_
        elif isinstance(a, float) or isinstance(b, float):
            kind = get_default_dtype()
        else:
            kind = int64
        a = tensor(a, dtype=kind, device=cond.device)
    like = a if isinstance(a, Tensor) else b
    assert isinstance(like, Tensor)
    if cond.dtype != bool_:
        raise DTypeError(f"where: condition must be bool, got {cond.dtype}")
    if not isinstance(a, Tensor):
        a = full((), a, dtype=result_type(like.dtype, a), device=like.device)
    if not isinstance(b, Tensor):
        b = full((), b, dtype=result_type(like.dtype, b), device=like.device)
    check_devices("where", cond, a)
    a, b = promote("where", a, b)
    shape = broadcast_shapes("where", cond.shape, a.shape, b.shape)
    parts = [t if t.shape == shape else Expand.apply(t, shape=shape) for t in (cond, a, b)]
    return Where.apply(*parts)


def masked_fill(x: Tensor, mask: Tensor, value: Scalar) -> Tensor:
    """x with `value` wherever `mask` is true (mask broadcasts to x)."""
    check_fits("masked_fill", value, x.dtype)  # nan into an int tensor: an error, as PyTorch
    filled = where(mask, value, x)
    return filled if filled.dtype == x.dtype else cast(filled, x.dtype)


def _band(x: Tensor, diagonal: int, lower: bool) -> Tensor:
    if x.ndim < 2:
        raise ShapeError(f"{'tril' if lower else 'triu'}: needs >= 2 dims, got {x.shape}")
    rows = arange(x.shape[-2], device=x.device).reshape(-1, 1)
    cols = arange(x.shape[-1], device=x.device).reshape(1, -1)
    offset = cols - rows  # (R, C): how far right of the diagonal each element is
    keep = (offset <= diagonal) if lower else (offset >= diagonal)
    return where(keep, x, False if x.dtype == bool_ else 0)


def tril(x: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (the rest zero)."""
    return _band(x, diagonal, lower=True)


def triu(x: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (the rest zero)."""
    return _band(x, diagonal, lower=False)
