"""Module forms of the 1-D, adaptive and power-average pools, with PyTorch's constructor
arguments and reprs: MaxPool1d, AvgPool1d, AdaptiveAvgPool1d, AdaptiveMaxPool1d,
AdaptiveMaxPool2d, LPPool1d, LPPool2d. None has parameters.

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> nn.MaxPool1d(2)(tg.randn(1, 3, 8)).shape
(1, 3, 4)
"""

from __future__ import annotations

from collections.abc import Sequence

from tinygpt import Tensor

from ..functional import adaptive_more as AM
from ..functional import fractional_pool as FP
from ..functional import pooling_more as P
from ..module import Module

IntOr = int | Sequence[int]

__all__ = [
    "MaxPool1d",
    "AvgPool1d",
    "AdaptiveAvgPool1d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "LPPool1d",
    "LPPool2d",
    "FractionalMaxPool2d",
    "FractionalMaxPool3d",
]


class MaxPool1d(Module):
    """Max over windows of (N, C, L) -> (N, C, Lo); stride defaults to kernel_size."""

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
        return P.max_pool1d(
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


class AvgPool1d(Module):
    """Mean over windows of (N, C, L) -> (N, C, Lo); stride defaults to kernel_size."""

    def __init__(
        self,
        kernel_size: IntOr,
        stride: IntOr | None = None,
        padding: IntOr = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__()
        # NOTE: PyTorch stores these three as 1-tuples, and shows them so
        self.kernel_size = P.tuple_of("AvgPool1d", "kernel_size", kernel_size, 1, 1)
        self.stride = (
            self.kernel_size if stride is None else P.tuple_of("AvgPool1d", "stride", stride, 1, 1)
        )
        self.padding = P.tuple_of("AvgPool1d", "padding", padding, 1, 0)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, x: Tensor) -> Tensor:
        return P.avg_pool1d(
            x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _Adaptive(Module):
    def __init__(self, output_size: int | None | Sequence[int | None]) -> None:
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_Adaptive):
    """(N, C, L) -> (N, C, output_size): means over PyTorch's adaptive bins."""

    def forward(self, x: Tensor) -> Tensor:
        return AM.adaptive_avg_pool1d(x, self.output_size)  # type: ignore[arg-type]


class AdaptiveMaxPool1d(_Adaptive):
    """(N, C, L) -> (N, C, output_size): maxima over adaptive bins (positions if asked)."""

    def __init__(self, output_size: int | Sequence[int], return_indices: bool = False) -> None:
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        return AM.adaptive_max_pool1d(x, self.output_size, self.return_indices)  # type: ignore[arg-type]


class AdaptiveMaxPool2d(_Adaptive):
    """(N, C, H, W) -> (N, C, oh, ow): maxima over adaptive bins (positions if asked)."""

    def __init__(
        self, output_size: int | None | Sequence[int | None], return_indices: bool = False
    ) -> None:
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        return AM.adaptive_max_pool2d(x, self.output_size, self.return_indices)


class LPPool1d(Module):
    """(sum over each window of x ** p) ** (1 / p) over (N, C, L)."""

    def __init__(
        self,
        norm_type: float,
        kernel_size: int,
        stride: int | None = None,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def forward(self, x: Tensor) -> Tensor:
        return P.lp_pool1d(x, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self) -> str:
        return (
            f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, ceil_mode={self.ceil_mode}"
        )


class LPPool2d(LPPool1d):
    """(sum over each kh x kw window of x ** p) ** (1 / p) over (N, C, H, W)."""

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
        return P.lp_pool2d(x, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)


class FractionalMaxPool2d(Module):
    """Max pooling over pseudo-random overlapping windows to output_size (or input size times
    output_ratio); one random draw per (sample, channel) and call, unless _random_samples."""

    dims = 2

    def __init__(
        self,
        kernel_size: IntOr,
        output_size: IntOr | None = None,
        output_ratio: float | Sequence[float] | None = None,
        return_indices: bool = False,
        _random_samples: Tensor | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if (output_size is None) == (output_ratio is None):
            raise ValueError(f"{name}: give exactly one of output_size and output_ratio")
        if output_ratio is not None:
            ratios = (
                [output_ratio] * self.dims
                if isinstance(output_ratio, float | int)
                else list(output_ratio)
            )
            if not all(0.0 < float(r) < 1.0 for r in ratios):
                raise ValueError(f"{name}: output_ratio must be in (0, 1), got {output_ratio}")
        self.kernel_size = kernel_size
        self.output_size = output_size
        self.output_ratio = output_ratio
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        pool = FP.fractional_max_pool2d if self.dims == 2 else FP.fractional_max_pool3d
        return pool(
            x,
            self.kernel_size,
            self.output_size,
            self.output_ratio,
            self.return_indices,
            _random_samples=self._random_samples,
        )


class FractionalMaxPool3d(FractionalMaxPool2d):
    """Fractional max pooling of (N, C, T, H, W)."""

    dims = 3
