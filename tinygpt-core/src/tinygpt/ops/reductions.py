"""Reductions over `dim` (an int, a tuple, or None for all) with `keepdim`, and softmax."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from .. import array_ops as A
from ..dtypes import int64
from ..errors import ShapeError
from ..ndarray import normalize_axis, prod
from . import math as M
from .reduce import Max, Min, Softmax, Sum

if TYPE_CHECKING:
    from ..tensor import Tensor

__all__ = [
    "normalize_dims",
    "sum",
    "mean",
    "var",
    "std",
    "max",
    "min",
    "argmax",
    "argmin",
    "logsumexp",
    "softmax",
    "log_softmax",
    "MaxResult",
]

Dim = int | Sequence[int] | None


class MaxResult(NamedTuple):
    """What `x.max(dim)` returns, like PyTorch: the values and their int64 indices."""

    values: Tensor
    indices: Tensor


def normalize_dims(op: str, dim: Dim, ndim: int) -> tuple[int, ...]:
    """`dim` as sorted non-negative axes; None means every axis."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    axes = sorted({normalize_axis(op, d, ndim) for d in dims})
    if len(axes) != len(dims):
        raise ShapeError(f"{op}: dim {dim} names the same axis twice")
    return tuple(axes) if ndim else ()


def sum(x: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    axes = normalize_dims("sum", dim, x.ndim)
    if x.dtype.kind != "f":
        x = M.cast(x, int64)  # like PyTorch: integer and bool sums are int64
    return Sum.apply(x, axes=axes, keepdim=keepdim)


def mean(x: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    axes = normalize_dims("mean", dim, x.ndim)
    count = prod(tuple(x.shape[a] for a in axes))
    # NOTE: an empty reduction divides by 0 and gives nan, as in PyTorch and NumPy
    return sum(M._float(x, "mean"), axes, keepdim) / float(count)


def var(
    x: Tensor,
    dim: Dim = None,
    keepdim: bool = False,
    *,
    correction: int = 1,
    unbiased: bool | None = None,
) -> Tensor:
    """Variance; `correction=1` (Bessel's, the PyTorch default) divides by N - 1."""
    if unbiased is not None:
        correction = 1 if unbiased else 0
    axes = normalize_dims("var", dim, x.ndim)
    count = prod(tuple(x.shape[a] for a in axes))
    x = M._float(x, "var")
    centered = x - mean(x, axes, keepdim=True)
    return sum(centered * centered, axes, keepdim) / float(count - correction)


def std(
    x: Tensor,
    dim: Dim = None,
    keepdim: bool = False,
    *,
    correction: int = 1,
    unbiased: bool | None = None,
) -> Tensor:
    return M.sqrt(var(x, dim, keepdim, correction=correction, unbiased=unbiased))


def _extreme(fn: type[Max] | type[Min], op: str, x: Tensor, dim: int | None, keepdim: bool):
    if x.numel() == 0:
        raise ShapeError(f"{op}: cannot reduce an empty tensor of shape {x.shape}")
    if dim is None:
        return fn.apply(x, axes=tuple(range(x.ndim)), keepdim=False)
    if not isinstance(dim, int):
        return fn.apply(x, axes=normalize_dims(op, dim, x.ndim), keepdim=keepdim)
    values = fn.apply(x, axes=normalize_dims(op, dim, x.ndim), keepdim=keepdim)
    indices = (argmax if op == "max" else argmin)(x, dim, keepdim)
    return MaxResult(values, indices)


def max(x: Tensor, dim: int | None = None, keepdim: bool = False):  # noqa: A001
    """Max of all elements (0-d), or (values, indices) along one `dim` like PyTorch."""
    return _extreme(Max, "max", x, dim, keepdim)


def min(x: Tensor, dim: int | None = None, keepdim: bool = False):  # noqa: A001
    return _extreme(Min, "min", x, dim, keepdim)


def _arg(op: str, x: Tensor, dim: int | None, keepdim: bool) -> Tensor:
    from ..tensor import Tensor

    if x.numel() == 0:
        raise ShapeError(f"{op}: cannot reduce an empty tensor of shape {x.shape}")
    data = x.data
    if dim is None:
        data = data.reshape((data.size,))
        axis = 0
    else:
        axis = normalize_axis(op, dim, x.ndim)
    if data.ndim == 0:
        return Tensor._make(A.full(data, (), 0, int64), False)
    out = A.arg_reduce(op, data, axis, keepdim and dim is not None)
    return Tensor._make(out, False)


def argmax(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _arg("argmax", x, dim, keepdim)


def argmin(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _arg("argmin", x, dim, keepdim)


def logsumexp(x: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) computed stably: the max is subtracted first so exp cannot overflow."""
    axes = normalize_dims("logsumexp", dim, x.ndim)
    peak = Max.apply(x, axes=axes, keepdim=True).detach()
    total = sum(M.exp(x - peak), axes, keepdim=True)
    out = M.log(total) + peak
    return out if keepdim else out.squeeze(axes)


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    return _softmax(x, dim, log=False)


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    return _softmax(x, dim, log=True)


def _softmax(x: Tensor, dim: int, log: bool) -> Tensor:
    x = M._float(x, "softmax")
    axis = normalize_axis("softmax", dim, x.ndim)
    if x.ndim == 0:
        x = x.reshape(1)
        out = _softmax(x, 0, log)
        return out.reshape(())
    if "softmax" in x.data.backend.fused_ops:
        return Softmax.apply(x, axis=axis, log=log)
    # composite fallback; NOTE: subtracting the max keeps exp() from overflowing
    shifted = x - Max.apply(x, axes=(axis,), keepdim=True).detach()
    if log:
        return shifted - M.log(sum(M.exp(shifted), axis, keepdim=True))
    e = M.exp(shifted)
    return e / sum(e, axis, keepdim=True)
