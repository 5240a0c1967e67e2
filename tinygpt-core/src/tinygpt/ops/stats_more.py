"""Statistics, searching and integration with PyTorch's names, composed of existing ops:
`nanmean`, `aminmax`, `kthvalue`, `mode`, `quantile`, `nanquantile`, `histc`, `cov`,
`corrcoef`, `trapezoid`, `cumulative_trapezoid`, `cross`, `dist`, `renorm`, `isin`,
`searchsorted`, `bucketize`.

Selections (kthvalue, quantile) sort first and then gather, so the gradient reaches the
chosen elements, as in PyTorch. `searchsorted`, `isin` and `mode` compare every pair of
elements (memory grows as the product of the two sizes): fine for the small lookups
everyday code does, not for millions of elements.

>>> import tinygpt as tg
>>> tg.searchsorted(tg.tensor([1, 3, 5]), tg.tensor([3, 6])).tolist()
[1, 3]
>>> tg.quantile(tg.tensor([1.0, 2.0, 3.0, 4.0]), 0.5).item()
2.5
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from ..creation import arange, full, tensor, zeros
from ..dtypes import int32, int64
from ..errors import DTypeError, ShapeError
from ..ndarray import normalize_axis
from ..tensor import Tensor
from .classify import isnan
from .comparison import clamp, where
from .movement import stack
from .movement_more import movedim, same_dtype
from .norms import norm
from .promotion import cast, to_float
from .reductions import MaxResult
from .scatter import gather, scatter_add
from .structure_more import broadcast_shapes

__all__ = [
    "AminmaxResult",
    "aminmax",
    "bucketize",
    "corrcoef",
    "cov",
    "cross",
    "cumulative_trapezoid",
    "dist",
    "histc",
    "isin",
    "kthvalue",
    "mode",
    "nanmean",
    "nanquantile",
    "quantile",
    "renorm",
    "searchsorted",
    "trapezoid",
]


class AminmaxResult(NamedTuple):
    min: Tensor
    max: Tensor


# ------------------------------------------------------------------ reductions
def nanmean(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """The mean of the non-nan elements (nan where all are nan)."""
    x = to_float(x)
    present = ~isnan(x)
    clean = where(present, x, 0.0)
    if dim is None:
        return clean.sum() / present.sum()
    return clean.sum(dim, keepdim) / present.sum(dim, keepdim)


def aminmax(x: Tensor, *, dim: int | None = None, keepdim: bool = False) -> AminmaxResult:
    """(min, max) over `dim` (all elements when None)."""
    if dim is None:
        return AminmaxResult(x.amin(), x.amax())
    return AminmaxResult(x.amin(dim, keepdim), x.amax(dim, keepdim))


def kthvalue(x: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> MaxResult:
    """(values, indices) of the k-th smallest element along `dim` (k counts from 1)."""
    axis = normalize_axis("kthvalue", dim, max(x.ndim, 1))
    n = x.shape[axis] if x.ndim else 1
    if not 1 <= k <= n:
        raise IndexError(f"kthvalue: k = {k} is out of range for dim {axis} of size {n}")
    if x.ndim == 0:
        return MaxResult(x.clone(), zeros((), dtype=int64, device=x.device))
    order = x.argsort(axis, stable=True)
    index = order.narrow(axis, k - 1, 1)
    values = gather(x, axis, index)
    if not keepdim:
        values, index = values.squeeze(axis), index.squeeze(axis)
    return MaxResult(values, index)


def mode(x: Tensor, dim: int = -1, keepdim: bool = False) -> MaxResult:
    """(values, indices): the most frequent value along `dim` (the smallest on a tie) and
    the position of its last occurrence."""
    if x.ndim == 0:
        return MaxResult(x.clone(), zeros((), dtype=int64, device=x.device))
    axis = normalize_axis("mode", dim, x.ndim)
    moved = movedim(x.detach(), axis, -1)  # (..., n)
    n = moved.shape[-1]
    equal = moved.unsqueeze(-1) == moved.unsqueeze(-2)  # (..., n, n)
    counts = equal.sum(-1)  # (..., n): how often each element's value occurs
    most = counts.amax(-1, keepdim=True)
    # among the most frequent values, the smallest: rank candidates by value, others last
    candidates = counts == most
    ranked = moved.argsort(-1, stable=True)  # ascending values
    first = gather(candidates, -1, ranked).long().argmax(-1, keepdim=True)
    value = gather(moved, -1, gather(ranked, -1, first))  # (..., 1)
    positions = arange(n, device=x.device).expand(*moved.shape)
    last = where(moved == value, positions, -1).amax(-1, keepdim=True)  # (..., 1)
    index = movedim(last, -1, axis)
    values = gather(x, axis, index)
    if not keepdim:
        values, index = values.squeeze(axis), index.squeeze(axis)
    return MaxResult(values, index)


# ------------------------------------------------------------------ quantiles
_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def quantile(
    x: Tensor,
    q: Any,
    dim: int | None = None,
    keepdim: bool = False,
    *,
    interpolation: str = "linear",
    ignore_nan: bool = False,
) -> Tensor:
    """The q-th quantiles of x along `dim` (flattened when None); a 1-D q adds a leading dim.
    nan anywhere in a slice gives nan there, unless `ignore_nan` (nanquantile)."""
    op = "nanquantile" if ignore_nan else "quantile"
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(
            f"{op}: interpolation must be one of {_INTERPOLATIONS}, got {interpolation!r}"
        )
    if not x.dtype.is_floating_point:
        raise DTypeError(f"{op}: input must be float32 or float64, got {x.dtype}; use .float()")
    qs = q if isinstance(q, Tensor) else tensor(q, dtype=x.dtype, device=x.device)
    if qs.ndim > 1:
        raise ShapeError(f"{op}: q must be a number or a 1-D tensor, got shape {tuple(qs.shape)}")
    qs = cast(qs, x.dtype)
    if ((qs < 0) | (qs > 1)).any().item():
        raise ValueError(f"{op}: q values must be in [0, 1]")
    data = x.reshape(-1) if dim is None else movedim(x, dim, -1)  # (..., n)
    n = data.shape[-1]
    if n == 0:
        raise ShapeError(f"{op}: cannot take a quantile of an empty slice")
    values = data.sort(-1).values  # nan sort last
    nan_count = isnan(data).sum(-1, keepdim=True)  # (..., 1)
    valid = (n - nan_count) if ignore_nan else full(nan_count.shape, n, device=x.device)
    last = cast(clamp(valid - 1, 0, None), x.dtype)  # (..., 1): the last usable position
    flat_q = qs.reshape(-1)  # (m,)
    position = last * flat_q  # (..., m)
    low = position.floor()
    high = position.ceil()
    if interpolation == "lower":
        high = low
    elif interpolation == "higher":
        low = high
    elif interpolation == "nearest":
        low = high = position.round()
    below = gather(values, -1, low.long())
    above = gather(values, -1, high.long())
    weight = 0.5 if interpolation == "midpoint" else position - low
    out = below + (above - below) * weight  # (..., m)
    broken = (valid == 0) if ignore_nan else (nan_count > 0)
    out = where(broken, math.nan, out)
    out = movedim(out, -1, 0)  # (m, ...)
    if keepdim:
        kept = [1] * x.ndim if dim is None else list(x.shape)
        if dim is not None:
            kept[normalize_axis(op, dim, x.ndim)] = 1
        out = out.reshape(out.shape[0], *kept)
    return out.reshape(out.shape[1:]) if qs.ndim == 0 else out


def nanquantile(
    x: Tensor,
    q: Any,
    dim: int | None = None,
    keepdim: bool = False,
    *,
    interpolation: str = "linear",
) -> Tensor:
    return quantile(x, q, dim, keepdim, interpolation=interpolation, ignore_nan=True)


def histc(x: Tensor, bins: int = 100, min: float = 0.0, max: float = 0.0) -> Tensor:  # noqa: A002
    """Counts of x in `bins` equal bins over [min, max] (x's own range when min == max);
    values outside are left out. NOTE: min == max reads x's range to the host."""
    if not x.dtype.is_floating_point:
        raise DTypeError(f"histc: input must be a float tensor, got {x.dtype}; use .float()")
    low, high = float(min), float(max)
    if low == high and x.numel():
        low, high = x.min().item(), x.max().item()
    if low == high:
        low, high = low - 1.0, high + 1.0
    flat = x.detach().reshape(-1)
    inside = (flat >= low) & (flat <= high)
    slot = ((flat - low) * (bins / (high - low))).floor().long()
    slot = where(inside, clamp(slot, 0, bins - 1), 0)
    ones = cast(inside, x.dtype)
    return scatter_add(zeros(bins, dtype=x.dtype, device=x.device), 0, slot, ones)


# ------------------------------------------------------------------ covariance
def cov(
    x: Tensor,
    *,
    correction: int = 1,
    fweights: Tensor | None = None,
    aweights: Tensor | None = None,
) -> Tensor:
    """Covariance of the rows of x (variables) over its columns (observations)."""
    if x.ndim > 2:
        raise ShapeError(f"cov: expects a 1-D or 2-D tensor, got shape {tuple(x.shape)}")
    data = to_float(x.reshape(1, -1) if x.ndim < 2 else x)  # (vars, obs)
    weights = None
    if fweights is not None:
        weights = cast(fweights, data.dtype)
    if aweights is not None:
        aw = cast(aweights, data.dtype)
        weights = aw if weights is None else weights * aw
    if weights is None:
        total = float(data.shape[1])
        mean = data.mean(1, keepdim=True)
        centered = data - mean
        out = (centered @ centered.T) / max(total - correction, 0.0)
    else:
        total_w = weights.sum()
        mean = (data * weights).sum(1, keepdim=True) / total_w
        centered = data - mean
        if aweights is None or correction == 0:
            norm_factor = total_w - correction
        else:
            norm_factor = (
                total_w - correction * (weights * cast(aweights, data.dtype)).sum() / total_w
            )
        out = ((centered * weights) @ centered.T) / clamp(norm_factor, 0.0, None)
    return out.reshape(()) if x.ndim < 2 else out


def corrcoef(x: Tensor) -> Tensor:
    """Pearson correlation coefficients of the rows of x, clipped to [-1, 1]."""
    c = cov(x)
    if c.ndim == 0:
        return c / c
    spread = c.diagonal().sqrt()
    return clamp(c / spread.unsqueeze(1) / spread.unsqueeze(0), -1.0, 1.0)


# ------------------------------------------------------------------ integration
def _trapezoids(y: Tensor, x: Any, dx: Any, dim: int) -> tuple[Tensor, int]:
    """The area of each trapezoid along `dim`: (..., n - 1, ...)."""
    y = to_float(y)
    axis = normalize_axis("trapezoid", dim, y.ndim)
    n = y.shape[axis]
    mids = (y.narrow(axis, 1, max(n - 1, 0)) + y.narrow(axis, 0, max(n - 1, 0))) * 0.5
    if x is None:
        return mids * (1.0 if dx is None else dx), axis
    if not isinstance(x, Tensor):
        return mids * x, axis  # trapezoid(y, 0.5): a spacing, as PyTorch
    steps = x.diff(dim=axis if x.ndim == y.ndim else -1)
    if x.ndim == 1 and y.ndim > 1:
        view = [1] * y.ndim
        view[axis] = n - 1
        steps = steps.reshape(*view)
    return mids * steps, axis


def trapezoid(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """The integral of y along `dim` by the trapezoid rule (spacing x, or dx, or 1)."""
    parts, axis = _trapezoids(y, x, dx, dim)
    return parts.sum(axis)


def cumulative_trapezoid(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """The running integral of y along `dim` (one element fewer along it)."""
    parts, axis = _trapezoids(y, x, dx, dim)
    return parts.cumsum(axis)


# ------------------------------------------------------------------ vectors
def cross(a: Tensor, b: Tensor, dim: int | None = None) -> Tensor:
    """The 3-D cross product along `dim` (the first dim of size 3 when None)."""
    a, b = same_dtype([a, b])
    shape = broadcast_shapes(a.shape, b.shape)
    a, b = a.broadcast_to(*shape), b.broadcast_to(*shape)
    if dim is None:
        sized = [d for d, s in enumerate(a.shape) if s == 3]
        if not sized:
            raise ShapeError(f"cross: no dim of size 3 in shape {tuple(a.shape)}")
        dim = sized[0]
    axis = normalize_axis("cross", dim, a.ndim)
    if a.shape[axis] != 3:
        raise ShapeError(f"cross: dim {axis} of shape {tuple(a.shape)} must have size 3")
    a1, a2, a3 = a.unbind(axis)
    b1, b2, b3 = b.unbind(axis)
    return stack([a2 * b3 - a3 * b2, a3 * b1 - a1 * b3, a1 * b2 - a2 * b1], axis)


def dist(a: Tensor, b: Tensor, p: float = 2.0) -> Tensor:
    """The p-norm of a - b."""
    return norm(a - b, p)


def renorm(x: Tensor, p: float, dim: int, maxnorm: float) -> Tensor:
    """x with each slice along `dim` whose p-norm exceeds `maxnorm` scaled down to it."""
    axis = normalize_axis("renorm", dim, x.ndim)
    others = tuple(d for d in range(x.ndim) if d != axis)
    norms = norm(x, p, others, keepdim=True)
    # NOTE: 1e-7 in the denominator, as PyTorch, so a slice exactly at maxnorm stays put
    scale = where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)
    return x * scale


# ------------------------------------------------------------------ membership, search
def isin(
    elements: Any, test_elements: Any, *, assume_unique: bool = False, invert: bool = False
) -> Tensor:
    """True where an element of `elements` occurs in `test_elements` (bool, its shape)."""
    del assume_unique  # a hint only
    like = elements if isinstance(elements, Tensor) else test_elements
    if not isinstance(elements, Tensor):
        elements = tensor(elements, device=like.device)
    if not isinstance(test_elements, Tensor):
        test_elements = tensor(test_elements, device=like.device)
    found = (elements.unsqueeze(-1) == test_elements.reshape(-1)).any(-1)
    return ~found if invert else found


def searchsorted(
    sorted_sequence: Tensor,
    values: Any,
    *,
    out_int32: bool = False,
    right: bool = False,
    side: str | None = None,
    sorter: Tensor | None = None,
) -> Tensor:
    """Where each value would be inserted to keep `sorted_sequence` (its last dim) sorted:
    the count of elements < value (`right`: <= value)."""
    if side is not None:
        if side not in ("left", "right"):
            raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
        right = side == "right"
    seq = sorted_sequence if sorter is None else gather(sorted_sequence, -1, sorter)
    scalar = not isinstance(values, Tensor)
    vals = tensor(values, device=seq.device) if scalar else values
    if seq.ndim > 1 and vals.shape[:-1] != seq.shape[:-1]:
        raise ShapeError(
            f"searchsorted: boundaries {tuple(seq.shape)} and values {tuple(vals.shape)} must "
            "share every dim but the last"
        )
    if seq.ndim == 1:
        pairs = (seq <= vals.unsqueeze(-1)) if right else (seq < vals.unsqueeze(-1))
    else:
        # (..., k, 1) against (..., 1, m)
        lhs, rhs = seq.unsqueeze(-2), vals.unsqueeze(-1)
        pairs = (lhs <= rhs) if right else (lhs < rhs)
    out = pairs.sum(-1)
    return cast(out, int32 if out_int32 else int64)


def bucketize(
    input: Any,
    boundaries: Tensor,
    *,
    out_int32: bool = False,
    right: bool = False,  # noqa: A002
) -> Tensor:
    """The bucket of each value: boundaries[i-1] < v <= boundaries[i] (`right`:
    boundaries[i-1] <= v < boundaries[i])."""
    if boundaries.ndim != 1:
        raise ShapeError(f"bucketize: boundaries must be 1-D, got shape {tuple(boundaries.shape)}")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)
