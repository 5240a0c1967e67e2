"""linear_cross_entropy: cross_entropy(linear(input, weight, bias), target) in one call, as
PyTorch's F.linear_cross_entropy (its reference path; `options` is accepted and ignored).

linear_weight is (C, *out_features, in_features): with out_features the loss is
K-dimensional, the logits (N, C, *out_features).

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> x, w = tg.ones(2, 3), tg.zeros(4, 3)
>>> round(F.linear_cross_entropy(x, w, tg.tensor([0, 3])).item(), 4)  # log(4)
1.3863
"""

from __future__ import annotations

import math
from typing import Any

from tinygpt import ShapeError, Tensor

from .cross_entropy import cross_entropy

__all__ = ["linear_cross_entropy"]


def linear_cross_entropy(
    input: Tensor,  # noqa: A002 - PyTorch's name
    linear_weight: Tensor,
    target: Tensor,
    *,
    linear_bias: Tensor | None = None,
    weight: Tensor | None = None,
    reduction: str = "mean",
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    options: Any = None,
) -> Tensor:
    """input (N, in) or (in,), linear_weight (C, *out, in) -> the cross-entropy of the logits."""
    op = "linear_cross_entropy"
    if input.ndim not in (1, 2) or linear_weight.ndim < 2:
        raise ShapeError(
            f"{op}: expected input (N, in_features) or (in_features,) and linear_weight "
            f"(C, ..., in_features), got {input.shape} and {linear_weight.shape}"
        )
    if input.shape[-1] != linear_weight.shape[-1]:
        raise ShapeError(
            f"{op}: input {input.shape} and linear_weight {linear_weight.shape} disagree on "
            "in_features (their last dims)"
        )
    classes = linear_weight.shape[0]
    out_features = tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (classes, *out_features):
        raise ShapeError(
            f"{op}: linear_bias must be {(classes, *out_features)}, got {linear_bias.shape}"
        )
    if out_features and input.ndim == 1:
        raise ShapeError(f"{op}: a K-dimensional loss needs a batched input (N, in_features)")
    batch = tuple(input.shape[:-1])
    width = classes * math.prod(out_features)
    flat_weight = linear_weight.reshape(width, linear_weight.shape[-1])
    logits = (input @ flat_weight.mT).reshape(*batch, classes, *out_features)
    if linear_bias is not None:
        logits = logits + linear_bias
    probabilities = target.shape == logits.shape
    if probabilities and ignore_index is not None:
        raise ValueError(f"{op}: ignore_index cannot be given with probability targets")
    return cross_entropy(
        logits,
        target,
        weight,
        ignore_index=-100 if ignore_index is None else ignore_index,
        reduction=reduction,
        label_smoothing=label_smoothing,
    )
