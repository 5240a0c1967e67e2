"""Elementwise primitives. Shape rules: A -> A (unary), A, A -> A (binary, same shapes:
`tinygpt.ops.movement.Expand` is the one op that broadcasts), A, scalar -> A.

Derived ops (relu, gelu, silu, clamp, ...) live in `tinygpt.ops.composite` and need no
backward of their own.
"""

from __future__ import annotations

import math

from .. import array_ops as A
from ..autograd.function import Function
from ..ndarray import NDArray

__all__ = [
    "Neg",
    "Exp",
    "Log",
    "Sqrt",
    "Abs",
    "Sin",
    "Cos",
    "Tanh",
    "Sigmoid",
    "Erf",
    "Relu",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Pow",
    "Maximum",
    "Minimum",
    "Where",
    "Cast",
    "ScalarOp",
]


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


class Tanh(Function):
    def forward(self, x: NDArray) -> NDArray:
        out = A.unary("tanh", x)
        self.save_for_backward(out)
        return out

    def backward(self, grad: NDArray) -> NDArray:
        (out,) = self.saved
        # d tanh = 1 - tanh^2
        one_minus = A.scalar("sub", A.binary("mul", out, out), 1.0, reflected=True)
        return A.binary("mul", grad, one_minus)


class Sigmoid(Function):
    def forward(self, x: NDArray) -> NDArray:
        out = A.unary("sigmoid", x)
        self.save_for_backward(out)
        return out

    def backward(self, grad: NDArray) -> NDArray:
        (out,) = self.saved
        # d sigmoid = s (1 - s)
        slope = A.binary("mul", out, A.scalar("sub", out, 1.0, reflected=True))
        return A.binary("mul", grad, slope)


class Erf(Function):
    def forward(self, x: NDArray) -> NDArray:
        self.save_for_backward(x)
        return A.unary("erf", x)

    def backward(self, grad: NDArray) -> NDArray:
        (x,) = self.saved
        # d erf(x) = 2/sqrt(pi) exp(-x^2)
        bell = A.unary("exp", A.unary("neg", A.binary("mul", x, x)))
        return A.binary("mul", grad, A.scalar("mul", bell, 2.0 / math.sqrt(math.pi)))


class Relu(Function):
    def forward(self, x: NDArray) -> NDArray:
        out = A.scalar("maximum", x, 0)
        self.save_for_backward(out)
        return out

    def backward(self, grad: NDArray) -> NDArray:
        (out,) = self.saved
        return A.binary("mul", grad, A.cast(A.scalar("gt", out, 0), grad.dtype))


# ------------------------------------------------------------ A, A -> A
class Add(Function):
    def forward(self, a: NDArray, b: NDArray) -> NDArray:
        return A.binary("add", a, b)

    def backward(self, grad: NDArray) -> tuple[NDArray, NDArray]:
        return grad, grad


class Sub(Function):
    def forward(self, a: NDArray, b: NDArray) -> NDArray:
        return A.binary("sub", a, b)

    def backward(self, grad: NDArray) -> tuple[NDArray, NDArray | None]:
        return grad, A.unary("neg", grad) if self.needs_grad[1] else None


class Mul(Function):
    def forward(self, a: NDArray, b: NDArray) -> NDArray:
        self.save_for_backward(a, b)
        return A.binary("mul", a, b)

    def backward(self, grad: NDArray) -> tuple[NDArray | None, NDArray | None]:
        a, b = self.saved
        da = A.binary("mul", grad, b) if self.needs_grad[0] else None
        db = A.binary("mul", grad, a) if self.needs_grad[1] else None
        return da, db


class Div(Function):
    def forward(self, a: NDArray, b: NDArray) -> NDArray:
        self.save_for_backward(a, b)
        return A.binary("div", a, b)

    def backward(self, grad: NDArray) -> tuple[NDArray | None, NDArray | None]:
        a, b = self.saved
        da = A.binary("div", grad, b) if self.needs_grad[0] else None
        db = None
        if self.needs_grad[1]:
            # d(a/b)/db = -a / b^2
            db = A.unary("neg", A.binary("div", A.binary("mul", grad, a), A.binary("mul", b, b)))
        return da, db


class Pow(Function):
    def forward(self, a: NDArray, b: NDArray) -> NDArray:
        out = A.binary("pow", a, b)
        self.save_for_backward(a, b, out)
        return out

    def backward(self, grad: NDArray) -> tuple[NDArray | None, NDArray | None]:
        a, b, out = self.saved
        da = db = None
        if self.needs_grad[0]:
            # d a^b / da = b a^(b-1)
            slope = A.binary("mul", b, A.binary("pow", a, A.scalar("sub", b, 1.0)))
            da = A.binary("mul", grad, slope)
        if self.needs_grad[1]:
            # d a^b / db = a^b log(a)
            db = A.binary("mul", grad, A.binary("mul", out, A.unary("log", a)))
        return da, db


class _Extremum(Function):
    """maximum/minimum: the gradient goes to the winner; a tie splits it in half."""

    op = ""

    def forward(self, a: NDArray, b: NDArray) -> NDArray:
        self.save_for_backward(a, b)
        return A.binary(self.op, a, b)

    def backward(self, grad: NDArray) -> tuple[NDArray, NDArray]:
        a, b = self.saved
        wins = "gt" if self.op == "maximum" else "lt"
        share_a = A.cast(A.binary(wins, a, b), grad.dtype)
        tie = A.scalar("mul", A.cast(A.binary("eq", a, b), grad.dtype), 0.5)
        share_a = A.binary("add", share_a, tie)
        share_b = A.scalar("sub", share_a, 1.0, reflected=True)
        return A.binary("mul", grad, share_a), A.binary("mul", grad, share_b)


class Maximum(_Extremum):
    op = "maximum"


class Minimum(_Extremum):
    op = "minimum"


class Where(Function):
    """where(cond, a, b): cond is bool and gets no gradient."""

    def forward(self, cond: NDArray, a: NDArray, b: NDArray) -> NDArray:
        self.save_for_backward(cond)
        return A.where(cond, a, b)

    def backward(self, grad: NDArray) -> tuple[None, NDArray, NDArray]:
        (cond,) = self.saved
        zero = A.zeros(grad)
        return None, A.where(cond, grad, zero), A.where(cond, zero, grad)


class Cast(Function):
    def forward(self, x: NDArray, dtype: object = None) -> NDArray:
        self.source = x.dtype
        return A.cast(x, dtype)  # type: ignore[arg-type]

    def backward(self, grad: NDArray) -> NDArray:
        return A.cast(grad, self.source)


# --------------------------------------------------------- A, scalar -> A
class ScalarOp(Function):
    """`x op c` (or `c op x` when reflected) for a Python scalar c."""

    def forward(self, x: NDArray, op: str = "", value: float = 0.0, reflected: bool = False):
        self.op = op
        self.value = value
        self.reflected = reflected
        out = A.scalar(op, x, value, reflected)
        if op in ("mul", "div", "pow", "maximum", "minimum"):
            self.save_for_backward(x, out)
        return out

    def backward(self, grad: NDArray) -> NDArray:
        op = self.op
        c = self.value
        if op == "add":
            return grad
        if op == "sub":
            return A.unary("neg", grad) if self.reflected else grad
        x, out = self.saved
        if op == "mul":
            return A.scalar("mul", grad, c)
        if op == "div" and not self.reflected:
            return A.scalar("div", grad, c)
        if op == "div":
            # d (c / x) = -c / x^2 = -out / x
            return A.unary("neg", A.binary("mul", grad, A.binary("div", out, x)))
        if op == "pow" and not self.reflected:
            # d x^c = c x^(c-1)
            return A.binary("mul", grad, A.scalar("mul", A.scalar("pow", x, c - 1), c))
        if op == "pow":
            # d c^x = c^x log c
            return A.scalar("mul", A.binary("mul", grad, out), math.log(c))
        # maximum / minimum with a constant: the gradient flows where x won (half on ties)
        wins = A.cast(A.scalar("gt" if op == "maximum" else "lt", x, c), grad.dtype)
        ties = A.scalar("mul", A.cast(A.scalar("eq", x, c), grad.dtype), 0.5)
        return A.binary("mul", grad, A.binary("add", wins, ties))
