"""Linear-algebra helpers PyTorch code calls by name, built from differentiable ops:
`diag`, `diagonal`, `trace`, `meshgrid`, `tensordot`, `kron`, `inner`, `addmm`, `baddbmm`,
`cdist`. Each gets its backward from the ops it is made of.

NOTE: `diagonal` returns a copy (an index_select), where PyTorch returns a view; writing into
the result does not change the input.
"""

from __future__ import annotations

import builtins
import math
from typing import Any

from ..creation import arange, zeros
from ..errors import ShapeError
from ..tensor import Tensor

__all__ = [
    "addmm",
    "baddbmm",
    "cdist",
    "diag",
    "diagonal",
    "inner",
    "kron",
    "meshgrid",
    "tensordot",
    "trace",
]


def _axis(op: str, dim: int, ndim: int) -> int:
    if not -ndim <= dim < ndim:
        raise IndexError(f"{op}: dim {dim} is out of range for a {ndim}-d tensor")
    return dim % ndim


def diagonal(x: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The elements x[..., i, i + offset] of the (dim1, dim2) planes, as a new last dim."""
    a, b = _axis("diagonal", dim1, x.ndim), _axis("diagonal", dim2, x.ndim)
    if a == b:
        raise ValueError(f"diagonal: dim1 and dim2 must differ, both are {dim1}")
    rest = [d for d in range(x.ndim) if d not in (a, b)]
    planes = x.permute(*rest, a, b)
    rows, cols = x.shape[a], x.shape[b]
    length = builtins.max(
        0, builtins.min(rows, cols - offset) if offset >= 0 else builtins.min(rows + offset, cols)
    )
    start = offset if offset >= 0 else -offset * cols
    # flat position of (i, i + offset) in a rows x cols plane: start + i * (cols + 1)
    index = arange(length, device=x.device) * (cols + 1) + start
    flat = planes.reshape(*planes.shape[:-2], rows * cols)
    return flat.index_select(flat.ndim - 1, index)


_diagonal = diagonal


def diag(x: Tensor, diagonal: int = 0) -> Tensor:
    """1-D -> the square matrix with x on its `diagonal`; 2-D -> that diagonal, as 1-D."""
    if x.ndim == 2:
        return _diagonal(x, diagonal)  # the parameter `diagonal` (PyTorch's name) hides it
    if x.ndim != 1:
        raise ShapeError(f"diag: expected a 1-D or 2-D tensor, got shape {x.shape}")
    n = x.shape[0]
    size = n + abs(diagonal)
    start = diagonal if diagonal >= 0 else -diagonal * size
    index = arange(n, device=x.device) * (size + 1) + start
    return (
        zeros(size * size, dtype=x.dtype, device=x.device)
        .scatter_add(0, index, x)
        .reshape(size, size)
    )


def trace(x: Tensor) -> Tensor:
    """The sum of the main diagonal of a 2-D tensor."""
    if x.ndim != 2:
        raise ShapeError(f"trace: expected a 2-D tensor, got shape {x.shape}")
    return diagonal(x).sum()


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple[Tensor, ...]:
    """Coordinate grids from 1-D tensors; indexing="xy" swaps the first two output dims."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if any(t.ndim > 1 for t in tensors):
        raise ShapeError(
            f"meshgrid: expects 0-D or 1-D tensors, got shapes {[t.shape for t in tensors]}"
        )
    flat = [t.reshape(-1) for t in tensors]
    order = list(range(len(flat)))
    if indexing == "xy" and len(flat) >= 2:
        order[0], order[1] = 1, 0  # output dim p holds tensor order[p]
    shape = [flat[i].shape[0] for i in order]
    out = []
    for i, t in enumerate(flat):
        view = [1] * len(flat)
        view[order.index(i)] = -1
        out.append(t.reshape(*view).expand(*shape))
    return tuple(out)


def _dims(a: Tensor, b: Tensor, dims: Any) -> tuple[list[int], list[int]]:
    if isinstance(dims, int):
        if dims < 0 or dims > builtins.min(a.ndim, b.ndim):
            raise ValueError(
                f"tensordot: dims={dims} must be in [0, {builtins.min(a.ndim, b.ndim)}]"
            )
        return list(range(a.ndim - dims, a.ndim)), list(range(dims))
    da, db = dims
    da = [da] if isinstance(da, int) else list(da)
    db = [db] if isinstance(db, int) else list(db)
    return [_axis("tensordot", d, a.ndim) for d in da], [_axis("tensordot", d, b.ndim) for d in db]


def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    """Sum of products over a's dims `dims[0]` and b's `dims[1]` (or a's last n and b's first n)."""
    da, db = _dims(a, b, dims)
    if len(da) != len(db) or any(a.shape[i] != b.shape[j] for i, j in zip(da, db)):
        raise ShapeError(
            f"tensordot: contracted sizes differ: {[a.shape[i] for i in da]} of {a.shape} vs "
            f"{[b.shape[j] for j in db]} of {b.shape}"
        )
    keep_a = [d for d in range(a.ndim) if d not in da]
    keep_b = [d for d in range(b.ndim) if d not in db]
    k = math.prod(a.shape[d] for d in da)
    left = a.permute(*keep_a, *da).reshape(-1, k)
    right = b.permute(*db, *keep_b).reshape(k, -1)
    shape = [a.shape[d] for d in keep_a] + [b.shape[d] for d in keep_b]
    return (left @ right).reshape(*shape)


def inner(a: Tensor, b: Tensor) -> Tensor:
    """Sum of products over the last dims (a product when either is 0-d)."""
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return tensordot(a, b, ([a.ndim - 1], [b.ndim - 1]))


def kron(a: Tensor, b: Tensor) -> Tensor:
    """The Kronecker product: block (i, j, ...) is a[i, j, ...] * b."""
    n = builtins.max(a.ndim, b.ndim)
    sa = (1,) * (n - a.ndim) + tuple(a.shape)
    sb = (1,) * (n - b.ndim) + tuple(b.shape)
    # interleave: a as (a0, 1, a1, 1, ...), b as (1, b0, 1, b1, ...); the product is the blocks
    wide_a = a.reshape(*[v for d in sa for v in (d, 1)])
    wide_b = b.reshape(*[v for d in sb for v in (1, d)])
    return (wide_a * wide_b).reshape(*[x * y for x, y in zip(sa, sb)])


def addmm(inp: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """beta * inp + alpha * (mat1 @ mat2), with 2-D mat1 and mat2."""
    if mat1.ndim != 2 or mat2.ndim != 2:
        raise ShapeError(f"addmm: mat1 and mat2 must be 2-D, got {mat1.shape} and {mat2.shape}")
    return _scale(inp, beta) + _scale(mat1 @ mat2, alpha)


def baddbmm(inp: Tensor, b1: Tensor, b2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """beta * inp + alpha * (b1 @ b2), with 3-D batches b1 and b2."""
    if b1.ndim != 3 or b2.ndim != 3:
        raise ShapeError(f"baddbmm: batch1 and batch2 must be 3-D, got {b1.shape} and {b2.shape}")
    return _scale(inp, beta) + _scale(b1 @ b2, alpha)


def _scale(x: Tensor, factor: Any) -> Tensor:
    # beta=0 ignores inp entirely (nan and inf in it do not propagate), as PyTorch documents
    if isinstance(factor, (int, float)) and factor == 0:
        return zeros(*x.shape, dtype=x.dtype, device=x.device)
    return x if isinstance(factor, (int, float)) and factor == 1 else x * factor


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0) -> Tensor:
    """Pairwise p-norm distances between the rows of x1 (..., P, M) and x2 (..., R, M).

    NOTE: built from the (..., P, R, M) differences (memory P*R*M); at a zero distance the
    p=2 gradient is nan (PyTorch gives 0).
    """
    if x1.ndim < 2 or x2.ndim < 2 or x1.shape[-1] != x2.shape[-1]:
        raise ShapeError(
            "cdist: expected (..., P, M) and (..., R, M) with the same M, got "
            f"{x1.shape} and {x2.shape}"
        )
    diff = (x1.unsqueeze(-2) - x2.unsqueeze(-3)).abs()
    if p == 2:
        return (diff * diff).sum(-1).sqrt()
    if p == 1:
        return diff.sum(-1)
    if math.isinf(p):
        return diff.amax(-1)
    if p <= 0:
        raise ValueError(f"cdist: p must be > 0, got {p}")
    return (diff**p).sum(-1) ** (1.0 / p)
