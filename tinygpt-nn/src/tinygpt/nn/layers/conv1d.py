"""Conv1d: a learned 1-D convolution over sequences (N, C, L), PyTorch's names and init.

The work is `F.conv1d`: a 2-D convolution over an image of height 1.

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> conv = nn.Conv1d(4, 6, kernel_size=3, padding=1)
>>> conv(tg.randn(2, 4, 10)).shape
(2, 6, 10)
>>> conv.weight.shape  # (out_channels, in_channels / groups, k)
(6, 4, 3)
"""

from __future__ import annotations

import math
from typing import Any

import tinygpt as tg
from tinygpt import ShapeError, Tensor

from .. import init
from ..functional.conv1d import IntOne, conv1d, single
from ..module import Module
from ..parameter import Parameter

__all__ = ["Conv1d"]


class Conv1d(Module):
    """y = conv1d(x, weight) + bias: (N, C_in, L) -> (N, C_out, Lo), or (C_in, L) -> (C_out, Lo).

    `padding` may be an int, "same" or "valid"; only `padding_mode="zeros"` is supported.
    weight (C_out, C_in / groups, k), bias (C_out,).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOne,
        stride: IntOne = 1,
        padding: IntOne | str = 0,
        dilation: IntOne = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(
                f"Conv1d: groups={groups} must divide in_channels={in_channels} and "
                f"out_channels={out_channels}"
            )
        if padding_mode != "zeros":
            raise NotImplementedError(
                f"Conv1d: padding_mode={padding_mode!r} is not supported, only 'zeros'; pad "
                "the input yourself (e.g. tg.cat of reflected slices) and use padding=0"
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = (single("kernel_size", kernel_size, 1),)
        self.stride = (single("stride", stride, 1),)
        self.padding = padding if isinstance(padding, str) else (single("padding", padding, 0),)
        self.dilation = (single("dilation", dilation, 1),)
        self.groups = groups
        self.padding_mode = padding_mode
        shape = (out_channels, in_channels // groups, self.kernel_size[0])
        self.weight = Parameter(tg.empty(*shape, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(tg.empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: weights and bias U(+-1/sqrt(fan_in)), fan_in = C_in / groups * k
        (what kaiming_uniform with a=sqrt(5) gives)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.weight.shape[1] * self.kernel_size[0])
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (2, 3) or x.shape[-2] != self.in_channels:
            raise ShapeError(
                f"Conv1d({self.extra_repr()}): expected input (N, {self.in_channels}, L) or "
                f"({self.in_channels}, L), got {x.shape}"
            )
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        return conv1d(
            x, self.weight, self.bias, self.stride[0], padding, self.dilation[0], self.groups
        )

    def extra_repr(self) -> str:
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding not in ((0,), "valid"):
            text += f", padding={self.padding!r}"
        if self.dilation != (1,):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text
