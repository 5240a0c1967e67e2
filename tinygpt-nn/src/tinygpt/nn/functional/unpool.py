"""max_unpool1d, max_unpool2d, max_unpool3d: the partial inverse of max pooling with indices.

Each pooled value goes back to the flat position its index names in an output plane of
zeros (everything that was not a maximum stays 0). One `scatter_add` over the flattened
spatial dims does it, and its backward gathers the gradient back.

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> v, i = F.max_pool1d(tg.tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2, return_indices=True)
>>> F.max_unpool1d(v, i, 2).tolist()
[[[0.0, 3.0, 2.0, 0.0]]]
"""

from __future__ import annotations

from collections.abc import Sequence

import tinygpt as tg
from tinygpt import ShapeError, Tensor

from .pooling_more import tuple_of

IntOr = int | Sequence[int]

__all__ = ["max_unpool1d", "max_unpool2d", "max_unpool3d"]


def _default_size(
    op: str,
    x: Tensor,
    dims: int,
    kernel: IntOr,
    stride: IntOr | None,
    padding: IntOr,
    output_size: Sequence[int] | None,
) -> tuple[int, ...]:
    k = tuple_of(op, "kernel_size", kernel, dims, 1)
    s = k if stride is None else tuple_of(op, "stride", stride, dims, 1)
    p = tuple_of(op, "padding", padding, dims, 0)
    spatial = tuple(x.shape[-dims:])
    default = tuple((spatial[a] - 1) * s[a] - 2 * p[a] + k[a] for a in range(dims))
    if output_size is None:
        return default
    wanted = tuple(int(v) for v in list(output_size)[-dims:])
    for a in range(dims):
        if not default[a] - s[a] < wanted[a] < default[a] + s[a]:
            raise ValueError(
                f"{op}: output_size {tuple(output_size)} must be within a stride of the "
                f"default size {default}"
            )
    return wanted


def _unpool(op: str, x: Tensor, indices: Tensor, dims: int, size: tuple[int, ...]) -> Tensor:
    if indices.shape != x.shape:
        raise ShapeError(f"{op}: indices {indices.shape} must have the shape of input {x.shape}")
    if x.ndim not in (dims + 1, dims + 2):
        raise ShapeError(f"{op}: expected a {dims + 1}-D or {dims + 2}-D input, got {x.shape}")
    lead = tuple(x.shape[:-dims])
    plane = 1
    for n in size:
        plane *= n
    flat = x.reshape(*lead, -1)
    zeros = tg.zeros(*lead, plane, dtype=x.dtype, device=x.device)
    out = zeros.scatter_add(len(lead), indices.reshape(*lead, -1).to(tg.int64), flat)
    return out.reshape(*lead, *size)


def max_unpool1d(
    input: Tensor,  # noqa: A002 - PyTorch's name
    indices: Tensor,
    kernel_size: IntOr,
    stride: IntOr | None = None,
    padding: IntOr = 0,
    output_size: Sequence[int] | None = None,
) -> Tensor:
    """(N, C, Lo) pooled values and their indices -> (N, C, L) with zeros elsewhere."""
    op = "max_unpool1d"
    size = _default_size(op, input, 1, kernel_size, stride, padding, output_size)
    return _unpool(op, input, indices, 1, size)


def max_unpool2d(
    input: Tensor,  # noqa: A002
    indices: Tensor,
    kernel_size: IntOr,
    stride: IntOr | None = None,
    padding: IntOr = 0,
    output_size: Sequence[int] | None = None,
) -> Tensor:
    """(N, C, Ho, Wo) pooled values and flat indices -> (N, C, H, W) with zeros elsewhere."""
    op = "max_unpool2d"
    size = _default_size(op, input, 2, kernel_size, stride, padding, output_size)
    return _unpool(op, input, indices, 2, size)


def max_unpool3d(
    input: Tensor,  # noqa: A002
    indices: Tensor,
    kernel_size: IntOr,
    stride: IntOr | None = None,
    padding: IntOr = 0,
    output_size: Sequence[int] | None = None,
) -> Tensor:
    """(N, C, Do, Ho, Wo) pooled values and flat indices -> (N, C, D, H, W)."""
    op = "max_unpool3d"
    size = _default_size(op, input, 3, kernel_size, stride, padding, output_size)
    return _unpool(op, input, indices, 3, size)
