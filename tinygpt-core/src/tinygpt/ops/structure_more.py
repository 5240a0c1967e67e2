"""Tensors with a structure built around their values: `diag_embed`, `diagflat`,
`block_diag`, `cartesian_prod`, `combinations`, index lists (`tril_indices`, `triu_indices`)
and `broadcast_shapes`.

The positions come from shapes alone (Python integers, no device read); the values are
placed by differentiable ops (`scatter`, `pad`, `cat`, indexing), so gradients flow back.

>>> import tinygpt as tg
>>> tg.diag_embed(tg.tensor([1, 2])).tolist()
[[1, 0], [0, 2]]
>>> tg.tril_indices(3, 3).tolist()
[[0, 1, 1, 2, 2, 2], [0, 0, 1, 0, 1, 2]]
"""

from __future__ import annotations

import itertools
from typing import Any

from ..creation import tensor, zeros
from ..dtypes import int64
from ..errors import ShapeError
from ..ndarray import normalize_axis
from ..tensor import Tensor
from .extras_linalg import meshgrid
from .movement import cat, pad, reshape, stack
from .movement_more import movedim, same_dtype
from .scatter import scatter

__all__ = [
    "block_diag",
    "broadcast_shapes",
    "cartesian_prod",
    "combinations",
    "diag_embed",
    "diagflat",
    "tril_indices",
    "triu_indices",
]


def broadcast_shapes(*shapes: Any) -> tuple[int, ...]:
    """The shape that tensors of `shapes` broadcast to (NumPy's rules), without tensors."""
    lists = [[s] if isinstance(s, int) else list(s) for s in shapes]
    rank = max((len(s) for s in lists), default=0)
    out = [1] * rank
    for s in lists:
        for i, size in enumerate(s, start=rank - len(s)):
            if size == out[i] or size == 1:
                continue
            if out[i] != 1:
                raise ShapeError(
                    f"broadcast_shapes: shapes {[tuple(x) for x in lists]} do not broadcast: "
                    f"sizes {out[i]} and {size} differ in dim {i} and neither is 1"
                )
            out[i] = size
    return tuple(out)


def diag_embed(x: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices with x's last dim on a diagonal: (..., m) -> (..., n, n), n = m + |offset|;
    the two new dims land at `dim1` and `dim2` of the result."""
    if x.ndim == 0:
        raise ShapeError("diag_embed: needs a tensor with >= 1 dim, got a 0-d tensor")
    m = x.shape[-1]
    n = m + abs(offset)
    row0, col0 = max(0, -offset), max(0, offset)
    # flat position of element k in an (n, n) matrix: (k + row0) * n + (k + col0)
    where = [(k + row0) * n + (k + col0) for k in range(m)]
    index = tensor(where, dtype=int64, device=x.device).expand(*x.shape)
    flat = zeros(*x.shape[:-1], n * n, dtype=x.dtype, device=x.device)
    out = reshape(scatter(flat, -1, index, x), *x.shape[:-1], n, n)  # (..., n, n)
    rank = out.ndim
    d1, d2 = normalize_axis("diag_embed", dim1, rank), normalize_axis("diag_embed", dim2, rank)
    if d1 == d2:
        raise ShapeError(f"diag_embed: dim1 and dim2 must differ, got {dim1} and {dim2}")
    return movedim(out, (rank - 2, rank - 1), (d1, d2))


def diagflat(x: Tensor, offset: int = 0) -> Tensor:
    """A 2-D matrix with flattened x on diagonal `offset`."""
    return diag_embed(reshape(x, -1), offset)


def block_diag(*tensors: Tensor) -> Tensor:
    """The tensors (0-, 1- or 2-D) as blocks on the diagonal of one matrix, zeros elsewhere."""
    if not tensors:
        raise ShapeError("block_diag: expected at least one tensor")
    blocks = []
    for t in same_dtype(tensors):
        if t.ndim > 2:
            raise ShapeError(f"block_diag: blocks must have <= 2 dims, got {tuple(t.shape)}")
        blocks.append(reshape(t, 1, t.numel()) if t.ndim < 2 else t)
    width = sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        right = width - left - b.shape[1]
        rows.append(pad(b, (left, right)))  # (rows_b, width)
        left += b.shape[1]
    return cat(rows, 0)


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """Every combination of one element from each 1-D tensor: (N1 * N2 * ..., k) rows."""
    for t in tensors:
        if t.ndim != 1:
            raise ShapeError(f"cartesian_prod: expects 1-D tensors, got shape {tuple(t.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*same_dtype(tensors), indexing="ij")
    return stack([reshape(g, -1) for g in grids], 1)


def combinations(x: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """Every r-combination of the elements of 1-D x, as rows (itertools' order)."""
    if x.ndim != 1:
        raise ShapeError(f"combinations: expects a 1-D tensor, got shape {tuple(x.shape)}")
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = list(pick(range(x.shape[0]), r))
    if not rows:
        return zeros(0, dtype=x.dtype, device=x.device) if r else x[:0]
    index = tensor(rows, dtype=int64, device=x.device)  # (count, r)
    return x[index]


def _triangle(op: str, row: int, col: int, offset: int, lower: bool) -> list[list[int]]:
    if row < 0 or col < 0:
        raise ValueError(f"{op}: row and col must be >= 0, got {row} and {col}")
    rows: list[int] = []
    cols: list[int] = []
    for i in range(row):
        for j in range(col):
            keep = j - i <= offset if lower else j - i >= offset
            if keep:
                rows.append(i)
                cols.append(j)
    return [rows, cols]


def tril_indices(
    row: int, col: int, offset: int = 0, *, dtype: Any = int64, device: Any = None
) -> Tensor:
    """(2, N) row and column indices of the lower triangle (diagonal `offset` included)."""
    pairs = _triangle("tril_indices", row, col, offset, lower=True)
    return tensor(pairs, dtype=dtype, device=device).reshape(2, len(pairs[0]))


def triu_indices(
    row: int, col: int, offset: int = 0, *, dtype: Any = int64, device: Any = None
) -> Tensor:
    """(2, N) row and column indices of the upper triangle (diagonal `offset` included)."""
    pairs = _triangle("triu_indices", row, col, offset, lower=False)
    return tensor(pairs, dtype=dtype, device=device).reshape(2, len(pairs[0]))
