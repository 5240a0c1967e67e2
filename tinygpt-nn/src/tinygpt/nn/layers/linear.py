"""Linear, Identity and Flatten.

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> layer = nn.Linear(3, 4)
>>> layer(tg.randn(2, 5, 3)).shape
(2, 5, 4)
"""

from __future__ import annotations

import math
from typing import Any

import tinygpt as tg
from tinygpt import Tensor

from .. import functional as F
from .. import init
from ..module import Module
from ..parameter import Parameter

__all__ = ["Linear", "Identity", "Flatten"]


class Linear(Module):
    """y = x @ weight.T + bias.  (..., in_features) -> (..., out_features).

    weight (out_features, in_features) and bias (out_features,) start as
    U(-1/sqrt(in_features), 1/sqrt(in_features)), PyTorch's default.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(tg.empty(out_features, in_features, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(tg.empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # NOTE: kaiming_uniform_ with a=sqrt(5) gives a bound of exactly 1/sqrt(fan_in);
        # that is how PyTorch writes its default, kept so the numbers match it
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_features
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias, op="Linear")

    def extra_repr(self) -> str:
        has_bias = self.bias is not None
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={has_bias}"


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. for a removed layer)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x


class Flatten(Module):
    """Merge dims start_dim..end_dim into one.  (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
