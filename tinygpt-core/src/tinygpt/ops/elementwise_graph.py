"""Differentiable backward formulas of the elementwise and activation primitives.

Used only by `backward(create_graph=True)` (see `autograd/differentiable.py`): the same
maths as each primitive's `backward`, written with Tensor ops so that autograd records it
and can differentiate it again. Inputs come from `node.parents`; an output forward saved
(exp, sqrt, tanh, sigmoid, softmax) comes back as a tensor made by the node itself
(`saved_output`), so the formula needs no input and the node keeps none alive
(`reads_inputs=False`). Masks and comparisons are constants (their derivative is 0).
"""

from __future__ import annotations

import math

from ..autograd.differentiable import formula, saved_output
from ..creation import zeros_like
from ..tensor import Tensor
from .activation import Gelu, Relu, Sigmoid, Softmax, Tanh
from .comparison import Where
from .elementwise import (
    Abs,
    Add,
    Cos,
    Div,
    Erf,
    Exp,
    Log,
    Mul,
    Neg,
    Pow,
    ScalarOp,
    Sin,
    Sqrt,
    Sub,
    _Extremum,
)
from .promotion import Cast, cast
from .rounding import Rounding

__all__: list[str] = []  # nothing public: importing this file registers the formulas

Grad = Tensor | None


def _mask(condition: Tensor, like: Tensor) -> Tensor:
    """A bool condition as 0/1 in `like`'s dtype: a constant factor."""
    return cast(condition, like.dtype)


# ------------------------------------------------------------------ A -> A
@formula(Neg, reads_inputs=False)
def _neg(node: Neg, g: Tensor) -> Tensor:
    return -g


@formula(Exp, reads_inputs=False)
def _exp(node: Exp, g: Tensor) -> Tensor:
    return g * saved_output(node)


@formula(Log)
def _log(node: Log, g: Tensor) -> Tensor:
    (x,) = node.parents
    return g / x


@formula(Sqrt, reads_inputs=False)
def _sqrt(node: Sqrt, g: Tensor) -> Tensor:
    return g / (saved_output(node) * 2.0)


@formula(Abs)
def _abs(node: Abs, g: Tensor) -> Tensor:
    (x,) = node.parents
    return g * x.sign()


@formula(Sin)
def _sin(node: Sin, g: Tensor) -> Tensor:
    (x,) = node.parents
    return g * x.cos()


@formula(Cos)
def _cos(node: Cos, g: Tensor) -> Tensor:
    (x,) = node.parents
    return -(g * x.sin())


@formula(Erf)
def _erf(node: Erf, g: Tensor) -> Tensor:
    (x,) = node.parents
    return g * (-(x * x)).exp() * (2.0 / math.sqrt(math.pi))


# ------------------------------------------------------------ A, A -> A
@formula(Add, reads_inputs=False)
def _add(node: Add, g: Tensor) -> tuple[Grad, Grad]:
    return g, g


@formula(Sub, reads_inputs=False)
def _sub(node: Sub, g: Tensor) -> tuple[Grad, Grad]:
    return g, (-g if node.needs_grad[1] else None)


@formula(Mul)
def _mul(node: Mul, g: Tensor) -> tuple[Grad, Grad]:
    a, b = node.parents
    da = g * b if node.needs_grad[0] else None
    db = g * a if node.needs_grad[1] else None
    return da, db


@formula(Div)
def _div(node: Div, g: Tensor) -> tuple[Grad, Grad]:
    a, b = node.parents
    da = g / b if node.needs_grad[0] else None
    db = -(g * a) / (b * b) if node.needs_grad[1] else None
    return da, db


@formula(Pow)
def _pow(node: Pow, g: Tensor) -> tuple[Grad, Grad]:
    a, b = node.parents
    da = g * b * a ** (b - 1.0) if node.needs_grad[0] else None
    db = g * a**b * a.log() if node.needs_grad[1] else None
    return da, db


@formula(_Extremum)
def _extremum(node: _Extremum, g: Tensor) -> tuple[Grad, Grad]:
    a, b = (p.detach() for p in node.parents)
    wins = a > b if node.op == "maximum" else a < b
    share_a = _mask(wins, g) + _mask(a == b, g) * 0.5
    return g * share_a, g * (1.0 - share_a)


# --------------------------------------------------------- A, scalar -> A
@formula(ScalarOp)
def _scalar(node: ScalarOp, g: Tensor) -> Tensor:
    (x,) = node.parents
    op, c, reflected = node.op, node.value, node.reflected
    if op == "add":
        return g
    if op == "sub":
        return -g if reflected else g
    if op == "mul":
        return g * c
    if op == "div" and not reflected:
        return g / c
    if op == "div":
        return -(g * c) / (x * x)  # d (c / x) = -c / x^2
    if op == "pow" and not reflected:
        return g * c * x ** (c - 1)  # d x^c = c x^(c-1)
    if op == "pow":
        return g * (c**x) * math.log(c)  # d c^x = c^x log c
    held = x.detach()
    wins = held > c if op == "maximum" else held < c
    return g * (_mask(wins, g) + _mask(held == c, g) * 0.5)


# ------------------------------------------------------------- activations
@formula(Relu, reads_inputs=False)
def _relu(node: Relu, g: Tensor) -> Tensor:
    return g * _mask(saved_output(node).detach() > 0, g)  # relu(x) > 0 where x > 0


@formula(Tanh, reads_inputs=False)
def _tanh(node: Tanh, g: Tensor) -> Tensor:
    t = saved_output(node)
    return g * (1.0 - t * t)


@formula(Sigmoid, reads_inputs=False)
def _sigmoid(node: Sigmoid, g: Tensor) -> Tensor:
    s = saved_output(node)
    return g * s * (1.0 - s)


@formula(Gelu)
def _gelu(node: Gelu, g: Tensor) -> Tensor:
    (x,) = node.parents
    if node.approximate == "tanh":
        # d/dx 0.5 x (1 + tanh(u)), u = k (x + 0.044715 x^3)
        k = math.sqrt(2.0 / math.pi)
        t = ((x + x * x * x * 0.044715) * k).tanh()
        du = (1.0 + x * x * (3 * 0.044715)) * k
        return g * ((1.0 + t) * 0.5 + x * 0.5 * (1.0 - t * t) * du)
    # d/dx x Phi(x) = Phi(x) + x phi(x)
    cdf = ((x * (1.0 / math.sqrt(2.0))).erf() + 1.0) * 0.5
    pdf = (x * x * -0.5).exp() * (1.0 / math.sqrt(2.0 * math.pi))
    return g * (cdf + x * pdf)


@formula(Softmax, reads_inputs=False)
def _softmax(node: Softmax, g: Tensor) -> Tensor:
    axis = node.axis
    y = saved_output(node)  # made by `node`: differentiated through it one level up
    if node.log:
        # y = x - lse(x): dx = g - softmax(x) sum(g), softmax(x) = exp(y)
        return g - y.exp() * g.sum(axis, keepdim=True)
    # y = softmax(x): dx = y (g - sum(g y))
    return y * (g - (g * y).sum(axis, keepdim=True))


# ------------------------------------------------------- dtype and choice
@formula(Cast, reads_inputs=False)
def _cast(node: Cast, g: Tensor) -> Tensor:
    return cast(g, node.source)


@formula(Where, reads_inputs=(0,))
def _where(node: Where, g: Tensor) -> tuple[Grad, Grad, Grad]:
    cond = node.parents[0]
    zero = zeros_like(g)
    da = Where.apply(cond, g, zero) if node.needs_grad[1] else None
    db = Where.apply(cond, zero, g) if node.needs_grad[2] else None
    return None, da, db


@formula(Rounding, reads_inputs=False)
def _rounding(node: Rounding, g: Tensor) -> Tensor:
    return zeros_like(g)  # floor, ceil, round, trunc are flat almost everywhere
