"""ConvTranspose1d and ConvTranspose2d: learned upsampling convolutions, PyTorch's names,
weight layout (C_in, C_out / groups, *kernel) and init, so checkpoints load unchanged.

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> up = nn.ConvTranspose2d(4, 2, kernel_size=2, stride=2)
>>> up(tg.randn(1, 4, 5, 5)).shape
(1, 2, 10, 10)
>>> up.weight.shape  # (in_channels, out_channels / groups, kh, kw)
(4, 2, 2, 2)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import tinygpt as tg
from tinygpt import ShapeError, Tensor

from .. import init
from ..functional.conv_transpose import conv_transpose1d, conv_transpose2d
from ..functional.pooling_more import tuple_of
from ..module import Module
from ..parameter import Parameter

IntOr = int | Sequence[int]

__all__ = ["ConvTranspose1d", "ConvTranspose2d"]


class _ConvTransposeNd(Module):
    """The shared constructor, init, output_size handling and repr of 1-D and 2-D."""

    dims = 2

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOr,
        stride: IntOr = 1,
        padding: IntOr = 0,
        output_padding: IntOr = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: IntOr = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: groups={groups} must divide in_channels={in_channels} and "
                f"out_channels={out_channels}"
            )
        if padding_mode != "zeros":
            raise ValueError(
                f"{name}: only padding_mode='zeros' is supported, got {padding_mode!r}"
            )
        n = self.dims
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = tuple_of(name, "kernel_size", kernel_size, n, 1)
        self.stride = tuple_of(name, "stride", stride, n, 1)
        self.padding = tuple_of(name, "padding", padding, n, 0)
        self.output_padding = tuple_of(name, "output_padding", output_padding, n, 0)
        self.dilation = tuple_of(name, "dilation", dilation, n, 1)
        self.groups = groups
        self.padding_mode = padding_mode
        shape = (in_channels, out_channels // groups) + self.kernel_size
        self.weight = Parameter(tg.empty(*shape, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(tg.empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: kaiming_uniform(a=sqrt(5)), whose fan_in here is read from the
        weight's dim 1 (C_out / groups) times the kernel, and bias U(+-1/sqrt(fan_in))."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1.0 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound)

    def _output_padding(self, x: Tensor, output_size: Sequence[int] | None) -> tuple[int, ...]:
        """The output_padding that makes the output `output_size` (PyTorch's forward arg)."""
        if output_size is None:
            return self.output_padding
        n = self.dims
        wanted = list(output_size)[-n:]
        if len(wanted) != n:
            raise ValueError(f"{type(self).__name__}: output_size needs {n} spatial sizes")
        extra = []
        for a in range(n):
            size = x.shape[x.ndim - n + a]
            smallest = (
                (size - 1) * self.stride[a]
                - 2 * self.padding[a]
                + self.dilation[a] * (self.kernel_size[a] - 1)
                + 1
            )
            if not smallest <= wanted[a] < smallest + self.stride[a]:
                raise ValueError(
                    f"{type(self).__name__}: output_size {tuple(output_size)} is not reachable; "
                    f"dim {a} can be {smallest} to {smallest + self.stride[a] - 1}"
                )
            extra.append(wanted[a] - smallest)
        return tuple(extra)

    def _check(self, x: Tensor) -> None:
        n = self.dims
        if x.ndim not in (n + 1, n + 2) or x.shape[x.ndim - n - 1] != self.in_channels:
            spatial = "L" if n == 1 else "H, W"
            raise ShapeError(
                f"{type(self).__name__}({self.extra_repr()}): expected input "
                f"(N, {self.in_channels}, {spatial}) or ({self.in_channels}, {spatial}), "
                f"got {x.shape}"
            )

    def extra_repr(self) -> str:
        n = self.dims
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0,) * n:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class ConvTranspose1d(_ConvTransposeNd):
    """(N, C_in, L) -> (N, C_out, (L - 1) * s - 2 * p + d * (k - 1) + output_padding + 1)."""

    dims = 1

    def forward(self, x: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        self._check(x)
        return conv_transpose1d(
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self._output_padding(x, output_size),
            self.groups,
            self.dilation,
        )


class ConvTranspose2d(_ConvTransposeNd):
    """(N, C_in, H, W) -> (N, C_out, Ho, Wo), Ho = (H - 1) * sh - 2 * ph + dh * (kh - 1)
    + oph + 1."""

    def forward(self, x: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        self._check(x)
        return conv_transpose2d(
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self._output_padding(x, output_size),
            self.groups,
            self.dilation,
        )
