"""MaxUnpool1d, MaxUnpool2d, MaxUnpool3d: the partial inverse of max pooling with indices.

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> values, index = nn.MaxPool2d(2, return_indices=True)(tg.randn(1, 1, 4, 4))
>>> nn.MaxUnpool2d(2)(values, index).shape
(1, 1, 4, 4)
"""

from __future__ import annotations

from collections.abc import Sequence

from tinygpt import Tensor

from ..functional.pooling_more import tuple_of
from ..functional.unpool import max_unpool1d, max_unpool2d, max_unpool3d
from ..module import Module

IntOr = int | Sequence[int]

__all__ = ["MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d"]


class _MaxUnpool(Module):
    dims = 2

    def __init__(self, kernel_size: IntOr, stride: IntOr | None = None, padding: IntOr = 0):
        super().__init__()
        name, n = type(self).__name__, self.dims
        self.kernel_size = tuple_of(name, "kernel_size", kernel_size, n, 1)
        self.stride = self.kernel_size if stride is None else tuple_of(name, "stride", stride, n, 1)
        self.padding = tuple_of(name, "padding", padding, n, 0)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpool):
    """forward(values, indices, output_size=None): (N, C, Lo) -> (N, C, L)."""

    dims = 1

    def forward(
        self,
        x: Tensor,
        indices: Tensor,
        output_size: Sequence[int] | None = None,
    ) -> Tensor:
        return max_unpool1d(x, indices, self.kernel_size, self.stride, self.padding, output_size)


class MaxUnpool2d(_MaxUnpool):
    """forward(values, indices, output_size=None): (N, C, Ho, Wo) -> (N, C, H, W)."""

    def forward(
        self,
        x: Tensor,
        indices: Tensor,
        output_size: Sequence[int] | None = None,
    ) -> Tensor:
        return max_unpool2d(x, indices, self.kernel_size, self.stride, self.padding, output_size)


class MaxUnpool3d(_MaxUnpool):
    """forward(values, indices, output_size=None): (N, C, Do, Ho, Wo) -> (N, C, D, H, W)."""

    dims = 3

    def forward(
        self,
        x: Tensor,
        indices: Tensor,
        output_size: Sequence[int] | None = None,
    ) -> Tensor:
        return max_unpool3d(x, indices, self.kernel_size, self.stride, self.padding, output_size)
