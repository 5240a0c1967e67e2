"""LinearCrossEntropyLoss: a Linear classifier head and its cross-entropy in one module, as
PyTorch's (parameters `linear.weight`, `linear.bias`).

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> head = nn.LinearCrossEntropyLoss(8, 5)
>>> head(tg.randn(4, 8), tg.tensor([0, 1, 2, 3])).shape
()
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from tinygpt import Tensor

from ..functional.linear_ce import linear_cross_entropy
from ..module import Module
from .linear import Linear

__all__ = ["LinearCrossEntropyLoss"]


class LinearCrossEntropyLoss(Module):
    """cross_entropy(linear(input), target) with a learned (C * prod(out_features), in) weight."""

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        *,
        out_features: Sequence[int] = (),
        bias: bool = False,
        device: Any = None,
        dtype: Any = None,
        reduction: str = "mean",
        weight: Tensor | None = None,
        ignore_index: int | None = None,
        label_smoothing: float = 0.0,
        options: Any = None,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.out_features = tuple(out_features)
        width = num_classes * math.prod(self.out_features)
        self.linear = Linear(in_features, width, bias, device, dtype)
        self.register_buffer("weight", weight)
        self.reduction = reduction
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing
        self.options = options

    def forward(self, input: Tensor, target: Tensor) -> Tensor:  # noqa: A002
        shape = (self.num_classes, *self.out_features)
        linear_weight = self.linear.weight.reshape(*shape, self.linear.in_features)
        bias = self.linear.bias
        return linear_cross_entropy(
            input,
            linear_weight,
            target,
            linear_bias=None if bias is None else bias.reshape(*shape),
            weight=self.weight,
            reduction=self.reduction,
            ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing,
            options=self.options,
        )

    def extra_repr(self) -> str:
        return (
            f"in_features={self.linear.in_features}, num_classes={self.num_classes}, "
            f"out_features={self.out_features}, bias={self.linear.bias is not None}, "
            f"reduction={self.reduction}, ignore_index={self.ignore_index}, "
            f"label_smoothing={self.label_smoothing}, options={self.options}"
        )
