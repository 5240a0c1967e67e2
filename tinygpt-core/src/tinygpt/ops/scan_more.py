"""Running extrema and the running log-sum-exp: `cummax`, `cummin`, `logcumsumexp`.

All three are prefix scans done the Hillis-Steele way: log2(n) rounds, each combining every
element with the one `shift` places before it (shift = 1, 2, 4, ...), so the work is whole-
tensor ops and no Python loop runs over elements. The extrema find their *indices* by
scanning (no gradient needed), then gather the values, so the gradient goes to the element
each result came from, as in PyTorch; logcumsumexp combines with the differentiable, stable
`logaddexp`.

>>> import tinygpt as tg
>>> tg.cummax(tg.tensor([1, 3, 2, 5]), 0).values.tolist()
[1, 3, 3, 5]
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ..creation import arange, full
from ..ndarray import normalize_axis
from ..tensor import Tensor
from .comparison import where
from .elementwise import maximum
from .elementwise_more import logaddexp
from .movement import cat
from .promotion import to_float
from .reductions import MaxResult
from .scatter import gather

__all__ = ["cummax", "cummin", "logcumsumexp"]


def _scan(x: Tensor, axis: int, combine: Callable[[Tensor, Tensor], Tensor], fill: float) -> Tensor:
    """Inclusive prefix scan of x along `axis` with an associative `combine`; `fill` is its
    identity (what stands before the first element)."""
    n = x.shape[axis]
    shift = 1
    while shift < n:
        pad_shape = list(x.shape)
        pad_shape[axis] = shift
        before = full(pad_shape, fill, dtype=x.dtype, device=x.device)
        shifted = cat([before, x.narrow(axis, 0, n - shift)], axis)  # x moved `shift` along
        x = combine(x, shifted)
        shift *= 2
    return x


def _lowest(x: Tensor) -> float:
    return -math.inf if x.dtype.is_floating_point else -(2**62)


def _running_extreme(op: str, x: Tensor, dim: int) -> MaxResult:
    if x.ndim == 0:
        return MaxResult(x.clone(), full((), 0, device=x.device))
    axis = normalize_axis(op, dim, x.ndim)
    data = x.detach()
    if data.dtype.name == "bool":
        data = data.long()
    if op == "cummin":
        data = -data  # the running min is minus the running max of -x
    best = _scan(data, axis, maximum, _lowest(data))
    # the last position j <= i where x[j] reached the running best is the index
    view = [1] * x.ndim
    view[axis] = x.shape[axis]
    positions = arange(x.shape[axis], device=x.device).reshape(*view).expand(*x.shape)
    newest = where(data == best, positions, -1)
    index = _scan(newest, axis, maximum, -1)
    if x.dtype.is_floating_point:
        # nan wins and stays, as in PyTorch: the index is the latest nan so far
        latest_nan = _scan(where(data != data, positions, -1), axis, maximum, -1)
        index = where(latest_nan >= 0, latest_nan, index)
    return MaxResult(gather(x, axis, index), index)


def cummax(x: Tensor, dim: int) -> MaxResult:
    """(values, indices): the running maximum along `dim` and where it was reached (the
    latest position on a tie)."""
    return _running_extreme("cummax", x, dim)


def cummin(x: Tensor, dim: int) -> MaxResult:
    """(values, indices): the running minimum along `dim` and where it was reached."""
    return _running_extreme("cummin", x, dim)


def logcumsumexp(x: Tensor, dim: int) -> Tensor:
    """log(cumsum(exp(x))) along `dim`, without overflow."""
    x = to_float(x)
    if x.ndim == 0:
        return x.clone()
    axis = normalize_axis("logcumsumexp", dim, x.ndim)
    return _scan(x, axis, logaddexp, -math.inf)
