"""group_norm: PyTorch's `F.group_norm`, as layer norm applied per group of channels.

The input is viewed as (N, G, C/G * spatial), core's `layer_norm` normalizes the last dim (one
fused kernel where the backend has one), and the per-channel affine follows.

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> y = F.group_norm(tg.tensor([[1.0, 3.0, 5.0, 9.0]]), 2)  # groups (1, 3) and (5, 9)
>>> [round(v, 3) for v in y[0].tolist()]
[-1.0, 1.0, -1.0, 1.0]
"""

from __future__ import annotations

from tinygpt import ShapeError, Tensor, layer_norm

__all__ = ["group_norm"]


def group_norm(
    input: Tensor,  # noqa: A002 - the PyTorch name
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """(N, C, *) -> (N, C, *): each of the `num_groups` channel groups of each sample
    normalized to mean 0 and variance 1 (biased), then scaled by weight (C,), shifted by bias."""
    if input.ndim < 2 or input.shape[1] % num_groups:
        raise ShapeError(
            f"group_norm: expected input (N, C, *) with C divisible by num_groups={num_groups}, "
            f"got {input.shape}"
        )
    batch, channels = input.shape[0], input.shape[1]
    grouped = input.reshape(batch, num_groups, -1)  # (N, G, C/G * spatial)
    count = grouped.shape[-1]
    y = layer_norm(grouped, (count,), None, None, eps).reshape(*input.shape)
    per_channel = (1, channels) + (1,) * (input.ndim - 2)  # (1, C, 1, ...) broadcasts over y
    if weight is not None:
        y = y * weight.reshape(*per_channel)
    if bias is not None:
        y = y + bias.reshape(*per_channel)
    return y
