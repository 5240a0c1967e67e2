"""MaxPool2d and AvgPool2d: the Module forms of `F.max_pool2d` / `F.avg_pool2d` (no parameters).

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> nn.MaxPool2d(2)(tg.randn(1, 3, 8, 8)).shape
(1, 3, 4, 4)
"""

from __future__ import annotations

from collections.abc import Sequence

from tinygpt import Tensor

from ..functional.pooling_more import avg_pool2d, max_pool2d
from ..module import Module

IntPair = int | Sequence[int]

__all__ = ["MaxPool2d", "AvgPool2d"]


class MaxPool2d(Module):
    """Max over kh x kw windows: (N, C, H, W) -> (N, C, Ho, Wo); stride defaults to kernel.

    return_indices=True also returns each maximum's flat position h * W + w (int64).
    """

    def __init__(
        self,
        kernel_size: IntPair,
        stride: IntPair | None = None,
        padding: IntPair = 0,
        dilation: IntPair = 1,
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
        return max_pool2d(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            self.return_indices,
        )

    def extra_repr(self) -> str:
        text = f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
        # NOTE: the defaults are left out (PyTorch prints them), the short form is older
        if self.dilation not in (1, (1, 1)):
            text += f", dilation={self.dilation}"
        if self.ceil_mode:
            text += ", ceil_mode=True"
        return text


class AvgPool2d(Module):
    """Mean over kh x kw windows: (N, C, H, W) -> (N, C, Ho, Wo); stride defaults to kernel."""

    def __init__(
        self,
        kernel_size: IntPair,
        stride: IntPair | None = None,
        padding: IntPair = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(ceil_mode, bool):
            raise TypeError(
                "AvgPool2d: ceil_mode must be a bool; note PyTorch's order is (kernel_size, "
                "stride, padding, ceil_mode, count_include_pad, divisor_override)"
            )
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, x: Tensor) -> Tensor:
        return avg_pool2d(
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
