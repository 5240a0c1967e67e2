"""Reductions: sum, mean, var, std, max, min, argmax, argmin, logsumexp, any, all.

Shape rule: A -> reduced A over `dim` (an int, a tuple, or None for all), the reduced axes
removed or, with `keepdim`, kept as size 1. The primitives `Sum`, `Max` and `Min` come first;
the functions after them are built on them.

>>> import tinygpt as tg
>>> tg.tensor([[1.0, 2.0], [3.0, 4.0]]).sum(0).tolist()
[4.0, 6.0]
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import NamedTuple

from .. import array_ops as A
from ..autograd.function import Function
from ..dtypes import float16, float32, int64
from ..errors import ShapeError
from ..ndarray import NDArray, normalize_axis, prod
from ..tensor import Tensor
from .comparison import where
from .elementwise import exp, log, maximum, minimum, sqrt
from .promotion import cast, detached, to_float

__all__ = [
    "Sum",
    "Max",
    "Min",
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
    "any",
    "all",
    "MaxResult",
]


class Sum(Function):
    def forward(self, x: NDArray, axes: tuple[int, ...] = (), keepdim: bool = False) -> NDArray:
        self.axes = axes
        self.shape = x.shape
        return A.reduce("sum", x, axes, keepdim)

    def backward(self, grad: NDArray) -> NDArray:
        # every input element contributed once: broadcast the gradient back
        return A.expand_like(grad, self.axes, self.shape)


class _Extreme(Function):
    """max/min over axes: the gradient is shared equally between tied winners."""

    op = ""

    def forward(self, x: NDArray, axes: tuple[int, ...] = (), keepdim: bool = False) -> NDArray:
        self.axes = axes
        out = A.reduce(self.op, x, axes, keepdim)
        self.save_for_backward(x, out)
        return out

    def backward(self, grad: NDArray) -> NDArray:
        x, out = self.saved
        winners = A.cast(A.binary("eq", x, A.expand_like(out, self.axes, x.shape)), x.dtype)
        count = A.reduce("sum", winners, self.axes, keepdim=True)
        share = A.binary("div", A.expand_like(grad, self.axes, x.shape), count)
        return A.binary("mul", winners, share)


class Max(_Extreme):
    op = "max"


class Min(_Extreme):
    op = "min"


# ------------------------------------------------------------------ functions
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
        x = cast(x, int64)  # like PyTorch: integer and bool sums are int64
    return Sum.apply(x, axes=axes, keepdim=keepdim)


def _widened(x: Tensor) -> Tensor:
    """x as a float for statistics: float16 goes to float32, whose sums cannot overflow at
    65504 (the mean of 70000 ones is 1) and whose counts stay exact; PyTorch does the same."""
    x = to_float(x)
    return cast(x, float32) if x.dtype == float16 else x


def mean(x: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    axes = normalize_dims("mean", dim, x.ndim)
    count = prod(tuple(x.shape[a] for a in axes))
    wide = _widened(x)
    # NOTE: an empty reduction divides by 0 and gives nan, as in PyTorch and NumPy
    out = sum(wide, axes, keepdim) / float(count)
    return cast(out, x.dtype) if x.dtype == float16 else out


def var(
    x: Tensor,
    dim: Dim = None,
    keepdim: bool = False,
    *,
    correction: int = 1,
    unbiased: bool | None = None,
) -> Tensor:
    """Variance; `correction=1` (Bessel's, the PyTorch default) divides by N - 1.

    With N - correction <= 0 it divides by 0, as PyTorch: nan (inf for spread-out values).
    """
    if unbiased is not None:
        correction = 1 if unbiased else 0
    axes = normalize_dims("var", dim, x.ndim)
    count = prod(tuple(x.shape[a] for a in axes))
    wide = _widened(x)
    centered = wide - mean(wide, axes, keepdim=True)
    out = sum(centered * centered, axes, keepdim) / float(builtins.max(count - correction, 0))
    return cast(out, x.dtype) if x.dtype == float16 else out


def std(
    x: Tensor,
    dim: Dim = None,
    keepdim: bool = False,
    *,
    correction: int = 1,
    unbiased: bool | None = None,
) -> Tensor:
    """Standard deviation sqrt(var); its gradient is 0 where it is 0 (constant input), as in
    PyTorch, not the 0 * inf = nan of differentiating sqrt at 0."""
    wide = var(_widened(x), dim, keepdim, correction=correction, unbiased=unbiased)
    zero = wide == 0
    # subtle: sqrt's backward at 0 divides by 0 even where `where` drops its result, so
    # the root is taken of 1 there and `wide` itself (0, gradient 1 * dvar = 0) passes through
    out = where(zero, wide, sqrt(where(zero, 1.0, wide)))
    return cast(out, x.dtype) if x.dtype == float16 else out


def _check_nonempty(op: str, x: Tensor, dim: Dim) -> None:
    """max/min/argmax/argmin have no identity: an empty reduced axis is an error (PyTorch's
    too), while an empty tensor reduced over a non-empty axis gives an empty result."""
    axes = normalize_dims(op, dim, x.ndim)
    if x.numel() == 0 and (not axes or builtins.any(x.shape[a] == 0 for a in axes)):
        raise ShapeError(
            f"{op}: cannot reduce over an empty dim: input {x.shape}, dim {dim}; the result "
            "would have no value"
        )


def _extreme(
    fn: type[Max] | type[Min], op: str, x: Tensor, dim: int | tuple[int, ...] | None, keepdim: bool
):
    _check_nonempty(op, x, dim)
    if dim is None:
        return fn.apply(x, axes=tuple(range(x.ndim)), keepdim=False)
    if not isinstance(dim, int):
        return fn.apply(x, axes=normalize_dims(op, dim, x.ndim), keepdim=keepdim)
    values = fn.apply(x, axes=normalize_dims(op, dim, x.ndim), keepdim=keepdim)
    indices = (argmax if op == "max" else argmin)(x, dim, keepdim)
    return MaxResult(values, indices)


def max(x: Tensor, dim: int | tuple[int, ...] | Tensor | None = None, keepdim: bool = False):  # noqa: A001
    """Max of all elements (0-d), or (values, indices) along one `dim` like PyTorch;
    `max(x, other)` with a tensor is the elementwise `maximum`, as PyTorch's overload."""
    if isinstance(dim, Tensor):
        return maximum(x, dim)
    return _extreme(Max, "max", x, dim, keepdim)


def min(x: Tensor, dim: int | tuple[int, ...] | Tensor | None = None, keepdim: bool = False):  # noqa: A001
    if isinstance(dim, Tensor):
        return minimum(x, dim)
    return _extreme(Min, "min", x, dim, keepdim)


def _arg(op: str, x: Tensor, dim: int | None, keepdim: bool) -> Tensor:
    _check_nonempty(op, x, dim)
    data = x._data
    if dim is None:
        data = data.reshape((data.size,))
        axis = 0
    else:
        axis = normalize_axis(op, dim, x.ndim)
    if data.ndim == 0:
        return detached(A.full(data, (), 0, int64))
    out = A.arg_reduce(op, data, axis, keepdim and dim is not None)
    return detached(out)


def argmax(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _arg("argmax", x, dim, keepdim)


def argmin(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _arg("argmin", x, dim, keepdim)


def logsumexp(x: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) computed stably: the max is subtracted first so exp cannot overflow.

    As in PyTorch: an inf makes it inf, all -inf (or an empty dim) gives -inf.
    """
    axes = normalize_dims("logsumexp", dim, x.ndim)
    x = to_float(x)
    if builtins.any(x.shape[a] == 0 for a in axes):
        return sum(x, axes, keepdim) + float("-inf")  # log(0); still a node of the graph
    peak = Max.apply(x, axes=axes, keepdim=True).detach()
    # NOTE: an infinite peak is not subtracted: inf - inf and -inf - -inf would be nan,
    # while exp(x) itself already gives the right sum (inf, or 0 whose log is -inf)
    peak = where(peak.abs() == float("inf"), 0.0, peak)
    total = sum(exp(x - peak), axes, keepdim=True)
    out = log(total) + peak
    return out if keepdim else out.squeeze(axes)


def any(x: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True where some element over `dim` (all dims when None) is nonzero (bool)."""
    return (x != 0).sum(dim, keepdim) > 0


def all(x: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True where every element over `dim` (all dims when None) is nonzero (bool)."""
    return (x == 0).sum(dim, keepdim) == 0
