"""Conv2d: a learned 2-D convolution over images (N, C, H, W), PyTorch's names and init.

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> conv = nn.Conv2d(3, 8, kernel_size=3, padding=1)
>>> conv(tg.randn(2, 3, 16, 16)).shape
(2, 8, 16, 16)
>>> conv.weight.shape  # (out_channels, in_channels / groups, kh, kw)
(8, 3, 3, 3)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import tinygpt as tg
from tinygpt import ShapeError, Tensor

from .. import init
from ..functional import conv2d
from ..module import Module
from ..parameter import Parameter

IntPair = int | Sequence[int]

__all__ = ["Conv2d"]


class Conv2d(Module):
    """y = conv2d(x, weight) + bias: (N, C_in, H, W) -> (N, C_out, Ho, Wo).

    Ho = (H + 2 * padding - dilation * (kh - 1) - 1) // stride + 1; `padding` may also be
    "same" or "valid". weight (C_out, C_in / groups, kh, kw), bias (C_out,).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntPair,
        stride: IntPair = 1,
        padding: IntPair | str = 0,
        dilation: IntPair = 1,
        groups: int = 1,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(
                f"Conv2d: groups={groups} must divide in_channels={in_channels} and "
                f"out_channels={out_channels}"
            )
        # the int-or-pair arguments are checked now, not at the first forward
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _pair("kernel_size", kernel_size, minimum=1)
        self.stride = _pair("stride", stride, minimum=1)
        self.padding = padding if isinstance(padding, str) else _pair("padding", padding, 0)
        self.dilation = _pair("dilation", dilation, minimum=1)
        self.groups = groups
        shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(tg.empty(*shape, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(tg.empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: kaiming_uniform(a=sqrt(5)) weights, i.e. U(+-1/sqrt(fan_in)),
        and bias U(+-1/sqrt(fan_in)); fan_in = C_in / groups * kh * kw."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * self.kernel_size[0] * self.kernel_size[1]
            bound = 1.0 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (3, 4) or x.shape[-3] != self.in_channels:
            raise ShapeError(
                f"Conv2d({self.extra_repr()}): expected input (N, {self.in_channels}, H, W) or "
                f"({self.in_channels}, H, W), got {x.shape}"
            )
        return conv2d(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )

    def extra_repr(self) -> str:
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding not in ((0, 0), "valid"):
            text += (
                f", padding={self.padding!r}"
                if isinstance(self.padding, str)
                else f", padding={self.padding}"
            )
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


def _pair(name: str, value: IntPair, minimum: int) -> tuple[int, int]:
    """PyTorch's int-or-pair argument as a pair, each at least `minimum`."""
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or min(pair) < minimum:
        raise ValueError(
            f"Conv2d: {name} must be an int or a pair of ints >= {minimum}, got {value}"
        )
    return int(pair[0]), int(pair[1])
