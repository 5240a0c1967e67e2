"""bilinear, instance_norm, local_response_norm, pairwise_distance and pdist, as in
`torch.nn.functional`, composed from differentiable core ops.

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> F.pairwise_distance(tg.tensor([[0.0, 0.0]]), tg.tensor([[3.0, 4.0]]), eps=0.0).tolist()
[5.0]
>>> F.pdist(tg.tensor([[0.0], [1.0], [3.0]])).tolist()
[1.0, 3.0, 2.0]
"""

from __future__ import annotations

import tinygpt as tg
from tinygpt import ShapeError, Tensor

from .padding import pad

__all__ = ["bilinear", "instance_norm", "local_response_norm", "pairwise_distance", "pdist"]


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y[..., k] = input1 @ weight[k] @ input2 + bias[k].

    input1 (..., in1), input2 (..., in2), weight (out, in1, in2), bias (out,) -> (..., out).
    """
    if (
        weight.ndim != 3
        or input1.shape[-1] != weight.shape[1]
        or input2.shape[-1] != weight.shape[2]
    ):
        raise ShapeError(
            f"bilinear: expected input1 (..., in1), input2 (..., in2) and weight (out, in1, "
            f"in2); got {input1.shape}, {input2.shape} and {weight.shape}"
        )
    out, in1, in2 = weight.shape
    # (..., in1) @ (in1, out * in2) -> (..., out, in2), then contract in2 with input2
    flat = weight.permute(1, 0, 2).reshape(in1, out * in2)
    left = (input1 @ flat).reshape(*input1.shape[:-1], out, in2)
    y = (left * input2.unsqueeze(-2)).sum(-1)  # (..., out)
    return y if bias is None else y + bias


def instance_norm(
    input: Tensor,  # noqa: A002 - PyTorch's name
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each (sample, channel) over its spatial dims: (N, C, *spatial) -> same.

    With running buffers and use_input_stats, they are updated in place with the batch
    average of the per-instance statistics (unbiased variance), as PyTorch does.
    """
    if input.ndim < 3:
        raise ShapeError(f"instance_norm: expected input (N, C, *spatial), got {input.shape}")
    spatial = tuple(range(2, input.ndim))
    view = (1, input.shape[1]) + (1,) * (input.ndim - 2)
    if use_input_stats:
        mean = input.mean(spatial, keepdim=True)  # (N, C, 1, ...)
        var = input.var(spatial, keepdim=True, correction=0)
        if running_mean is not None and running_var is not None:
            _update_running(input, mean, var, running_mean, running_var, momentum)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("instance_norm: use_input_stats=False needs running_mean and _var")
        mean = running_mean.reshape(*view)
        var = running_var.reshape(*view)
    y = (input - mean) * (var + eps).rsqrt()
    if weight is not None:
        y = y * weight.reshape(*view)
    if bias is not None:
        y = y + bias.reshape(*view)
    return y


def _update_running(
    x: Tensor, mean: Tensor, var: Tensor, running_mean: Tensor, running_var: Tensor, m: float
) -> None:
    count = x.numel() // (x.shape[0] * x.shape[1])
    unbiased = var * (count / max(count - 1, 1))
    with tg.no_grad():
        batch_mean = mean.detach().reshape(x.shape[0], x.shape[1]).mean(0)
        batch_var = unbiased.detach().reshape(x.shape[0], x.shape[1]).mean(0)
        running_mean.copy_(running_mean * (1.0 - m) + batch_mean * m)
        running_var.copy_(running_var * (1.0 - m) + batch_var * m)


def local_response_norm(
    input: Tensor,  # noqa: A002
    size: int,
    alpha: float = 1e-4,
    beta: float = 0.75,
    k: float = 1.0,
) -> Tensor:
    """x / (k + alpha * mean of x**2 over `size` neighbouring channels) ** beta (AlexNet).

    (N, C, *) -> same; the window is zero-padded by size // 2 before and (size - 1) // 2
    after, and the mean divides by `size` (PyTorch's convention).
    """
    if input.ndim < 3:
        raise ShapeError(
            f"local_response_norm: expected input (N, C, *) with 3 or more dims, got {input.shape}"
        )
    if size < 1:
        raise ValueError(f"local_response_norm: size must be >= 1, got {size}")
    channels = input.shape[1]
    squares = (input * input).transpose(1, -1)  # channels last, so pad can reach them
    padded = pad(squares, (size // 2, (size - 1) // 2)).transpose(1, -1)
    total = padded.narrow(1, 0, channels)
    for offset in range(1, size):
        total = total + padded.narrow(1, offset, channels)
    div = (total * (alpha / size) + k).pow(beta)
    return input / div


def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """||x1 - x2 + eps||_p over the last dim: (..., D), (..., D) -> (...)."""
    diff = x1 - x2 + eps
    return _p_norm(diff, p, keepdim)


def _p_norm(diff: Tensor, p: float, keepdim: bool) -> Tensor:
    if p == float("inf"):
        return diff.abs().amax(-1, keepdim=keepdim)
    if p == 0:
        return (diff != 0).to(diff.dtype).sum(-1, keepdim=keepdim)
    if p == 2:
        return (diff * diff).sum(-1, keepdim=keepdim).sqrt()
    if p == 1:
        return diff.abs().sum(-1, keepdim=keepdim)
    return diff.abs().pow(p).sum(-1, keepdim=keepdim).pow(1.0 / p)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:  # noqa: A002
    """The p-norm distances between all row pairs i < j of (N, M): (N * (N - 1) / 2,)."""
    if input.ndim != 2:
        raise ShapeError(f"pdist: expected a 2-D input (N, M), got {input.shape}")
    if p < 0:
        raise ValueError(f"pdist: p must be >= 0, got {p}")
    n = input.shape[0]
    first = [i for i in range(n) for _ in range(i + 1, n)]
    second = [j for i in range(n) for j in range(i + 1, n)]
    rows_i = tg.index_select(input, 0, tg.tensor(first, dtype=tg.int64, device=input.device))
    rows_j = tg.index_select(input, 0, tg.tensor(second, dtype=tg.int64, device=input.device))
    return _p_norm(rows_i - rows_j, p, False)
