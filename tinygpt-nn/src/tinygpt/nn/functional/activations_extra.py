"""More activations with PyTorch's names: elu, softplus, mish, hardtanh, and the `inplace=`
flag that relu, leaky_relu, elu, hardtanh and dropout accept.

`inplace=True` writes the result into x's own memory (`x.copy_(f(x))`), as PyTorch does; when
x is in an autograd graph the write is recorded, so backward still sees the right gradient.

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> x = tg.tensor([-1.0, 2.0])
>>> F.hardtanh(x, -0.5, 0.5).tolist()
[-0.5, 0.5]
>>> _ = F.relu(x, inplace=True); x.tolist()
[0.0, 2.0]
"""

from __future__ import annotations

from collections.abc import Callable

import tinygpt as tg
from tinygpt import Tensor

__all__ = ["elu", "softplus", "mish", "hardtanh", "apply_inplace"]


def apply_inplace(x: Tensor, fn: Callable[[Tensor], Tensor]) -> Tensor:
    """Write fn(x) into x and return x. subtle: fn reads a clone when x is in a graph, so an
    op that saves its input for backward keeps the value from before the write."""
    source = x.clone() if x.requires_grad else x
    return x.copy_(fn(source))


def _elu(x: Tensor, alpha: float) -> Tensor:
    # exp of min(x, 0) only: exp(x) for large x overflows to inf, and inf in the branch that
    # `where` drops still turns the gradient into nan (0 * inf)
    negative = (x.clamp(max=0.0).exp() - 1.0) * alpha
    return tg.where(x > 0, x, negative)


def elu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x where x > 0, else alpha * (exp(x) - 1)."""
    if inplace:
        return apply_inplace(x, lambda t: _elu(t, alpha))
    return _elu(x, alpha)


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta; x itself where beta * x > threshold (as PyTorch)."""
    scaled = x * beta
    # NOTE: max(z, 0) + log1p(exp(-|z|)) equals log(1 + exp(z)) and never overflows
    smooth = (scaled.clamp(min=0.0) + (-scaled.abs()).exp().log1p()) / beta
    return tg.where(scaled > threshold, x, smooth)


def mish(x: Tensor) -> Tensor:
    """x * tanh(softplus(x))."""
    return x * softplus(x).tanh()


def hardtanh(
    x: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """x clamped to [min_val, max_val]."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
    if inplace:
        return apply_inplace(x, lambda t: t.clamp(min_val, max_val))
    return x.clamp(min_val, max_val)
