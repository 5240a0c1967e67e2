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
    # `where` drops still turns the gradient into nan (0 * inf). NOTE: `where`, not clamp, so
    # x = 0 gets the full slope alpha, as in PyTorch (clamp splits the gradient at a tie)
    negative = (tg.where(x > 0, 0.0, x).exp() - 1.0) * alpha
    return tg.where(x > 0, x, negative)


def elu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x where x > 0, else alpha * (exp(x) - 1)."""
    if inplace:
        return apply_inplace(x, lambda t: _elu(t, alpha))
    return _elu(x, alpha)


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta; x itself where beta * x > threshold (as PyTorch)."""
    scaled = x * beta
    positive = scaled > 0
    # NOTE: max(z, 0) + log1p(exp(-|z|)) equals log(1 + exp(z)) and never overflows; both
    # are spelled with `where` so the gradient at z = 0 is exactly sigmoid(0) = 1/2
    smooth = tg.where(positive, scaled, 0.0) + tg.where(positive, -scaled, scaled).exp().log1p()
    return tg.where(scaled > threshold, x, smooth / beta)


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
        return apply_inplace(x, lambda t: _hardtanh(t, min_val, max_val))
    return _hardtanh(x, min_val, max_val)


def _hardtanh(x: Tensor, min_val: float, max_val: float) -> Tensor:
    # as PyTorch, the gradient is 1 strictly inside (min_val, max_val) and 0 elsewhere,
    # the bounds included (clamp alone would split it there)
    inside = (x > min_val) & (x < max_val)
    return tg.where(inside, x, x.detach().clamp(min_val, max_val))
