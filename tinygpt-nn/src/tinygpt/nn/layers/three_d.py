"""The 3-D layers for volumes (N, C, D, H, W): Conv3d, ConvTranspose3d, MaxPool3d,
AvgPool3d, AdaptiveAvgPool3d, AdaptiveMaxPool3d, LPPool3d, with PyTorch's arguments,
weight layouts and init.

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> nn.Conv3d(2, 4, 3, padding=1)(tg.randn(1, 2, 4, 5, 6)).shape
(1, 4, 4, 5, 6)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import tinygpt as tg
from tinygpt import ShapeError, Tensor

from .. import init
from ..functional import pooling3d as P
from ..functional.conv3d import conv3d, conv_transpose3d
from ..functional.pooling_more import tuple_of
from ..module import Module
from ..parameter import Parameter
from .conv_transpose import _ConvTransposeNd
from .pooling_more import LPPool1d

IntOr = int | Sequence[int]

__all__ = [
    "Conv3d",
    "ConvTranspose3d",
    "MaxPool3d",
    "AvgPool3d",
    "AdaptiveAvgPool3d",
    "AdaptiveMaxPool3d",
    "LPPool3d",
]


class Conv3d(Module):
    """y = conv3d(x, weight) + bias: (N, C_in, D, H, W) -> (N, C_out, Do, Ho, Wo).

    weight (C_out, C_in / groups, kd, kh, kw) and bias (C_out,), PyTorch's init.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOr,
        stride: IntOr = 1,
        padding: IntOr | str = 0,
        dilation: IntOr = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        name = "Conv3d"
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: groups={groups} must divide in_channels={in_channels} and "
                f"out_channels={out_channels}"
            )
        if padding_mode != "zeros":
            raise ValueError(
                f"{name}: only padding_mode='zeros' is supported, got {padding_mode!r}"
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = tuple_of(name, "kernel_size", kernel_size, 3, 1)
        self.stride = tuple_of(name, "stride", stride, 3, 1)
        self.padding: tuple[int, ...] | str = (
            padding if isinstance(padding, str) else tuple_of(name, "padding", padding, 3, 0)
        )
        self.dilation = tuple_of(name, "dilation", dilation, 3, 1)
        self.groups = groups
        self.padding_mode = padding_mode
        shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(tg.empty(*shape, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(tg.empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """kaiming_uniform(a=sqrt(5)) weights and U(+-1/sqrt(fan_in)) bias, as PyTorch."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.weight.shape[1] * math.prod(self.kernel_size))
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (4, 5) or x.shape[-4] != self.in_channels:
            raise ShapeError(
                f"Conv3d({self.extra_repr()}): expected input (N, {self.in_channels}, D, H, W) "
                f"or ({self.in_channels}, D, H, W), got {x.shape}"
            )
        return conv3d(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )

    def extra_repr(self) -> str:
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding not in ((0, 0, 0), "valid"):
            text += f", padding={self.padding!r}"
        if self.dilation != (1, 1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class ConvTranspose3d(_ConvTransposeNd):
    """(N, C_in, D, H, W) -> (N, C_out, Do, Ho, Wo); weight (C_in, C_out / groups, k...)."""

    dims = 3

    def forward(self, x: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        self._check(x)
        return conv_transpose3d(
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self._output_padding(x, output_size),
            self.groups,
            self.dilation,
        )


class MaxPool3d(Module):
    """Max over kd x kh x kw windows; stride defaults to kernel_size."""

    def __init__(
        self,
        kernel_size: IntOr,
        stride: IntOr | None = None,
        padding: IntOr = 0,
        dilation: IntOr = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        return P.max_pool3d(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            self.return_indices,
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class AvgPool3d(Module):
    """Mean over kd x kh x kw windows; stride defaults to kernel_size."""

    def __init__(
        self,
        kernel_size: IntOr,
        stride: IntOr | None = None,
        padding: IntOr = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, x: Tensor) -> Tensor:
        return P.avg_pool3d(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool3d(Module):
    """(N, C, D, H, W) -> (N, C, *output_size): means over adaptive bins."""

    def __init__(self, output_size: P.Size3) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return P.adaptive_avg_pool3d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool3d(AdaptiveAvgPool3d):
    """(N, C, D, H, W) -> (N, C, *output_size): maxima over adaptive bins."""

    def __init__(self, output_size: P.Size3, return_indices: bool = False) -> None:
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, Tensor]:  # type: ignore[override]
        return P.adaptive_max_pool3d(x, self.output_size, self.return_indices)


class LPPool3d(LPPool1d):
    """(sum over each kd x kh x kw window of x ** p) ** (1 / p)."""

    def __init__(
        self,
        norm_type: float,
        kernel_size: IntOr,
        stride: IntOr | None = None,
        ceil_mode: bool = False,
    ) -> None:
        Module.__init__(self)
        self.norm_type = norm_type
        self.kernel_size = kernel_size  # type: ignore[assignment]
        self.stride = stride  # type: ignore[assignment]
        self.ceil_mode = ceil_mode

    def forward(self, x: Tensor) -> Tensor:
        return P.lp_pool3d(x, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)
