"""MaxPool2d and AvgPool2d: the Module forms of `F.max_pool2d` / `F.avg_pool2d` (no parameters).

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> nn.MaxPool2d(2)(tg.randn(1, 3, 8, 8)).shape
(1, 3, 4, 4)
"""

from __future__ import annotations

from collections.abc import Sequence

from tinygpt import Tensor

from ..functional import avg_pool2d, max_pool2d
from ..module import Module

IntPair = int | Sequence[int]

__all__ = ["MaxPool2d", "AvgPool2d"]


class MaxPool2d(Module):
    """Max over kh x kw windows: (N, C, H, W) -> (N, C, Ho, Wo); stride defaults to kernel."""

    def __init__(
        self, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def forward(self, x: Tensor) -> Tensor:
        return max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """Mean over kh x kw windows: (N, C, H, W) -> (N, C, Ho, Wo); stride defaults to kernel."""

    def __init__(
        self,
        kernel_size: IntPair,
        stride: IntPair | None = None,
        padding: IntPair = 0,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.count_include_pad = count_include_pad

    def forward(self, x: Tensor) -> Tensor:
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
