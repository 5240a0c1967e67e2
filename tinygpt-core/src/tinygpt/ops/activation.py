"""Activations: relu, tanh, sigmoid, gelu, silu, softmax and log-softmax.

Each primitive sits next to its function. GELU and softmax have optional fused kernels:
`dispatch.use_fused` picks the backend's kernel when it has one, and otherwise the function
composes the same maths from elementwise ops and reductions.

>>> import tinygpt as tg
>>> [round(v, 4) for v in tg.tensor([0.0, 1.0]).softmax(-1).tolist()]
[0.2689, 0.7311]
"""

from __future__ import annotations

import inspect
import math
import weakref
from typing import Any

from .. import array_ops as A
from ..autograd.function import Function
from ..ndarray import NDArray, normalize_axis
from ..tensor import Tensor
from . import autocast
from .dispatch import use_fused
from .elementwise import erf, exp, log
from .movement import Clone
from .promotion import to_float
from .reductions import Max, sum

__all__ = [
    "Relu",
    "Tanh",
    "Sigmoid",
    "Gelu",
    "Softmax",
    "relu",
    "tanh",
    "sigmoid",
    "gelu",
    "silu",
    "softmax",
    "log_softmax",
]


class Relu(Function):
    def forward(self, x: NDArray) -> NDArray:
        out = A.scalar("maximum", x, 0)
        self.save_for_backward(out)
        return out

    def backward(self, grad: NDArray) -> NDArray:
        (out,) = self.saved
        return A.binary("mul", grad, A.cast(A.scalar("gt", out, 0), grad.dtype))


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


class Gelu(Function):
    """GELU in one fused kernel each way (the backend lists "gelu").  A -> A.

    Saves x, as PyTorch. The output is watched, not saved: when it is still alive and
    unchanged at backward (in a GPT's MLP the next Linear keeps it) a backend whose
    `gelu_backward` takes `y` gets it, and can skip recomputing Phi(x) = y / x (the numpy
    backend's exact form); otherwise backward works from x alone, and a GELU output written
    in place (dropout with inplace=True) is fine, as in PyTorch.
    """

    watches_output = True

    def forward(self, x: NDArray, approximate: str) -> NDArray:
        self.approximate = approximate
        self.save_for_backward(x)
        self.output: Any = None
        return A.fused("gelu", x.shape, x.dtype, x, approximate)

    def watch_output(self, out: Tensor) -> None:
        self.output = (weakref.ref(out), out._version[0], id(out._data))

    def backward(self, grad: NDArray) -> NDArray:
        (x,) = self.saved
        y = self._unchanged_output() if _takes_output(x.backend) else None
        if y is None:
            return A.fused("gelu_backward", x.shape, x.dtype, grad, x, self.approximate)
        return A.fused("gelu_backward", x.shape, x.dtype, grad, x, self.approximate, y)

    def _unchanged_output(self) -> NDArray | None:
        if self.output is None:
            return None
        ref, version, data_id = self.output
        out = ref()
        if out is None or out._version[0] != version or id(out._data) != data_id:
            return None  # freed, written in place, or given other memory (`.data = `)
        return out._data


#: backend class -> whether its gelu_backward takes the forward's output `y`
_TAKES_OUTPUT: dict[type, bool] = {}


def _takes_output(backend: Any) -> bool:
    kind = type(backend)
    known = _TAKES_OUTPUT.get(kind)
    if known is None:
        known = "y" in inspect.signature(kind.gelu_backward).parameters
        _TAKES_OUTPUT[kind] = known
    return known


class Softmax(Function):
    """Softmax / log-softmax along one axis through the backend's fused kernel.  A -> A."""

    def forward(self, x: NDArray, axis: int = -1, log: bool = False) -> NDArray:
        self.axis = axis
        self.log = log
        out = A.fused("softmax", x.shape, x.dtype, x, axis, log)
        self.save_for_backward(out)
        return out

    def backward(self, grad: NDArray) -> NDArray:
        (out,) = self.saved
        axes = (self.axis,)
        if self.log:
            # y = x - lse(x): dx = g - softmax(x) * sum(g)
            total = A.reduce("sum", grad, axes, keepdim=True)
            return A.binary("sub", grad, A.binary("mul", A.unary("exp", out), total))
        # y = softmax(x): dx = y * (g - sum(g * y))
        dot = A.reduce("sum", A.binary("mul", grad, out), axes, keepdim=True)
        return A.binary("mul", out, A.binary("sub", grad, dot))


# ------------------------------------------------------------------ functions
def relu(x: Tensor) -> Tensor:
    return Relu.apply(x)


def tanh(x: Tensor) -> Tensor:
    return Tanh.apply(to_float(x))


def sigmoid(x: Tensor) -> Tensor:
    return Sigmoid.apply(to_float(x))


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """GELU: x * Phi(x) exactly (erf), or the tanh approximation GPT-2 used."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    x = to_float(x)
    if use_fused("gelu", x):
        return Gelu.apply(x, approximate=approximate)
    if approximate == "tanh":
        # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        inner = (x + x * x * x * 0.044715) * math.sqrt(2.0 / math.pi)
        return x * 0.5 * (tanh(inner) + 1.0)
    return x * 0.5 * (erf(x * (1.0 / math.sqrt(2.0))) + 1.0)


def silu(x: Tensor) -> Tensor:
    return x * sigmoid(x)


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    return _softmax(x, dim, log_=False)


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    return _softmax(x, dim, log_=True)


def _softmax(x: Tensor, dim: int, log_: bool) -> Tensor:
    x = autocast.upper(to_float(x), "log_softmax" if log_ else "softmax")
    axis = normalize_axis("softmax", dim, x.ndim)
    if x.ndim == 0:
        return _softmax(x.reshape(1), 0, log_).reshape(())
    if x.numel() == 0:
        return Clone.apply(x)  # nothing to normalize (and no max to subtract)
    if use_fused("softmax", x):
        return Softmax.apply(x, axis=axis, log=log_)
    # composite; NOTE: subtracting the max keeps exp() from overflowing
    shifted = x - Max.apply(x, axes=(axis,), keepdim=True).detach()
    if log_:
        return shifted - log(sum(exp(shifted), axis, keepdim=True))
    e = exp(shifted)
    return e / sum(e, axis, keepdim=True)
