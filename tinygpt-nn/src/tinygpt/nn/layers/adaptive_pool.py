"""AdaptiveAvgPool2d: average-pool to a fixed output size, whatever the input size; the
Module form of `F.adaptive_avg_pool2d` (no parameters).

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> nn.AdaptiveAvgPool2d((1, 1))(tg.randn(2, 8, 7, 5)).shape  # global average pooling
(2, 8, 1, 1)
"""

from __future__ import annotations

from tinygpt import Tensor

from ..functional.adaptive_pool import OutputSize, adaptive_avg_pool2d
from ..module import Module

__all__ = ["AdaptiveAvgPool2d"]


class AdaptiveAvgPool2d(Module):
    """(N, C, H, W) -> (N, C, *output_size); an int means a square output, None keeps a dim."""

    def __init__(self, output_size: OutputSize) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
