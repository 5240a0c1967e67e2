"""More elementwise maths with PyTorch's names, composed of differentiable ops (so autograd
needs nothing new): `fmod`, `logaddexp`, `logaddexp2`, `hypot`, `xlogy`, `nan_to_num`,
`deg2rad`, `rad2deg`, `copysign`, `signbit`, `heaviside`, `fmax`, `fmin`, `sinc`, `logit`,
`float_power` (log1p and expm1, which some of them use, are in `log_exp.py`).

NOTE: where one branch of a `where` is undefined somewhere (sinc at 0, xlogy at x = 0), its
input is first replaced by a harmless value there, so the unused branch's backward sees no
nan (0 * nan would still be nan).

>>> import tinygpt as tg
>>> tg.fmod(tg.tensor([-7.0, 7.0]), 3).tolist()
[-1.0, 1.0]
>>> round(tg.logaddexp(tg.tensor(0.0), tg.tensor(0.0)).item(), 4)
0.6931
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from ..creation import full
from ..dtypes import float64, get_default_dtype, result_type
from ..tensor import Tensor
from ..type_info import finfo
from .classify import isinf, isnan
from .comparison import clamp, where
from .elementwise import abs as abs_
from .elementwise import binary, exp, log, maximum, minimum, sin, sqrt
from .log_exp import log1p
from .promotion import as_tensor_like, cast, promote, to_float
from .rounding import div

__all__ = [
    "copysign",
    "deg2rad",
    "float_power",
    "fmax",
    "fmin",
    "fmod",
    "heaviside",
    "hypot",
    "logaddexp",
    "logaddexp2",
    "logit",
    "nan_to_num",
    "rad2deg",
    "signbit",
    "sinc",
    "tensors",
    "xlogy",
]

_LN2 = math.log(2.0)


def tensors(op: str, a: Any, b: Any, floating: bool = False) -> tuple[Tensor, Tensor]:
    """Both operands as tensors of one device and dtype (a Python number takes the other's
    device and PyTorch's promotion); `floating` makes integer results the default float."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(
            f"{op}: needs at least one tensor, got {type(a).__name__} and {type(b).__name__}"
        )
    if not isinstance(a, Tensor):
        a = _operand(a, b)
    if not isinstance(b, Tensor):
        b = _operand(b, a)
    a, b = promote(op, a, b)
    if floating and not a.dtype.is_floating_point:
        a, b = cast(a, get_default_dtype()), cast(b, get_default_dtype())
    return a, b


def _operand(value: Any, like: Tensor) -> Tensor:
    """A Python number as a 0-d tensor of the dtype PyTorch gives `like op value`; any other
    array-like copied onto like's device."""
    if isinstance(value, (bool, int, float)):
        return full((), value, dtype=result_type(like.dtype, value), device=like.device)
    return as_tensor_like(value, like)


# ------------------------------------------------------------------ logs and exps
def logaddexp(a: Any, b: Any) -> Tensor:
    """log(exp(a) + exp(b)) without overflow: max + log1p(exp(-|a - b|))."""
    a, b = tensors("logaddexp", a, b, floating=True)
    same_inf = isinf(a) & (a == b)  # inf - inf would be nan
    gap = where(same_inf, 0.0, a) - where(same_inf, 0.0, b)
    out = maximum(a, b) + log1p(exp(-abs_(gap)))
    return where(same_inf, a, out)


def logaddexp2(a: Any, b: Any) -> Tensor:
    """log2(2**a + 2**b) without overflow."""
    a, b = tensors("logaddexp2", a, b, floating=True)
    same_inf = isinf(a) & (a == b)
    gap = where(same_inf, 0.0, a) - where(same_inf, 0.0, b)
    out = maximum(a, b) + log1p(exp(-abs_(gap) * _LN2)) * (1.0 / _LN2)
    return where(same_inf, a, out)


def xlogy(x: Any, y: Any) -> Tensor:
    """x * log(y), and 0 where x == 0 (unless y is nan), as PyTorch."""
    x, y = tensors("xlogy", x, y, floating=True)
    zero = (x == 0.0) & ~isnan(y)
    safe_y = where(zero, 1.0, y)
    return where(zero, 0.0, x * log(safe_y))


def logit(x: Tensor, eps: float | None = None) -> Tensor:
    """log(p / (1 - p)), with p clamped to [eps, 1 - eps] when eps is given."""
    p = to_float(x)
    if eps is not None:
        p = clamp(p, eps, 1.0 - eps)
    return log(p / (1.0 - p))


# ------------------------------------------------------------------ division, powers
def fmod(a: Any, b: Any) -> Tensor:
    """The remainder of a / b rounded toward zero (C's fmod): the sign of `a`, unlike `%`."""
    a, b = tensors("fmod", a, b)
    return a - b * div(a, b, rounding_mode="trunc")


def float_power(a: Any, b: Any) -> Tensor:
    """a ** b in float64, as PyTorch's float_power."""
    a, b = tensors("float_power", a, b)
    return binary("pow", cast(a, float64), cast(b, float64))


def hypot(a: Any, b: Any) -> Tensor:
    """sqrt(a**2 + b**2) without overflow: the larger magnitude times sqrt(1 + ratio**2)."""
    a, b = tensors("hypot", a, b, floating=True)
    big = maximum(abs_(a), abs_(b))
    small = minimum(abs_(a), abs_(b))
    empty = (big == 0.0) | isinf(big)
    ratio = small / where(empty, 1.0, big)
    return where(empty, big, big * sqrt(ratio * ratio + 1.0))


# ------------------------------------------------------------------ signs
def signbit(x: Tensor) -> Tensor:
    """True where the sign bit is set: negative numbers and -0.0 (bool)."""
    if not x.dtype.is_floating_point:
        return x < 0
    zero = x == 0.0
    with warnings.catch_warnings():
        # subtle: only 1 / x tells -0.0 from 0.0; NumPy warns about the division by zero
        warnings.simplefilter("ignore", RuntimeWarning)
        negative_zero = zero & (binary("div", x.detach(), 1.0, reflected=True) < 0.0)
    return (x < 0.0) | negative_zero


def copysign(a: Any, b: Any) -> Tensor:
    """|a| with the sign of b (float)."""
    a, b = tensors("copysign", a, b, floating=True)
    return where(signbit(b), -abs_(a), abs_(a))


def heaviside(x: Tensor, values: Any) -> Tensor:
    """0 where x < 0, `values` where x == 0, 1 where x > 0."""
    x, values = tensors("heaviside", x, values)
    step = cast(x > 0, x.dtype)
    return where(x == 0, values, step)


def fmax(a: Any, b: Any) -> Tensor:
    """Elementwise max that ignores nan (nan only where both are nan)."""
    a, b = tensors("fmax", a, b)
    if not a.dtype.is_floating_point:
        return maximum(a, b)
    return where(isnan(a), b, where(isnan(b), a, maximum(a, b)))


def fmin(a: Any, b: Any) -> Tensor:
    """Elementwise min that ignores nan (nan only where both are nan)."""
    a, b = tensors("fmin", a, b)
    if not a.dtype.is_floating_point:
        return minimum(a, b)
    return where(isnan(a), b, where(isnan(b), a, minimum(a, b)))


# ------------------------------------------------------------------ misc
def sinc(x: Tensor) -> Tensor:
    """sin(pi x) / (pi x), and 1 at x == 0."""
    x = to_float(x)
    zero = x == 0.0
    scaled = where(zero, 1.0, x) * math.pi
    return where(zero, 1.0, sin(scaled) / scaled)


def deg2rad(x: Tensor) -> Tensor:
    return to_float(x) * (math.pi / 180.0)


def rad2deg(x: Tensor) -> Tensor:
    return to_float(x) * (180.0 / math.pi)


def nan_to_num(
    x: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
) -> Tensor:
    """nan, +inf and -inf replaced by `nan`, `posinf` and `neginf` (by default the dtype's
    largest and lowest finite values)."""
    if not x.dtype.is_floating_point:
        return x.clone()
    info = finfo(x.dtype)
    high = info.max if posinf is None else posinf
    low = info.min if neginf is None else neginf
    out = where(isnan(x), nan, x)
    out = where(out == math.inf, high, out)
    return where(out == -math.inf, low, out)
