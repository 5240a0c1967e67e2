"""Activation functions. Most are core ops (`tg.relu`, `tg.gelu`, ...) re-exported under their
PyTorch names; all are elementwise (A -> A) except softmax/log_softmax (normalized along `dim`).

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> F.relu(tg.tensor([-1.0, 2.0])).tolist()
[0.0, 2.0]
"""

from __future__ import annotations

import tinygpt as tg
from tinygpt import Tensor

from .activations_extra import apply_inplace

__all__ = [
    "relu",
    "gelu",
    "tanh",
    "sigmoid",
    "silu",
    "softmax",
    "log_softmax",
    "leaky_relu",
]


def relu(x: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0); `inplace=True` writes the result into x (as `x.relu_()`)."""
    return x.relu_() if inplace else tg.relu(x)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x) (erf), or GPT-2's tanh approximation with approximate="tanh"."""
    return tg.gelu(x, approximate)


def tanh(x: Tensor) -> Tensor:
    return tg.tanh(x)


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + exp(-x))."""
    return tg.sigmoid(x)


def silu(x: Tensor) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    return tg.silu(x)


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along `dim`, computed stably (the max is subtracted first)."""
    return tg.softmax(x, dim)


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    """x - logsumexp(x) along `dim`, computed stably."""
    return tg.log_softmax(x, dim)


def leaky_relu(x: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x where x > 0, else negative_slope * x; `inplace=True` writes the result into x."""
    if inplace:
        return apply_inplace(x, lambda t: tg.where(t > 0, t, t * negative_slope))
    return tg.where(x > 0, x, x * negative_slope)
