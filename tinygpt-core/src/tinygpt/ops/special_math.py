"""Special functions with PyTorch's names: `lgamma`, `digamma`, `polygamma`, `erfinv`,
`erfc` (A -> A), each a `Function` whose backward is the exact derivative:

    d lgamma = digamma,   d digamma = polygamma(1),   d polygamma(n) = polygamma(n + 1),
    d erfinv(y) = sqrt(pi) / 2 * exp(erfinv(y)^2)

How they are computed, from the ops every backend has:

- lgamma, digamma, polygamma(n): shift x up past 10 with the recurrences
  (lgamma(x) = lgamma(x + 1) - log x, ...), then the asymptotic (Stirling) series in 1/x;
  at x >= 10 the terms kept reach below float64's rounding. For x < 0.5 the reflection
  formulas (lgamma, digamma) bring x to 1 - x first. Poles: lgamma = inf at 0, -1, -2, ...;
  digamma = -inf at 0 and nan at negative integers, as PyTorch.
- erfinv: Winitzki's closed-form guess (error ~ 2e-3), then Halley steps on erf(x) - y,
  which triple the number of correct digits each. NOTE: the result is as good as the
  backend's erf; very close to |y| = 1, where erf is flat, it is limited by erf's rounding.

>>> import tinygpt as tg
>>> round(tg.lgamma(tg.tensor(5.0, dtype=tg.float64)).item(), 10)  # log(4!)
3.1780538303
"""

from __future__ import annotations

import math

from .. import array_ops as A
from ..autograd.function import Function
from ..dtypes import float64
from ..ndarray import NDArray
from ..tensor import Tensor
from .promotion import to_float
from .rounding import _floor

__all__ = ["digamma", "erfc", "erfinv", "lgamma", "polygamma", "polygamma_array"]

#: the recurrences move x to at least this before the asymptotic series
_SHIFT = 10
#: Bernoulli numbers B_2, B_4, ..., B_16
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510)


def _full(like: NDArray, value: float) -> NDArray:
    return A.full(like, like.shape, value, like.dtype)


def _shift_up(x: NDArray) -> tuple[NDArray, list[tuple[NDArray, NDArray]]]:
    """z = x + k, k the number of unit steps (at most _SHIFT) that bring x to >= _SHIFT, and
    for each step (taken, where(taken, the value stepped from, 1)): the recurrences divide
    out each value stepped from (a step not taken divides by a harmless 1)."""
    z = x
    steps = []
    ones = _full(x, 1.0)
    for _ in range(_SHIFT):
        low = A.scalar("lt", z, float(_SHIFT))
        steps.append((low, A.where(low, z, ones)))
        z = A.where(low, A.scalar("add", z, 1.0), z)
    return z, steps


def _sin_pi(x: NDArray) -> NDArray:
    """sin(pi x), with x first reduced mod 2 so large |x| keep their precision."""
    reduced = A.binary("sub", x, A.scalar("mul", _floor(A.scalar("mul", x, 0.5)), 2.0))
    return A.unary("sin", A.scalar("mul", reduced, math.pi))


def _is_nonpositive_integer(x: NDArray) -> NDArray:
    return A.binary("logical_and", A.scalar("le", x, 0.0), A.binary("eq", _floor(x), x))


# ------------------------------------------------------------------ lgamma
def _lgamma_positive(x: NDArray) -> NDArray:
    """log|Gamma(x)| for x > 0."""
    z, steps = _shift_up(x)
    # Stirling: (z - 1/2) log z - z + log(2 pi)/2 + sum B_2k / (2k (2k - 1) z^(2k - 1))
    inv = A.scalar("div", z, 1.0, reflected=True)
    inv2 = A.binary("mul", inv, inv)
    series = _full(z, 0.0)
    for k in range(len(_BERNOULLI), 0, -1):
        coef = _BERNOULLI[k - 1] / (2 * k * (2 * k - 1))
        series = A.scalar("add", A.binary("mul", series, inv2), coef)
    series = A.binary("mul", series, inv)
    head = A.binary("mul", A.scalar("sub", z, 0.5), A.unary("log", z))
    out = A.scalar("add", A.binary("sub", head, z), 0.5 * math.log(2 * math.pi))
    out = A.binary("add", out, series)
    for _, factor in steps:  # lgamma(x) = lgamma(x + 1) - log x, for each step taken
        out = A.binary("sub", out, A.unary("log", factor))
    return out


def lgamma_array(x: NDArray) -> NDArray:
    """log|Gamma(x)| for every x: reflection below 1/2, inf at the poles."""
    reflect = A.scalar("lt", x, 0.5)
    mirrored = A.where(reflect, A.scalar("sub", x, 1.0, reflected=True), x)
    positive = _lgamma_positive(mirrored)
    # lgamma(x) = log(pi / |sin(pi x)|) - lgamma(1 - x)
    sine = A.unary("abs", _sin_pi(x))
    pole = _is_nonpositive_integer(x)
    unused = A.binary("logical_or", pole, A.unary("logical_not", reflect))
    safe_sine = A.where(unused, _full(x, 1.0), sine)  # no log(0) where nothing reads it
    reflected = A.binary(
        "sub",
        A.scalar("sub", A.unary("log", safe_sine), math.log(math.pi), reflected=True),
        positive,
    )
    out = A.where(reflect, reflected, positive)
    return A.where(pole, _full(x, math.inf), out)


# ------------------------------------------------------------------ digamma, polygamma
def _digamma_positive(x: NDArray) -> NDArray:
    z, steps = _shift_up(x)
    # psi(z) = log z - 1/(2z) - sum B_2k / (2k z^2k)
    inv2 = A.scalar("div", A.binary("mul", z, z), 1.0, reflected=True)
    series = _full(z, 0.0)
    for k in range(len(_BERNOULLI), 0, -1):
        series = A.scalar("add", A.binary("mul", series, inv2), _BERNOULLI[k - 1] / (2 * k))
    series = A.binary("mul", series, inv2)
    out = A.binary("sub", A.unary("log", z), A.scalar("div", z, 0.5, reflected=True))
    out = A.binary("sub", out, series)
    zeros = _full(x, 0.0)
    for taken, factor in steps:  # psi(x) = psi(x + 1) - 1/x, for each step taken
        inverse = A.scalar("div", factor, 1.0, reflected=True)
        out = A.binary("sub", out, A.where(taken, inverse, zeros))
    return out


def digamma_array(x: NDArray) -> NDArray:
    reflect = A.scalar("lt", x, 0.5)
    mirrored = A.where(reflect, A.scalar("sub", x, 1.0, reflected=True), x)
    positive = _digamma_positive(mirrored)
    # psi(x) = psi(1 - x) - pi / tan(pi x)
    pole = _is_nonpositive_integer(x)
    safe = A.where(A.binary("logical_or", pole, A.unary("logical_not", reflect)), _full(x, 0.5), x)
    reduced = A.binary("sub", safe, _floor(safe))  # tan has period 1; never 0 here
    angle = A.scalar("mul", reduced, math.pi)
    cot = A.binary("div", A.unary("cos", angle), A.unary("sin", angle))
    out = A.where(reflect, A.binary("sub", positive, A.scalar("mul", cot, math.pi)), positive)
    zero = A.scalar("eq", x, 0.0)
    out = A.where(pole, _full(x, math.nan), out)
    return A.where(zero, _full(x, -math.inf), out)


def polygamma_array(n: int, x: NDArray) -> NDArray:
    """psi^(n)(x) for n >= 1: poles (x = 0, -1, ...) give +inf (n odd) or -inf (n even).
    NOTE: for n >= 3 a negative non-integer x gives nan (only n = 1, 2 have their
    reflection formulas here); PyTorch computes those."""
    pole = _is_nonpositive_integer(x)
    pole_value = _full(x, math.inf if n % 2 else -math.inf)
    if n in (1, 2):
        # reflection below 1/2, from psi_n(1 - x) + (-1)^(n+1) psi_n(x) = (-1)^n pi cot^(n)(pi x):
        # psi1(x) = pi^2 / sin^2(pi x) - psi1(1 - x)
        # psi2(x) = psi2(1 - x) - 2 pi^3 cos(pi x) / sin^3(pi x)
        reflect = A.scalar("lt", x, 0.5)
        mirrored = A.where(reflect, A.scalar("sub", x, 1.0, reflected=True), x)
        positive = _polygamma_positive(n, mirrored)
        unused = A.binary("logical_or", pole, A.unary("logical_not", reflect))
        sine = A.where(unused, _full(x, 1.0), _sin_pi(x))  # no 1/0 where nothing reads it
        sine2 = A.binary("mul", sine, sine)
        if n == 1:
            wall = A.scalar("div", sine2, math.pi**2, reflected=True)
            mirrored_value = A.binary("sub", wall, positive)
        else:
            safe = A.where(pole, _full(x, 0.5), x)
            cosine = A.unary("cos", A.scalar("mul", A.binary("sub", safe, _floor(safe)), math.pi))
            # cos(pi r) for r = x - floor(x) carries the sign (-1)^floor(x) that sin(pi x) has
            parity = A.binary(
                "sub", A.scalar("mul", _floor(A.scalar("mul", safe, 0.5)), 2.0), _floor(safe)
            )  # 0 for even floor(x), -1 for odd
            cosine = A.where(A.scalar("eq", parity, 0.0), cosine, A.unary("neg", cosine))
            wall = A.binary(
                "div", A.scalar("mul", cosine, 2 * math.pi**3), A.binary("mul", sine2, sine)
            )
            mirrored_value = A.binary("sub", positive, wall)
        out = A.where(reflect, mirrored_value, positive)
        return A.where(pole, pole_value, out)
    out = A.where(A.scalar("le", x, 0.0), _full(x, math.nan), _polygamma_positive(n, x))
    return A.where(pole, pole_value, out)


def _polygamma_positive(n: int, x: NDArray) -> NDArray:
    """psi^(n)(x) for x > 0: the recurrence up to _SHIFT, then the asymptotic series."""
    sign = 1.0 if n % 2 else -1.0  # (-1)^(n + 1)
    z = x
    total = _full(x, 0.0)
    nfact = math.factorial(n)
    for _ in range(_SHIFT):
        low = A.scalar("lt", z, float(_SHIFT))
        # psi^(n)(z) = psi^(n)(z + 1) + (-1)^(n+1) n! / z^(n+1)
        term = A.scalar("mul", A.scalar("pow", z, float(-(n + 1))), sign * nfact)
        total = A.binary("add", total, A.where(low, term, _full(x, 0.0)))
        z = A.where(low, A.scalar("add", z, 1.0), z)
    # asymptotic: (-1)^(n+1) [(n-1)!/z^n + n!/(2 z^(n+1)) + sum B_2k (2k+n-1)!/((2k)! z^(2k+n))]
    inv = A.scalar("div", z, 1.0, reflected=True)
    out = A.scalar("mul", A.scalar("pow", inv, float(n)), math.factorial(n - 1))
    out = A.binary("add", out, A.scalar("mul", A.scalar("pow", inv, float(n + 1)), nfact / 2))
    for k, b in enumerate(_BERNOULLI, start=1):
        coef = b * math.factorial(2 * k + n - 1) / math.factorial(2 * k)
        out = A.binary("add", out, A.scalar("mul", A.scalar("pow", inv, float(2 * k + n)), coef))
    return A.binary("add", A.scalar("mul", out, sign), total)


class Lgamma(Function):
    def forward(self, x: NDArray) -> NDArray:
        self.save_for_backward(x)
        return lgamma_array(x)

    def backward(self, grad: NDArray) -> NDArray:
        (x,) = self.saved
        return A.binary("mul", grad, digamma_array(x))


class Digamma(Function):
    def forward(self, x: NDArray) -> NDArray:
        self.save_for_backward(x)
        return digamma_array(x)

    def backward(self, grad: NDArray) -> NDArray:
        (x,) = self.saved
        return A.binary("mul", grad, polygamma_array(1, x))


class Polygamma(Function):
    def forward(self, x: NDArray, n: int = 1) -> NDArray:
        self.save_for_backward(x)
        self.n = n
        return polygamma_array(n, x)

    def backward(self, grad: NDArray) -> NDArray:
        (x,) = self.saved
        return A.binary("mul", grad, polygamma_array(self.n + 1, x))


# ------------------------------------------------------------------ erfinv, erfc
_WINITZKI_A = 0.147
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def erfinv_array(y: NDArray) -> NDArray:
    """x with erf(x) = y, for y in (-1, 1); +-inf at +-1, nan outside."""
    # Winitzki's guess: x ~ sign(y) sqrt(sqrt(t^2 - ln(1 - y^2)/a) - t),
    # t = 2/(pi a) + ln(1 - y^2)/2
    outside = A.scalar("ge", A.unary("abs", y), 1.0)
    inside = A.where(outside, _full(y, 0.0), y)
    ln = A.unary(
        "log",
        A.binary("mul", A.scalar("sub", inside, 1.0, reflected=True), A.scalar("add", inside, 1.0)),
    )
    t = A.scalar("add", A.scalar("mul", ln, 0.5), 2.0 / (math.pi * _WINITZKI_A))
    root = A.unary(
        "sqrt", A.binary("sub", A.binary("mul", t, t), A.scalar("mul", ln, 1.0 / _WINITZKI_A))
    )
    x = A.unary("sqrt", A.unary("abs", A.binary("sub", root, t)))
    x = A.binary("mul", x, A.unary("sign", inside))
    for _ in range(3):
        # Halley on f(x) = erf(x) - y, f' = 2/sqrt(pi) exp(-x^2), f'' = -2x f':
        # x -= (f/f') / (1 + x f/f')
        slope = A.scalar(
            "mul", A.unary("exp", A.unary("neg", A.binary("mul", x, x))), _TWO_OVER_SQRT_PI
        )
        step = A.binary("div", A.binary("sub", A.unary("erf", x), inside), slope)
        x = A.binary(
            "sub", x, A.binary("div", step, A.scalar("add", A.binary("mul", x, step), 1.0))
        )
    edge = A.scalar("eq", A.unary("abs", y), 1.0)
    infinity = A.where(A.scalar("gt", y, 0.0), _full(y, math.inf), _full(y, -math.inf))
    x = A.where(edge, infinity, x)
    beyond = A.scalar("gt", A.unary("abs", y), 1.0)
    not_number = A.binary("ne", y, y)
    return A.where(A.binary("logical_or", beyond, not_number), _full(y, math.nan), x)


class Erfinv(Function):
    def forward(self, y: NDArray) -> NDArray:
        # subtle: Halley steps can only be as exact as erf; float32's erf rounding becomes
        # ~1e-3 relative error near |y| = 1, so narrower floats iterate in float64
        if y.dtype.itemsize < 8 and float64 in y.backend.dtypes:
            out = A.cast(erfinv_array(A.cast(y, float64)), y.dtype)
        else:
            out = erfinv_array(y)
        self.save_for_backward(out)
        return out

    def backward(self, grad: NDArray) -> NDArray:
        (x,) = self.saved
        # d erfinv(y) = 1 / erf'(x) = sqrt(pi)/2 * exp(x^2)
        slope = A.scalar("mul", A.unary("exp", A.binary("mul", x, x)), math.sqrt(math.pi) / 2)
        return A.binary("mul", grad, slope)


def lgamma(x: Tensor) -> Tensor:
    return Lgamma.apply(to_float(x))


def digamma(x: Tensor) -> Tensor:
    return Digamma.apply(to_float(x))


def polygamma(n: int, x: Tensor) -> Tensor:
    """The n-th derivative of digamma (n = 0 is digamma itself)."""
    if n < 0:
        raise ValueError(f"polygamma: n must be >= 0, got {n}")
    if n == 0:
        return digamma(x)
    return Polygamma.apply(to_float(x), n=n)


def erfinv(x: Tensor) -> Tensor:
    return Erfinv.apply(to_float(x))


def erfc(x: Tensor) -> Tensor:
    """1 - erf(x). NOTE: a composition: for x > ~5 (float32) or ~27 (float64) it rounds to 0
    where a true erfc is a tiny positive number."""
    return 1.0 - to_float(x).erf()
