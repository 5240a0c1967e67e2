"""The inverse trigonometric and hyperbolic functions: atan, asin, acos, atan2, asinh,
acosh, atanh (A -> A; atan2 is A, A -> A).

No backend has a kernel for them (the protocol's unary ops stop at sin, cos, tanh, erf), so
their forwards are built here from the ops every backend has; each is a `Function` whose
backward is the exact derivative (d atan = 1 / (1 + x^2), ...), not the derivative of the
approximation.

How atan is computed (the others are written in terms of it or of log1p):

1. odd symmetry: atan(-x) = -atan(x), so work with a = |x|;
2. a > 1: atan(a) = pi/2 - atan(1/a), so t <= 1;
3. t > tan(pi/8): atan(t) = pi/4 + atan((t - 1) / (t + 1)), so |u| <= tan(pi/8) ~ 0.414;
4. one halving, atan(u) = 2 atan(u / (1 + sqrt(1 + u^2))), so |v| <= ~0.2;
5. the Taylor series v - v^3/3 + v^5/5 - ... to v^25: the first term left out is below
   0.2^26 ~ 7e-19 relative, under float64's rounding.

>>> import tinygpt as tg
>>> round(tg.atan(tg.tensor(1.0, dtype=tg.float64)).item() * 4, 12)
3.14159265359
"""

from __future__ import annotations

import math

from .. import array_ops as A
from ..autograd.function import Function
from ..ndarray import NDArray
from ..tensor import Tensor
from .elementwise_more import tensors
from .log_exp import log1p_array
from .promotion import to_float
from .structure_more import broadcast_shapes

__all__ = ["acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "atan_array"]

_TAN_PI_8 = math.tan(math.pi / 8)
#: Taylor terms of atan(v) = sum (-1)^k v^(2k+1) / (2k+1), k = 0..12
_ATAN_TERMS = 13


# ------------------------------------------------------------------ array helpers
def _where(cond: NDArray, a: NDArray, b: NDArray) -> NDArray:
    return A.where(cond, a, b)


def _atan_small(v: NDArray) -> NDArray:
    """atan(v) for |v| <= ~0.2 by its Taylor series, summed by Horner's rule in v^2."""
    v2 = A.binary("mul", v, v)
    acc = A.full(v, v.shape, 1.0 / (2 * _ATAN_TERMS - 1), v.dtype)
    for k in range(_ATAN_TERMS - 2, -1, -1):
        # the signs alternate: P(z) = 1 - z (1/3 - z (1/5 - ...))
        acc = A.scalar("sub", A.binary("mul", acc, v2), 1.0 / (2 * k + 1), reflected=True)
    return A.binary("mul", acc, v)


def atan_array(x: NDArray) -> NDArray:
    """atan of every element (range reduction + series; see the module docstring)."""
    a = A.unary("abs", x)
    big = A.scalar("gt", a, 1.0)
    ones = A.full(a, a.shape, 1.0, a.dtype)
    safe_a = _where(big, a, ones)  # 1/a only where a > 1 (no division by zero)
    t = _where(big, A.scalar("div", safe_a, 1.0, reflected=True), a)  # in [0, 1]
    upper = A.scalar("gt", t, _TAN_PI_8)
    shifted = A.binary("div", A.scalar("sub", t, 1.0), A.scalar("add", t, 1.0))
    u = _where(upper, shifted, t)  # |u| <= tan(pi/8)
    # halving: atan(u) = 2 atan(u / (1 + sqrt(1 + u^2)))
    root = A.unary("sqrt", A.scalar("add", A.binary("mul", u, u), 1.0))
    v = A.binary("div", u, A.scalar("add", root, 1.0))
    r = A.scalar("mul", _atan_small(v), 2.0)
    r = _where(upper, A.scalar("add", r, math.pi / 4), r)
    r = _where(big, A.scalar("sub", r, math.pi / 2, reflected=True), r)
    # odd: the sign of x (x == 0 gives 0 either way); nan stays nan through the arithmetic
    negative = A.scalar("lt", x, 0.0)
    return _where(negative, A.unary("neg", r), r)


def _one_minus_square(x: NDArray) -> NDArray:
    """1 - x^2 as (1 - x)(1 + x): exact near |x| = 1, where 1 - x*x cancels."""
    return A.binary("mul", A.scalar("sub", x, 1.0, reflected=True), A.scalar("add", x, 1.0))


# ------------------------------------------------------------------ primitives
class Atan(Function):
    def forward(self, x: NDArray) -> NDArray:
        self.save_for_backward(x)
        return atan_array(x)

    def backward(self, grad: NDArray) -> NDArray:
        (x,) = self.saved
        # d atan(x) = 1 / (1 + x^2)
        return A.binary("div", grad, A.scalar("add", A.binary("mul", x, x), 1.0))


class Asin(Function):
    def forward(self, x: NDArray) -> NDArray:
        self.save_for_backward(x)
        # asin(x) = atan(x / sqrt(1 - x^2)); x = +-1 gives +-inf inside, atan(+-inf) = +-pi/2
        root = A.unary("sqrt", _one_minus_square(x))
        return atan_array(A.binary("div", x, root))

    def backward(self, grad: NDArray) -> NDArray:
        (x,) = self.saved
        # d asin(x) = 1 / sqrt(1 - x^2)
        return A.binary("div", grad, A.unary("sqrt", _one_minus_square(x)))


class Acos(Function):
    def forward(self, x: NDArray) -> NDArray:
        self.save_for_backward(x)
        # acos(x) = 2 atan(sqrt((1 - x) / (1 + x))): accurate near x = 1, where pi/2 - asin
        # would cancel; x = -1 gives 2 atan(inf) = pi
        ratio = A.binary("div", A.scalar("sub", x, 1.0, reflected=True), A.scalar("add", x, 1.0))
        return A.scalar("mul", atan_array(A.unary("sqrt", ratio)), 2.0)

    def backward(self, grad: NDArray) -> NDArray:
        (x,) = self.saved
        # d acos(x) = -1 / sqrt(1 - x^2)
        slope = A.unary("sqrt", _one_minus_square(x))
        return A.unary("neg", A.binary("div", grad, slope))


class Atan2(Function):
    """The angle of the point (x, y), in (-pi, pi]. y, x -> angle (same shape)."""

    def forward(self, y: NDArray, x: NDArray) -> NDArray:
        self.save_for_backward(y, x)
        ay, ax = A.unary("abs", y), A.unary("abs", x)
        steep = A.binary("gt", ay, ax)
        top = _where(steep, ax, ay)
        bottom = _where(steep, ay, ax)
        both_inf = A.binary("eq", top, bottom)  # (inf, inf) -> ratio 1; (0, 0) -> 0 below
        ones = A.full(top, top.shape, 1.0, top.dtype)
        empty = A.scalar("eq", bottom, 0.0)
        ratio = A.binary("div", top, _where(empty, ones, bottom))  # in [0, 1]
        ratio = _where(both_inf, _where(empty, A.zeros(ratio, ()), ones), ratio)
        r = atan_array(ratio)
        r = _where(steep, A.scalar("sub", r, math.pi / 2, reflected=True), r)
        r = _where(A.scalar("lt", x, 0.0), A.scalar("sub", r, math.pi, reflected=True), r)
        return _where(A.scalar("lt", y, 0.0), A.unary("neg", r), r)

    def backward(self, grad: NDArray) -> tuple[NDArray, NDArray]:
        y, x = self.saved
        # d/dy = x / (x^2 + y^2), d/dx = -y / (x^2 + y^2)
        r2 = A.binary("add", A.binary("mul", x, x), A.binary("mul", y, y))
        scaled = A.binary("div", grad, r2)
        dy = A.unbroadcast(A.binary("mul", scaled, x), y.shape)
        dx = A.unbroadcast(A.unary("neg", A.binary("mul", scaled, y)), x.shape)
        return dy, dx


_HUGE = 2.0**28  # beyond it sqrt(x^2 + 1) == |x| in float64, and x^2 would overflow later


class Asinh(Function):
    def forward(self, x: NDArray) -> NDArray:
        self.save_for_backward(x)
        a = A.unary("abs", x)
        huge = A.scalar("gt", a, _HUGE)
        small_a = _where(huge, A.zeros(a, ()), a)
        # asinh(a) = log1p(a + a^2 / (1 + sqrt(1 + a^2))): no cancellation for small a
        a2 = A.binary("mul", small_a, small_a)
        root = A.scalar("add", A.unary("sqrt", A.scalar("add", a2, 1.0)), 1.0)
        r = log1p_array(A.binary("add", small_a, A.binary("div", a2, root)))
        big_a = A.where(huge, a, A.full(a, a.shape, 1.0, a.dtype))  # log only where used
        far = A.scalar("add", A.unary("log", big_a), math.log(2.0))  # log(2a) for huge a
        r = _where(huge, far, r)
        return _where(A.scalar("lt", x, 0.0), A.unary("neg", r), r)

    def backward(self, grad: NDArray) -> NDArray:
        (x,) = self.saved
        # d asinh(x) = 1 / sqrt(x^2 + 1)
        return A.binary("div", grad, A.unary("sqrt", A.scalar("add", A.binary("mul", x, x), 1.0)))


class Acosh(Function):
    def forward(self, x: NDArray) -> NDArray:
        self.save_for_backward(x)
        huge = A.scalar("gt", x, _HUGE)
        near = _where(huge, A.full(x, x.shape, 1.0, x.dtype), x)
        # acosh(x) = log1p((x - 1) + sqrt((x - 1)(x + 1))); x < 1 -> sqrt(<0) -> nan
        m = A.scalar("sub", near, 1.0)
        root = A.unary("sqrt", A.binary("mul", m, A.scalar("add", near, 1.0)))
        r = log1p_array(A.binary("add", m, root))
        big_x = _where(huge, x, A.full(x, x.shape, 1.0, x.dtype))  # log only where used
        far = A.scalar("add", A.unary("log", big_x), math.log(2.0))
        return _where(huge, far, r)

    def backward(self, grad: NDArray) -> NDArray:
        (x,) = self.saved
        # d acosh(x) = 1 / sqrt((x - 1)(x + 1))
        slope = A.unary("sqrt", A.binary("mul", A.scalar("sub", x, 1.0), A.scalar("add", x, 1.0)))
        return A.binary("div", grad, slope)


class Atanh(Function):
    def forward(self, x: NDArray) -> NDArray:
        self.save_for_backward(x)
        # atanh(a) = 0.5 log1p(2a / (1 - a)) for a = |x| (odd); near a = 1 the argument is
        # large, so nothing cancels (with x itself, x near -1 would give log1p(~-1));
        # a = 1 -> inf, a > 1 -> nan
        a = A.unary("abs", x)
        inner = A.binary("div", A.scalar("mul", a, 2.0), A.scalar("sub", a, 1.0, reflected=True))
        r = A.scalar("mul", log1p_array(inner), 0.5)
        return _where(A.scalar("lt", x, 0.0), A.unary("neg", r), r)

    def backward(self, grad: NDArray) -> NDArray:
        (x,) = self.saved
        # d atanh(x) = 1 / (1 - x^2)
        return A.binary("div", grad, _one_minus_square(x))


# ------------------------------------------------------------------ public functions
def atan(x: Tensor) -> Tensor:
    return Atan.apply(to_float(x))


def asin(x: Tensor) -> Tensor:
    return Asin.apply(to_float(x))


def acos(x: Tensor) -> Tensor:
    return Acos.apply(to_float(x))


def atan2(y: Tensor, x: Tensor) -> Tensor:
    """The angle of (x, y) from the positive x axis, in (-pi, pi] (broadcast)."""
    y, x = tensors("atan2", y, x, floating=True)
    if y.shape != x.shape:
        shape = broadcast_shapes(y.shape, x.shape)
        y, x = y.broadcast_to(*shape), x.broadcast_to(*shape)
    return Atan2.apply(y, x)


def asinh(x: Tensor) -> Tensor:
    return Asinh.apply(to_float(x))


def acosh(x: Tensor) -> Tensor:
    return Acosh.apply(to_float(x))


def atanh(x: Tensor) -> Tensor:
    return Atanh.apply(to_float(x))
