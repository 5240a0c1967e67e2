"""Weight initialisers, in place and seeded by `tg.manual_seed`, with PyTorch's names and rules.

Each fills a tensor under `tg.no_grad()` and returns it. The fan of a weight follows PyTorch:
for a Linear weight (out, in) fan_in = in and fan_out = out; for a conv weight
(out_ch, in_ch, kh, kw) each fan is multiplied by the receptive field kh * kw.

>>> import tinygpt as tg
>>> from tinygpt.nn import init
>>> w = tg.empty(4, 3)
>>> init.constant_(w, 0.5).tolist()[0]
[0.5, 0.5, 0.5]
>>> init._calculate_fan_in_and_fan_out(tg.empty(8, 3, 5, 5))
(75, 200)
"""

from __future__ import annotations

import math

import tinygpt as tg
from tinygpt import Tensor

from .init_orthogonal import orthogonal_

__all__ = [
    "calculate_gain",
    "uniform_",
    "normal_",
    "trunc_normal_",
    "constant_",
    "zeros_",
    "ones_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "orthogonal_",
]

_MAX_REDRAWS = 100
_LINEAR_LIKE = ("linear", "conv1d", "conv2d", "conv3d", "sigmoid", "identity")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor that keeps activations' variance steady through `nonlinearity` (PyTorch's).

    linear/conv/sigmoid 1, tanh 5/3, relu sqrt(2), leaky_relu sqrt(2 / (1 + slope^2)),
    selu 3/4.
    """
    if nonlinearity in _LINEAR_LIKE:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"calculate_gain: negative slope {slope!r} is not a number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel)."""
    if tensor.ndim < 2:
        raise ValueError(
            f"init: fan in and fan out need a tensor with >= 2 dims, got shape {tensor.shape}"
        )
    receptive_field = 1
    for d in tensor.shape[2:]:
        receptive_field *= d
    fan_in = tensor.shape[1] * receptive_field
    fan_out = tensor.shape[0] * receptive_field
    return fan_in, fan_out


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with U(a, b)."""
    with tg.no_grad():
        return tensor.uniform_(a, b)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with N(mean, std^2)."""
    with tg.no_grad():
        return tensor.normal_(mean, std)


def trunc_normal_(
    tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0
) -> Tensor:
    """Fill with N(mean, std^2) restricted to [a, b]: values outside are drawn again.

    NOTE: a and b are absolute values, not multiples of std (as in PyTorch).
    """
    if not a < b:
        raise ValueError(f"trunc_normal_: need a < b, got a={a}, b={b}")
    with tg.no_grad():
        z = tg.randn(*tensor.shape, dtype=tensor.dtype, device=tensor.device) * std + mean
        for _ in range(_MAX_REDRAWS):
            outside = (z < a) | (z > b)
            if not bool(outside.any()):
                break
            fresh = tg.randn(*tensor.shape, dtype=tensor.dtype, device=tensor.device) * std + mean
            z = tg.where(outside, fresh, z)
        # after that many rounds only bounds far out in a tail can leave values outside
        return tensor.copy_(z.clamp(a, b))


def constant_(tensor: Tensor, val: float) -> Tensor:
    with tg.no_grad():
        return tensor.fill_(val)


def zeros_(tensor: Tensor) -> Tensor:
    with tg.no_grad():
        return tensor.zero_()


def ones_(tensor: Tensor) -> Tensor:
    with tg.no_grad():
        return tensor.fill_(1.0)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010).

    Averaging both fans keeps the variance steady in the forward and the backward pass.
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return normal_(tensor, 0.0, std)


def kaiming_uniform_(
    tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Tensor:
    """U(-b, b) with b = gain * sqrt(3 / fan) (He et al., 2015); `a` is leaky_relu's slope.

    mode="fan_in" (default) keeps the forward activations' variance steady, "fan_out" the
    backward gradients'.
    """
    if tensor.numel() == 0:
        # NOTE: as in PyTorch, nothing to fill (and fan may be 0), e.g. an adaptive-softmax
        # tail whose hidden size rounds down to 0
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    bound = gain * math.sqrt(3.0 / fan)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(
    tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Tensor:
    """N(0, std^2) with std = gain / sqrt(fan)."""
    if tensor.numel() == 0:
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    return normal_(tensor, 0.0, gain / math.sqrt(fan))
