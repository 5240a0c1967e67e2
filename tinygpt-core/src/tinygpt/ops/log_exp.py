"""log1p and expm1 done accurately (A -> A): log(1 + x) and exp(x) - 1 for tiny x.

The plain compositions (`(1 + x).log()`, `x.exp() - 1`) lose every digit of a tiny x: 1 + x
rounds to 1. No backend has kernels for them, so each is a `Function` whose forward cancels
the rounding with a classic trick and whose backward is the exact derivative (a composed
backward would differentiate the trick's rounding-error terms too):

- log1p (Goldberg): w = 1 + x rounds, but log(w) * x / (w - 1) divides that rounding out;
  where w == 1 exactly, log1p(x) is x to within rounding.
- expm1 (Kahan): u = exp(x); (u - 1) * x / log(u) likewise; where u == 1, it is x.

>>> import tinygpt as tg
>>> tg.log1p(tg.tensor(1e-10, dtype=tg.float64)).item()
9.999999999500001e-11
"""

from __future__ import annotations

import math

from .. import array_ops as A
from ..autograd.function import Function
from ..ndarray import NDArray
from ..tensor import Tensor
from .promotion import to_float

__all__ = ["Expm1", "Log1p", "expm1", "expm1_array", "log1p", "log1p_array"]


def _finite(x: NDArray) -> NDArray:
    return A.scalar("lt", A.unary("abs", x), math.inf)


def log1p_array(x: NDArray) -> NDArray:
    """log(1 + x) of every element, accurate for tiny x."""
    w = A.scalar("add", x, 1.0)
    shifted = A.scalar("sub", w, 1.0)
    tiny = A.scalar("eq", shifted, 0.0)
    ones = A.full(x, x.shape, 1.0, x.dtype)
    safe = A.where(tiny, ones, shifted)  # no 0/0 in the branch `where` leaves out
    ratio = A.where(_finite(w), A.binary("div", x, safe), ones)  # log1p(inf) = inf
    return A.where(tiny, x, A.binary("mul", A.unary("log", w), ratio))


def expm1_array(x: NDArray) -> NDArray:
    """exp(x) - 1 of every element, accurate for tiny x."""
    u = A.unary("exp", x)
    shifted = A.scalar("sub", u, 1.0)
    one = A.scalar("eq", u, 1.0)
    ones = A.full(x, x.shape, 1.0, x.dtype)
    log_u = A.unary("log", A.where(one, A.scalar("add", ones, 1.0), u))  # never log(1) = 0
    scaled = A.binary("div", A.binary("mul", shifted, x), log_u)
    # u == 0 (x very negative): -1;  u == inf: inf (inf * x / inf would be nan)
    out = A.where(A.scalar("eq", u, 0.0), A.unary("neg", ones), scaled)
    out = A.where(_finite(u), out, u)
    return A.where(one, x, out)


class Log1p(Function):
    def forward(self, x: NDArray) -> NDArray:
        self.save_for_backward(x)
        return log1p_array(x)

    def backward(self, grad: NDArray) -> NDArray:
        (x,) = self.saved
        # d log1p(x) = 1 / (1 + x)
        return A.binary("div", grad, A.scalar("add", x, 1.0))


class Expm1(Function):
    def forward(self, x: NDArray) -> NDArray:
        out = expm1_array(x)
        self.save_for_backward(out)
        return out

    def backward(self, grad: NDArray) -> NDArray:
        (out,) = self.saved
        # d expm1(x) = exp(x) = expm1(x) + 1
        return A.binary("mul", grad, A.scalar("add", out, 1.0))


def log1p(input: Tensor) -> Tensor:  # noqa: A002 - the name tg.log1p had before
    return Log1p.apply(to_float(input))


def expm1(x: Tensor) -> Tensor:
    return Expm1.apply(to_float(x))
