"""Normalization: layer_norm, rms_norm and batch_norm, with PyTorch's signatures.

layer_norm and rms_norm are core ops (`tinygpt.ops.normalization`), re-exported here.

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> y = F.layer_norm(tg.tensor([[1.0, 3.0]]), (2,))
>>> [round(v, 3) for v in y[0].tolist()]
[-1.0, 1.0]
"""

from __future__ import annotations

import tinygpt as tg
from tinygpt import ShapeError, Tensor, layer_norm, rms_norm

__all__ = ["layer_norm", "rms_norm", "batch_norm"]


def batch_norm(
    x: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize each channel (dim 1) over the batch and any spatial dims.

    x (N, C) or (N, C, L) or (N, C, H, W); running stats, weight, bias (C,).
    In training the batch's statistics are used and the running ones (if given) move toward
    them by `momentum`, in place; in eval the running statistics are used.
    """
    if x.ndim < 2:
        raise ShapeError(f"batch_norm: expected (N, C, ...), got {x.shape}")
    channels = x.shape[1]
    dims = (0, *range(2, x.ndim))  # every dim but the channel dim
    view = (1, channels) + (1,) * (x.ndim - 2)  # (1, C, 1, ...) broadcasts over x
    if training:
        count = x.numel() // channels
        if count <= 1:
            raise ShapeError(
                f"batch_norm: training needs more than 1 value per channel, got input {x.shape}"
            )
        mean = x.mean(dims, keepdim=True)
        centered = x - mean
        var = (centered * centered).mean(dims, keepdim=True)  # biased: used to normalize
        if running_mean is not None and running_var is not None:
            with tg.no_grad():
                # NOTE: the running variance is the unbiased one, as in PyTorch
                unbiased = var.reshape(channels) * (count / (count - 1))
                running_mean.mul_(1.0 - momentum).add_(mean.reshape(channels), alpha=momentum)
                running_var.mul_(1.0 - momentum).add_(unbiased, alpha=momentum)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: evaluation (training=False) needs the running stats")
        mean = running_mean.reshape(*view)
        var = running_var.reshape(*view)
        centered = x - mean
    y = centered * (var + eps).rsqrt()
    if weight is not None:
        y = y * weight.reshape(*view)
    if bias is not None:
        y = y + bias.reshape(*view)
    return y
