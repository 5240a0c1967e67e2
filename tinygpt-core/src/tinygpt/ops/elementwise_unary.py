"""The unary elementwise primitives (A -> A): neg, exp, log, sqrt, abs, sin, cos, erf.

Each is a `Function` with its forward and backward side by side; the public functions that
take tensors (`tg.exp`, `x.log()`, ...) are in `elementwise.py`, which re-exports these.

>>> import tinygpt as tg
>>> tg.tensor([0.0, 1.0]).exp().tolist()[0]
1.0
"""

from __future__ import annotations

import math

from .. import array_ops as A
from ..autograd.function import Function
from ..ndarray import NDArray

__all__ = ["Neg", "Exp", "Log", "Sqrt", "Abs", "Sin", "Cos", "Erf"]


# ------------------------------------------------------------------ A -> A
class Neg(Function):
    def forward(self, x: NDArray) -> NDArray:
        return A.unary("neg", x)

    def backward(self, grad: NDArray) -> NDArray:
        return A.unary("neg", grad)


class Exp(Function):
    def forward(self, x: NDArray) -> NDArray:
        out = A.unary("exp", x)
        self.save_for_backward(out)
        return out

    def backward(self, grad: NDArray) -> NDArray:
        (out,) = self.saved
        return A.binary("mul", grad, out)


class Log(Function):
    def forward(self, x: NDArray) -> NDArray:
        self.save_for_backward(x)
        return A.unary("log", x)

    def backward(self, grad: NDArray) -> NDArray:
        (x,) = self.saved
        return A.binary("div", grad, x)


class Sqrt(Function):
    def forward(self, x: NDArray) -> NDArray:
        out = A.unary("sqrt", x)
        self.save_for_backward(out)
        return out

    def backward(self, grad: NDArray) -> NDArray:
        (out,) = self.saved
        # d sqrt(x) = 1 / (2 sqrt(x))
        return A.binary("div", grad, A.scalar("mul", out, 2.0))


class Abs(Function):
    def forward(self, x: NDArray) -> NDArray:
        self.save_for_backward(x)
        return A.unary("abs", x)

    def backward(self, grad: NDArray) -> NDArray:
        (x,) = self.saved
        return A.binary("mul", grad, A.unary("sign", x))


class Sin(Function):
    def forward(self, x: NDArray) -> NDArray:
        self.save_for_backward(x)
        return A.unary("sin", x)

    def backward(self, grad: NDArray) -> NDArray:
        (x,) = self.saved
        return A.binary("mul", grad, A.unary("cos", x))


class Cos(Function):
    def forward(self, x: NDArray) -> NDArray:
        self.save_for_backward(x)
        return A.unary("cos", x)

    def backward(self, grad: NDArray) -> NDArray:
        (x,) = self.saved
        return A.binary("mul", grad, A.unary("neg", A.unary("sin", x)))


class Erf(Function):
    def forward(self, x: NDArray) -> NDArray:
        self.save_for_backward(x)
        return A.unary("erf", x)

    def backward(self, grad: NDArray) -> NDArray:
        (x,) = self.saved
        # d erf(x) = 2/sqrt(pi) exp(-x^2)
        bell = A.unary("exp", A.unary("neg", A.binary("mul", x, x)))
        return A.binary("mul", grad, A.scalar("mul", bell, 2.0 / math.sqrt(math.pi)))
