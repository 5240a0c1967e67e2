"""GroupNorm: normalize each sample's channels in groups (Wu & He, 2018), PyTorch's names.

Channels split into `num_groups` groups; each (sample, group) is normalized over its channels
and spatial positions together. Unlike BatchNorm it does not depend on the batch, so it works
the same with batch size 1, in training and in eval. The work is `F.group_norm`.

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> nn.GroupNorm(2, 4)(tg.randn(3, 4, 5, 5)).shape
(3, 4, 5, 5)
"""

from __future__ import annotations

from typing import Any

import tinygpt as tg
from tinygpt import ShapeError, Tensor

from .. import init
from ..functional.group_norm import group_norm
from ..module import Module
from ..parameter import Parameter

__all__ = ["GroupNorm"]


class GroupNorm(Module):
    """(N, C, *) -> (N, C, *); weight (C,) ones and bias (C,) zeros when `affine`."""

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if num_groups < 1 or num_channels % num_groups:
            raise ValueError(
                f"GroupNorm: num_channels={num_channels} must be divisible by "
                f"num_groups={num_groups}"
            )
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        if affine:
            self.weight = Parameter(tg.empty(num_channels, device=device, dtype=dtype))
            self.bias = Parameter(tg.empty(num_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ShapeError(
                f"GroupNorm({self.extra_repr()}): expected input (N, {self.num_channels}, *), "
                f"got {x.shape}"
            )
        return group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
