"""Adaptive pooling in 1-D and adaptive max pooling in 2-D, PyTorch's bins and indices.

Output cell i of a dim of size n pooled to m covers input positions floor(i * n / m) up to
ceil((i + 1) * n / m). The bins differ in length, so each is listed as a row of a (m, K)
index table (K = the longest bin), short rows repeating their last position: repeats change
neither a max nor its first argmax. `index_select` reads the table and a max over K pools.
Max is separable, so 2-D pooling is width first, then height.

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> F.adaptive_max_pool1d(tg.tensor([[[1.0, 5.0, 2.0, 0.0, 3.0]]]), 2).tolist()
[[[5.0, 3.0]]]
"""

from __future__ import annotations

from collections.abc import Sequence

import tinygpt as tg
from tinygpt import ShapeError, Tensor

from .adaptive_pool import adaptive_avg_pool2d

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool1d_with_indices",
    "adaptive_max_pool2d_with_indices",
]


def _one(op: str, output_size: int | Sequence[int]) -> int:
    size = output_size if isinstance(output_size, int) else tuple(output_size)
    if isinstance(size, tuple):
        if len(size) != 1:
            raise ValueError(f"{op}: output_size must be an int or a 1-tuple, got {output_size}")
        size = size[0]
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"{op}: output_size must be an int >= 1, got {output_size}")
    return size


def _check(op: str, x: Tensor, dims: int) -> None:
    spatial = "L" if dims == 1 else "H, W"
    if x.ndim not in (dims + 1, dims + 2):
        raise ShapeError(f"{op}: expected input (N, C, {spatial}) or (C, {spatial}), got {x.shape}")
    if min(x.shape[-dims:]) == 0:
        raise ShapeError(f"{op}: input {x.shape} has an empty spatial dim; nothing to pool")


def adaptive_avg_pool1d(input: Tensor, output_size: int | Sequence[int]) -> Tensor:  # noqa: A002
    """(N, C, L) -> (N, C, out), or (C, L) -> (C, out): means over PyTorch's bins."""
    _check("adaptive_avg_pool1d", input, 1)
    out = _one("adaptive_avg_pool1d", output_size)
    # a 1-D sequence is an image of height 1
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, out)).squeeze(-2)


def _bin_table(out: int, size: int, device: object) -> tuple[Tensor, int]:
    """(out * K,) int64 positions, row i listing bin i (padded by repeats), and K."""
    rows = []
    for i in range(out):
        start = (i * size) // out
        end = -(-((i + 1) * size) // out)  # ceil
        rows.append(list(range(start, end)))
    width = max(len(r) for r in rows)
    flat = [r[min(j, len(r) - 1)] for r in rows for j in range(width)]
    return tg.tensor(flat, dtype=tg.int64, device=device), width


def _max_along(x: Tensor, dim: int, out: int) -> tuple[Tensor, Tensor]:
    """Adaptive max of x along `dim` (negative) to `out` cells: (values, input positions)."""
    size = x.shape[dim]
    table, width = _bin_table(out, size, x.device)
    picked = tg.index_select(x, dim, table)  # (..., out * K, ...)
    shape = list(x.shape)
    axis = dim % x.ndim
    shape[axis : axis + 1] = [out, width]
    grouped = picked.reshape(*shape)  # (..., out, K, ...)
    local = grouped.argmax(axis + 1, keepdim=True)  # NOTE: first maximum, as PyTorch
    values = grouped.gather(axis + 1, local).squeeze(axis + 1)
    # position in the input: table[cell * K + local]
    cell_shape = [1] * grouped.ndim
    cell_shape[axis] = out
    base = tg.arange(out, device=x.device).reshape(*cell_shape) * width
    positions = tg.index_select(table, 0, (base + local).reshape(-1))
    return values, positions.reshape(*local.shape).squeeze(axis + 1)


def adaptive_max_pool1d_with_indices(
    input: Tensor,  # noqa: A002
    output_size: int | Sequence[int],
    return_indices: bool = False,
) -> tuple[Tensor, Tensor]:
    """(max values, int64 positions along L) over PyTorch's adaptive bins."""
    _check("adaptive_max_pool1d", input, 1)
    return _max_along(input, -1, _one("adaptive_max_pool1d", output_size))


def adaptive_max_pool1d(
    input: Tensor,  # noqa: A002
    output_size: int | Sequence[int],
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """(N, C, L) -> (N, C, out): maxima over PyTorch's bins (and positions if asked)."""
    values, index = adaptive_max_pool1d_with_indices(input, output_size)
    return (values, index) if return_indices else values


def _pair(output_size: int | None | Sequence[int | None], h: int, w: int) -> tuple[int, int]:
    if output_size is None or isinstance(output_size, int):
        pair: tuple[int | None, ...] = (output_size, output_size)
    else:
        pair = tuple(output_size)
    if len(pair) != 2:
        raise ValueError(f"adaptive_max_pool2d: output_size must be an int or a pair, got {pair}")
    out_h = h if pair[0] is None else pair[0]
    out_w = w if pair[1] is None else pair[1]
    if min(out_h, out_w) < 1:
        raise ValueError(f"adaptive_max_pool2d: output_size must be >= 1, got {output_size}")
    return out_h, out_w


def adaptive_max_pool2d_with_indices(
    input: Tensor,  # noqa: A002
    output_size: int | None | Sequence[int | None],
    return_indices: bool = False,
) -> tuple[Tensor, Tensor]:
    """(max values, int64 flat positions h * W + w) over PyTorch's adaptive 2-D bins."""
    _check("adaptive_max_pool2d", input, 2)
    height, width = input.shape[-2], input.shape[-1]
    out_h, out_w = _pair(output_size, height, width)
    across, cols = _max_along(input, -1, out_w)  # (..., H, ow), the winning column per row
    values, rows = _max_along(across, -2, out_h)  # (..., oh, ow), the winning row
    # the column that won in the winning row
    col = cols.gather(cols.ndim - 2, rows)
    return values, rows * width + col


def adaptive_max_pool2d(
    input: Tensor,  # noqa: A002
    output_size: int | None | Sequence[int | None],
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """(N, C, H, W) -> (N, C, oh, ow): maxima over adaptive bins (and positions if asked)."""
    values, index = adaptive_max_pool2d_with_indices(input, output_size)
    return (values, index) if return_indices else values
