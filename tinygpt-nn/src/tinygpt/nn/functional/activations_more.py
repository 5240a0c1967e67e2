"""The rest of PyTorch's pointwise activations: relu6, hardswish, hardsigmoid, the shrinks,
threshold, selu, celu, glu, logsigmoid, softsign, softmin, prelu, rrelu and gumbel_softmax,
plus the trailing-underscore in-place forms (`F.relu_`, `F.elu_`, ...).

Each is a composition of differentiable core ops (mostly `where` over a comparison), so none
needs a backward of its own. Where PyTorch's gradient at a kink is a convention, `where` picks
the same side PyTorch does.

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> F.relu6(tg.tensor([-1.0, 3.0, 9.0])).tolist()
[0.0, 3.0, 6.0]
>>> F.softshrink(tg.tensor([-2.0, 0.2, 1.5]), 0.5).tolist()
[-1.5, 0.0, 1.0]
"""

from __future__ import annotations

import tinygpt as tg
from tinygpt import ShapeError, Tensor

from .activation import leaky_relu, relu
from .activations_extra import _hardtanh, apply_inplace, elu, hardtanh

__all__ = [
    "relu6",
    "hardswish",
    "hardsigmoid",
    "hardshrink",
    "softshrink",
    "tanhshrink",
    "threshold",
    "selu",
    "celu",
    "glu",
    "logsigmoid",
    "softsign",
    "softmin",
    "prelu",
    "rrelu",
    "gumbel_softmax",
    "relu_",
    "elu_",
    "leaky_relu_",
    "hardtanh_",
    "selu_",
    "celu_",
    "threshold_",
    "rrelu_",
]

# SELU's constants (Klambauer et al. 2017): the fixed point that keeps mean 0 and variance 1
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _zeros(x: Tensor) -> Tensor:
    return tg.zeros_like(x)


def relu6(x: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6)."""
    return hardtanh(x, 0.0, 6.0, inplace)


def hardswish(x: Tensor, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6: 0 below -3, x above 3, x * (x + 3) / 6 between."""
    if inplace:
        return apply_inplace(x, hardswish)
    middle = x * (x + 3.0) / 6.0
    return tg.where(x <= -3.0, _zeros(x), tg.where(x >= 3.0, x, middle))


def hardsigmoid(x: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6: a piecewise-linear sigmoid (gradient 1/6 strictly inside (-3, 3))."""
    if inplace:
        return apply_inplace(x, hardsigmoid)
    return _hardtanh(x + 3.0, 0.0, 6.0) / 6.0


def hardshrink(x: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0."""
    return tg.where(x.abs() > lambd, x, _zeros(x))


def softshrink(x: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, else 0."""
    if lambd < 0:
        raise ValueError(f"softshrink: lambd must be >= 0, got {lambd}")
    shrunk = tg.where(x > lambd, x - lambd, x + lambd)
    return tg.where(x.abs() > lambd, shrunk, _zeros(x))


def tanhshrink(x: Tensor) -> Tensor:
    """x - tanh(x)."""
    return x - x.tanh()


def threshold(x: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else `value` (PyTorch's positional order: threshold, value)."""
    if inplace:
        return apply_inplace(x, lambda t: _threshold(t, threshold, value))
    return _threshold(x, threshold, value)


def _threshold(x: Tensor, threshold: float, value: float) -> Tensor:
    return tg.where(x > threshold, x, tg.full_like(x, value))


def selu(x: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with SELU's fixed alpha and scale (self-normalising nets)."""
    if inplace:
        return apply_inplace(x, selu)
    return elu(x, SELU_ALPHA) * SELU_SCALE


def celu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1)): an ELU that is C1 for every alpha."""
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (it divides x)")
    if inplace:
        return apply_inplace(x, lambda t: celu(t, alpha))
    # elu(x / alpha, 1) * alpha has the same values and gradient and reuses elu's overflow guard
    return tg.where(x > 0, x, elu(x / alpha, 1.0) * alpha)


def glu(x: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: split `dim` into halves a, b and return a * sigmoid(b).

    (..., 2n, ...) -> (..., n, ...).
    """
    if x.ndim == 0:
        raise ShapeError("glu: does not support 0-d (scalar) tensors")
    size = x.shape[dim]
    if size % 2:
        raise ShapeError(f"glu: dim {dim} of {x.shape} has odd size {size}; it must be halved")
    a, b = x.chunk(2, dim)
    return a * b.sigmoid()


def logsigmoid(x: Tensor) -> Tensor:
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)), which never overflows."""
    negative = x < 0
    # NOTE: both pieces via `where` so the gradient at x = 0 is exactly 1/2
    return tg.where(negative, x, _zeros(x)) - tg.where(negative, x, -x).exp().log1p()


def softsign(x: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    return x / (x.abs() + 1.0)


def softmin(
    x: Tensor,
    dim: int | None = None,
    _stacklevel: int = 3,
    dtype: tg.DType | None = None,
) -> Tensor:
    """softmax(-x) along `dim` (PyTorch's signature; dim is required in practice)."""
    if dim is None:
        raise TypeError("softmin: pass dim= (the dimension to normalise over)")
    source = x if dtype is None else x.to(dtype)
    return (-source).softmax(dim)


def prelu(x: Tensor, weight: Tensor) -> Tensor:
    """max(0, x) + weight * min(0, x) with one learned slope per channel (dim 1) or one shared.

    x (N, C, ...) with weight (C,) or (1,); a 1-D x takes its only dim as the channels.
    """
    count = weight.numel()
    if x.ndim == 0 or count == 1:
        slope = weight.reshape(())
    else:
        channel_dim = 1 if x.ndim >= 2 else 0
        if x.shape[channel_dim] != count:
            raise ShapeError(
                f"prelu: weight has {count} slopes but input {x.shape} has "
                f"{x.shape[channel_dim]} channels (dim {channel_dim}); use 1 or that many"
            )
        view = [1] * x.ndim
        view[channel_dim] = count
        slope = weight.reshape(*view)  # broadcasts over the channel dim
    return tg.where(x > 0, x, x * slope)


def rrelu(
    x: Tensor,
    lower: float = 1.0 / 8.0,
    upper: float = 1.0 / 3.0,
    training: bool = False,
    inplace: bool = False,
) -> Tensor:
    """Randomized leaky ReLU: in training each negative element gets a slope drawn from
    U(lower, upper); in evaluation the slope is their mean (lower + upper) / 2."""
    if lower > upper:
        raise ValueError(f"rrelu: lower ({lower}) must not exceed upper ({upper})")
    if inplace:
        return apply_inplace(x, lambda t: rrelu(t, lower, upper, training))
    if not training:
        return leaky_relu(x, (lower + upper) / 2.0)
    slope = tg.rand(*x.shape, dtype=x.dtype, device=x.device) * (upper - lower) + lower
    return tg.where(x >= 0, x, x * slope)


def gumbel_softmax(
    logits: Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10, dim: int = -1
) -> Tensor:
    """A differentiable sample from the categorical distribution softmax(logits).

    Adds Gumbel noise -log(E), E ~ Exp(1), then softmax((logits + noise) / tau). With
    hard=True the result is one-hot in the forward pass but carries the soft sample's
    gradient (the straight-through estimator). `eps` is unused, as in PyTorch.
    """
    exponential = tg.empty_like(logits).exponential_()
    gumbels = (logits - exponential.log()) / tau
    soft = gumbels.softmax(dim)
    if not hard:
        return soft
    index = soft.argmax(dim, keepdim=True)
    one_hot = tg.zeros_like(logits).scatter(dim, index, 1.0)
    # NOTE: forward value one_hot, gradient of soft
    return one_hot - soft.detach() + soft


def relu_(x: Tensor) -> Tensor:
    """relu written into x."""
    return relu(x, inplace=True)


def elu_(x: Tensor, alpha: float = 1.0) -> Tensor:
    """elu written into x."""
    return elu(x, alpha, inplace=True)


def leaky_relu_(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """leaky_relu written into x."""
    return leaky_relu(x, negative_slope, inplace=True)


def hardtanh_(x: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """hardtanh written into x."""
    return hardtanh(x, min_val, max_val, inplace=True)


def selu_(x: Tensor) -> Tensor:
    """selu written into x."""
    return selu(x, inplace=True)


def celu_(x: Tensor, alpha: float = 1.0) -> Tensor:
    """celu written into x."""
    return celu(x, alpha, inplace=True)


def threshold_(x: Tensor, threshold: float, value: float) -> Tensor:
    """threshold written into x."""
    return _threshold_inplace(x, threshold, value)


def _threshold_inplace(x: Tensor, threshold_at: float, value: float) -> Tensor:
    return threshold(x, threshold_at, value, inplace=True)


def rrelu_(
    x: Tensor, lower: float = 1.0 / 8.0, upper: float = 1.0 / 3.0, training: bool = False
) -> Tensor:
    """rrelu written into x."""
    return rrelu(x, lower, upper, training, inplace=True)
