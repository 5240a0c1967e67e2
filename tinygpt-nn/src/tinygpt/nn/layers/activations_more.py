"""Module forms of the activations in `functional/activations_more.py`, with PyTorch's names,
constructor arguments and reprs: ReLU6, Hardswish, Hardsigmoid, Hardshrink, Softshrink,
Tanhshrink, Threshold, SELU, CELU, GLU, LogSigmoid, Softsign, Softmin, Softmax2d, PReLU, RReLU.

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> nn.PReLU()(tg.tensor([-4.0, 2.0])).tolist()
[-1.0, 2.0]
"""

from __future__ import annotations

from typing import Any

import tinygpt as tg
from tinygpt import ShapeError, Tensor

from ..functional import activations_more as A
from ..functional.activations_extra import apply_inplace
from ..module import Module
from ..parameter import Parameter

__all__ = [
    "ReLU6",
    "Hardswish",
    "Hardsigmoid",
    "Hardshrink",
    "Softshrink",
    "Tanhshrink",
    "Threshold",
    "SELU",
    "CELU",
    "GLU",
    "LogSigmoid",
    "Softsign",
    "Softmin",
    "Softmax2d",
    "PReLU",
    "RReLU",
]


class _Inplace(Module):
    """An activation with only PyTorch's `inplace=` flag."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU6(_Inplace):
    """min(max(x, 0), 6).  A -> A."""

    def forward(self, x: Tensor) -> Tensor:
        return A.relu6(x, self.inplace)


class Hardswish(_Inplace):
    """x * relu6(x + 3) / 6.  A -> A."""

    def forward(self, x: Tensor) -> Tensor:
        return A.hardswish(x, self.inplace)


class Hardsigmoid(_Inplace):
    """relu6(x + 3) / 6.  A -> A."""

    def forward(self, x: Tensor) -> Tensor:
        return A.hardsigmoid(x, self.inplace)


class SELU(_Inplace):
    """Scaled ELU with the self-normalising constants.  A -> A."""

    def forward(self, x: Tensor) -> Tensor:
        return A.selu(x, self.inplace)


class Hardshrink(Module):
    """x where |x| > lambd, else 0.  A -> A."""

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, x: Tensor) -> Tensor:
        return A.hardshrink(x, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    """x -+ lambd outside [-lambd, lambd], else 0.  A -> A."""

    def forward(self, x: Tensor) -> Tensor:
        return A.softshrink(x, self.lambd)


class Tanhshrink(Module):
    """x - tanh(x).  A -> A."""

    def forward(self, x: Tensor) -> Tensor:
        return A.tanhshrink(x)


class LogSigmoid(Module):
    """log(sigmoid(x)).  A -> A."""

    def forward(self, x: Tensor) -> Tensor:
        return A.logsigmoid(x)


class Softsign(Module):
    """x / (1 + |x|).  A -> A."""

    def forward(self, x: Tensor) -> Tensor:
        return A.softsign(x)


class Threshold(Module):
    """x where x > threshold, else value.  A -> A."""

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold = threshold
        self.value = value
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return A.threshold(x, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"threshold={self.threshold}, value={self.value}{inplace}"


class CELU(Module):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1)).  A -> A."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return A.celu(x, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class GLU(Module):
    """a * sigmoid(b) for the two halves of `dim`.  (..., 2n) -> (..., n)."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return A.glu(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmin(Module):
    """softmax(-x) along `dim`.  A -> A."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return A.softmin(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax2d(Module):
    """Softmax over the channels at every pixel: (N, C, H, W) or (C, H, W), along dim -3."""

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (3, 4):
            raise ShapeError(f"Softmax2d: expected input (N, C, H, W) or (C, H, W), got {x.shape}")
        return x.softmax(-3)


class PReLU(Module):
    """max(0, x) + weight * min(0, x), with a learned slope per channel (or one shared).

    weight (num_parameters,), filled with `init`; x (N, C, ...) with C == num_parameters.
    """

    def __init__(
        self, num_parameters: int = 1, init: float = 0.25, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__()
        if num_parameters < 1:
            raise ValueError(f"PReLU: num_parameters must be >= 1, got {num_parameters}")
        self.num_parameters = num_parameters
        self.init = init
        self.weight = Parameter(tg.full((num_parameters,), init, device=device, dtype=dtype))

    def reset_parameters(self) -> None:
        with tg.no_grad():
            self.weight.fill_(self.init)

    def forward(self, x: Tensor) -> Tensor:
        return A.prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class RReLU(Module):
    """Leaky ReLU whose negative slope is drawn from U(lower, upper) in training and is
    (lower + upper) / 2 in evaluation.  A -> A."""

    def __init__(
        self, lower: float = 1.0 / 8.0, upper: float = 1.0 / 3.0, inplace: bool = False
    ) -> None:
        super().__init__()
        if lower > upper:
            raise ValueError(f"RReLU: lower ({lower}) must not exceed upper ({upper})")
        self.lower = lower
        self.upper = upper
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        if self.inplace:
            return apply_inplace(x, lambda t: A.rrelu(t, self.lower, self.upper, self.training))
        return A.rrelu(x, self.lower, self.upper, self.training)

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"lower={self.lower}, upper={self.upper}{inplace}"
