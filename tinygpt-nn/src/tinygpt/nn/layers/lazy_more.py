"""Lazy convolutions and norms: LazyConv1d/2d/3d, LazyConvTranspose1d/2d/3d,
LazyBatchNorm1d/2d/3d and LazyInstanceNorm1d/2d/3d read their channel count from the first
input, then become the ordinary layer (as PyTorch's lazy modules do; see `lazy.py`).

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> conv = nn.LazyConv2d(8, 3)
>>> conv(tg.randn(1, 5, 6, 6)).shape, type(conv).__name__, conv.weight.shape
((1, 8, 4, 4), 'Conv2d', (8, 5, 3, 3))
"""

from __future__ import annotations

from typing import Any

import tinygpt as tg
from tinygpt import ShapeError, Tensor

from ..module import Module
from .conv import Conv2d
from .conv1d import Conv1d
from .conv_transpose import ConvTranspose1d, ConvTranspose2d
from .lazy import UninitializedParameter
from .norm_distance import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d
from .normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d
from .three_d import Conv3d, ConvTranspose3d

__all__ = [
    "LazyConv1d",
    "LazyConv2d",
    "LazyConv3d",
    "LazyConvTranspose1d",
    "LazyConvTranspose2d",
    "LazyConvTranspose3d",
    "LazyBatchNorm1d",
    "LazyBatchNorm2d",
    "LazyBatchNorm3d",
    "LazyInstanceNorm1d",
    "LazyInstanceNorm2d",
    "LazyInstanceNorm3d",
]


def _channels(module: Module, x: Tensor, dims: int) -> int:
    """The channel count of a batched (N, C, *spatial) or unbatched (C, *spatial) input."""
    if x.ndim not in (dims + 1, dims + 2):
        raise ShapeError(
            f"{type(module).__name__}: expected a {dims + 1}-D or {dims + 2}-D input, got {x.shape}"
        )
    return x.shape[x.ndim - dims - 1]


class _LazyConv:
    """Shared by the lazy convolutions: placeholders now, shapes at the first forward."""

    target: Any
    dims = 2
    transposed = False

    def _make_lazy(self, bias: bool, device: Any, dtype: Any) -> None:
        layer: Any = self
        layer.in_channels = 0
        layer.weight = UninitializedParameter(device=device, dtype=dtype)
        if bias:
            layer.bias = UninitializedParameter(device=device, dtype=dtype)

    def _materialize(self, x: Tensor) -> None:
        layer: Any = self
        channels = _channels(layer, x, self.dims)
        if channels % layer.groups:
            raise ShapeError(
                f"{type(self).__name__}: {channels} input channels do not split into "
                f"groups={layer.groups}"
            )
        layer.in_channels = channels
        kernel = tuple(layer.kernel_size)
        if self.transposed:
            shape = (channels, layer.out_channels // layer.groups) + kernel
        else:
            shape = (layer.out_channels, channels // layer.groups) + kernel
        layer.weight.materialize(shape)
        if isinstance(layer.bias, UninitializedParameter):
            layer.bias.materialize((layer.out_channels,))
        layer.reset_parameters()
        # NOTE: from now on it is the ordinary layer, so this lazy forward never runs again
        layer.__class__ = self.target


class LazyConv1d(_LazyConv, Conv1d):
    """Conv1d with in_channels read from the first input."""

    target: Any = Conv1d
    dims = 1

    def __init__(
        self,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        Conv1d.__init__(
            self,
            groups,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
        )
        self._make_lazy(bias, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        self._materialize(x)
        return Conv1d.forward(self, x)


class LazyConv2d(_LazyConv, Conv2d):
    """Conv2d with in_channels read from the first input."""

    target: Any = Conv2d

    def __init__(
        self,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if padding_mode != "zeros":
            raise ValueError(
                f"LazyConv2d: only padding_mode='zeros' is supported, got {padding_mode!r}"
            )
        Conv2d.__init__(
            self,
            groups,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            device,
            dtype,
        )
        self._make_lazy(bias, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        self._materialize(x)
        return Conv2d.forward(self, x)


class LazyConv3d(_LazyConv, Conv3d):
    """Conv3d with in_channels read from the first input."""

    target: Any = Conv3d
    dims = 3

    def __init__(
        self,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        Conv3d.__init__(
            self,
            groups,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
        )
        self._make_lazy(bias, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        self._materialize(x)
        return Conv3d.forward(self, x)


class _LazyConvTranspose(_LazyConv):
    transposed = True

    def __init__(
        self,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        self.target.__init__(
            self,
            groups,
            out_channels,
            kernel_size,
            stride,
            padding,
            output_padding,
            groups,
            bias,
            dilation,
            padding_mode,
            device,
            dtype,
        )
        self._make_lazy(bias, device, dtype)

    def forward(self, x: Tensor, output_size: Any = None) -> Tensor:
        target = self.target  # NOTE: read before _materialize swaps the class
        self._materialize(x)
        return target.forward(self, x, output_size)


class LazyConvTranspose1d(_LazyConvTranspose, ConvTranspose1d):
    """ConvTranspose1d with in_channels read from the first input."""

    target: Any = ConvTranspose1d
    dims = 1


class LazyConvTranspose2d(_LazyConvTranspose, ConvTranspose2d):
    """ConvTranspose2d with in_channels read from the first input."""

    target: Any = ConvTranspose2d


class LazyConvTranspose3d(_LazyConvTranspose, ConvTranspose3d):
    """ConvTranspose3d with in_channels read from the first input."""

    target: Any = ConvTranspose3d
    dims = 3


class _LazyNorm:
    """Shared by the lazy norms: num_features, weight, bias and running stats come later."""

    target: Any
    dims = 1

    def _make_lazy(self, device: Any, dtype: Any) -> None:
        layer: Any = self
        layer.num_features = 0
        if layer.weight is not None:
            layer.weight = UninitializedParameter(device=device, dtype=dtype)
        if layer.bias is not None:
            layer.bias = UninitializedParameter(device=device, dtype=dtype)

    def _materialize(self, x: Tensor) -> None:
        layer: Any = self
        channels = _channels(layer, x, self.dims) if self.dims else x.shape[1]
        layer.num_features = channels
        with tg.no_grad():
            if isinstance(layer.weight, UninitializedParameter):
                layer.weight.materialize((channels,))
                layer.weight.fill_(1.0)
            if isinstance(layer.bias, UninitializedParameter):
                layer.bias.materialize((channels,))
                layer.bias.zero_()
        if layer.running_mean is not None:
            place = layer.running_mean
            layer.running_mean = tg.zeros(channels, device=place.device, dtype=place.dtype)
            layer.running_var = tg.ones(channels, device=place.device, dtype=place.dtype)
        layer.__class__ = self.target


class LazyBatchNorm1d(_LazyNorm, BatchNorm1d):
    """BatchNorm1d with num_features read from the first input (N, C) or (N, C, L)."""

    target: Any = BatchNorm1d
    dims = 0  # channels are always dim 1

    def __init__(
        self,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        self.target.__init__(self, 0, eps, momentum, affine, track_running_stats, device, dtype)
        self._make_lazy(device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 2:
            raise ShapeError(f"{type(self).__name__}: expected (N, C, ...), got {x.shape}")
        target = self.target  # NOTE: read before _materialize swaps the class
        self._materialize(x)
        return target.forward(self, x)


class LazyBatchNorm2d(LazyBatchNorm1d):
    """BatchNorm2d with num_features read from the first input."""

    target: Any = BatchNorm2d


class LazyBatchNorm3d(LazyBatchNorm1d):
    """BatchNorm3d with num_features read from the first input."""

    target: Any = BatchNorm3d


class LazyInstanceNorm1d(_LazyNorm, InstanceNorm1d):
    """InstanceNorm1d with num_features read from the first input. NOTE: the lazy forms
    default to affine=True and track_running_stats=True, as in PyTorch."""

    target: Any = InstanceNorm1d
    dims = 1

    def __init__(
        self,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        self.target.__init__(
            self,
            0,
            eps,
            momentum,
            affine,
            track_running_stats,
            device,
            dtype,
            bias=bias,
        )
        self._make_lazy(device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        target = self.target  # NOTE: read before _materialize swaps the class
        self._materialize(x)
        return target.forward(self, x)


class LazyInstanceNorm2d(LazyInstanceNorm1d):
    """InstanceNorm2d with num_features read from the first input."""

    target: Any = InstanceNorm2d
    dims = 2


class LazyInstanceNorm3d(LazyInstanceNorm1d):
    """InstanceNorm3d with num_features read from the first input."""

    target: Any = InstanceNorm3d
    dims = 3
