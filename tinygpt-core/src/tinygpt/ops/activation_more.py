"""The activations PyTorch also has as `torch.*` functions (`torch.selu`, `torch.celu`,
`torch.threshold`, `torch.hardshrink`, `torch.prelu`, `torch.rrelu`), the modified Bessel
function `i0`, and `kaiser_window`, which is built on it. All are compositions of
differentiable ops (tinygpt.nn.functional has its own activations for models; these are
core's, for code that calls them on `torch` directly).

i0 sums its power series, sum_k ((x/2)^k / k!)^2, up to |x| = 30 (every term is positive,
so nothing cancels), and uses the asymptotic series e^|x| / sqrt(2 pi |x|) (1 + 1/(8|x|)
+ 9/(128 x^2) + ...) beyond; the gradient comes from the same composition.

>>> import tinygpt as tg
>>> round(tg.i0(tg.tensor(1.0, dtype=tg.float64)).item(), 12)
1.266065877752
"""

from __future__ import annotations

import math
from typing import Any

from ..creation import tensor
from ..errors import ShapeError
from ..tensor import Tensor
from .comparison import where
from .promotion import to_float

__all__ = ["celu", "hardshrink", "i0", "kaiser_window", "prelu", "rrelu", "selu", "threshold"]

_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


def _expm1_below_zero(x: Tensor) -> Tensor:
    """exp(min(x, 0)) - 1: the negative branch of elu-type activations, with no overflow
    for large positive x in the branch `where` leaves out."""
    return where(x > 0, 0.0, x).expm1()


def selu(x: Tensor) -> Tensor:
    """scale * (x if x > 0 else alpha * (exp(x) - 1)), the self-normalizing constants."""
    x = to_float(x)
    return where(x > 0, x, _expm1_below_zero(x) * _SELU_ALPHA) * _SELU_SCALE


def celu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """x if x > 0 else alpha * (exp(x / alpha) - 1)."""
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0")
    x = to_float(x)
    return where(x > 0, x, _expm1_below_zero(x / alpha) * alpha)


def threshold(x: Tensor, threshold: float, value: float) -> Tensor:
    """x where x > threshold, else `value`."""
    return where(x > threshold, x, value)


def hardshrink(x: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0."""
    return where(x.abs() > lambd, x, 0.0)


def prelu(x: Tensor, weight: Tensor) -> Tensor:
    """x where x >= 0, else weight * x; a weight of several values is per channel (dim 1)."""
    if weight.numel() != 1:
        if x.ndim < 2 or x.shape[1] != weight.numel():
            raise ShapeError(
                f"prelu: {weight.numel()} weights need a channel dim 1 of that size, got input "
                f"{tuple(x.shape)}"
            )
        weight = weight.reshape(-1, *([1] * (x.ndim - 2)))  # (C, 1, ..., 1) against (N, C, ...)
    else:
        weight = weight.reshape(())
    return where(x >= 0, x, weight * x)


def rrelu(
    x: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False
) -> Tensor:
    """Leaky ReLU with a random slope in [lower, upper] per element when `training`, the
    mean slope otherwise."""
    if not training:
        return where(x >= 0, x, x * ((lower + upper) / 2))
    slope = x.detach().float().uniform_(lower, upper).to(x.dtype)
    return where(x >= 0, x, x * slope)


# ------------------------------------------------------------------ Bessel
_SERIES_UP_TO = 30.0
_SERIES_TERMS = 64  # ((15)^k / k!)^2 is below 1e-17 of the sum by k = 64
_ASYMPTOTIC_TERMS = 20


def i0(x: Tensor) -> Tensor:
    """The modified Bessel function of the first kind, order 0."""
    x = to_float(x)
    a = x.abs()
    near = a <= _SERIES_UP_TO
    # power series on a clamped copy (the far branch never sees a huge term)
    s = where(near, a, 0.0) * 0.5
    s2 = s * s
    term = s2 * 0 + 1.0
    total = term
    for k in range(1, _SERIES_TERMS):
        term = term * s2 / (k * k)
        total = total + term
    # asymptotic: e^a / sqrt(2 pi a) * sum_k prod_{j<=k} (2j - 1)^2 / (j 8 a)
    big = where(near, _SERIES_UP_TO + 1.0, a)
    coef = big * 0 + 1.0
    tail = coef
    for j in range(1, _ASYMPTOTIC_TERMS):
        coef = coef * ((2 * j - 1) ** 2) / (j * 8.0) / big
        tail = tail + coef
    far = big.exp() / (big * (2 * math.pi)).sqrt() * tail
    return where(near, total, far)


def kaiser_window(
    window_length: int, periodic: bool = True, beta: float = 12.0, **kw: Any
) -> Tensor:
    """I0(beta sqrt(1 - ((n - a) / a)^2)) / I0(beta), a = (N - 1) / 2 (N = length + 1 when
    periodic, dropping the last point)."""
    if window_length < 0:
        raise ValueError(f"kaiser_window: window_length must be >= 0, got {window_length}")
    if window_length == 1:
        return tensor([1.0], dtype=kw.get("dtype"), device=kw.get("device"))
    n = window_length + 1 if periodic else window_length
    alpha = (n - 1) / 2
    ratios = [max(0.0, 1.0 - ((i - alpha) / alpha) ** 2) for i in range(window_length)]
    args = tensor([beta * math.sqrt(r) for r in ratios], dtype="float64", device=kw.get("device"))
    window = i0(args) / i0(tensor(beta, dtype="float64", device=kw.get("device")))
    return window.to(kw.get("dtype") or "float32")
