"""adaptive_avg_pool2d: average-pool to a fixed output size, PyTorch's `F.adaptive_avg_pool2d`.

Output cell i of a dimension of size n pooled to m averages input rows floor(i * n / m) up to
ceil((i + 1) * n / m) (PyTorch's bins: they overlap when m does not divide n). Averaging over
a rectangle is averaging rows, then columns, so the pooling is two small matrix products:
`P_h @ x @ P_w.T`, with P (m, n) holding 1 / (bin size) inside each bin. Any sizes, and
backward comes from matmul's.

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> F.adaptive_avg_pool2d(tg.arange(6.0).reshape(1, 2, 3), (1, 2)).tolist()
[[[2.0, 3.0]]]
"""

from __future__ import annotations

from collections.abc import Sequence

import tinygpt as tg
from tinygpt import ShapeError, Tensor

OutputSize = int | None | Sequence[int | None]

__all__ = ["adaptive_avg_pool2d", "OutputSize"]


def adaptive_avg_pool2d(input: Tensor, output_size: OutputSize) -> Tensor:  # noqa: A002
    """(N, C, H, W) -> (N, C, oh, ow), or (C, H, W) -> (C, oh, ow); None keeps that size."""
    if input.ndim not in (3, 4):
        raise ShapeError(
            f"adaptive_avg_pool2d: expected input (N, C, H, W) or (C, H, W), got {input.shape}"
        )
    height, width = input.shape[-2], input.shape[-1]
    out_h, out_w = _output_size(output_size, height, width)
    if height == 0 or width == 0:
        raise ShapeError(
            f"adaptive_avg_pool2d: input {input.shape} has an empty spatial dim; nothing to pool"
        )
    rows = _bins(out_h, height, input)  # (oh, H)
    cols = _bins(out_w, width, input)  # (ow, W)
    return rows @ input @ cols.mT  # (oh, H) @ (..., H, W) @ (W, ow) -> (..., oh, ow)


def _output_size(output_size: OutputSize, height: int, width: int) -> tuple[int, int]:
    pair = (
        (output_size, output_size)
        if output_size is None or isinstance(output_size, int)
        else tuple(output_size)
    )
    if len(pair) != 2:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be an int or a pair, got {pair}")
    out_h = height if pair[0] is None else pair[0]
    out_w = width if pair[1] is None else pair[1]
    if not (isinstance(out_h, int) and isinstance(out_w, int)) or out_h < 1 or out_w < 1:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be ints >= 1, got {output_size}")
    return out_h, out_w


def _bins(out: int, size: int, like: Tensor) -> Tensor:
    """(out, size): row i averages input positions floor(i*size/out) .. ceil((i+1)*size/out)."""
    matrix = []
    for i in range(out):
        start = (i * size) // out
        end = -(-((i + 1) * size) // out)  # ceil
        weight = 1.0 / (end - start)
        matrix.append([weight if start <= j < end else 0.0 for j in range(size)])
    return tg.tensor(matrix, dtype=like.dtype, device=like.device)
