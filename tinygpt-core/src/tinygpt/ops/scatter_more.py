"""Writing values at positions, out of place, with PyTorch's names: `index_copy`,
`index_put`, `put`, `masked_scatter`, `scatter_reduce`; and `unique_consecutive` and
`unique(dim=...)`, which read values to the host (data-dependent sizes, as `unique`).

Each is built on `scatter` / `scatter_add` / `gather` (differentiable in the values
written), so gradients flow to both the tensor and the source, as in PyTorch.

>>> import tinygpt as tg
>>> x = tg.zeros(5)
>>> tg.index_copy(x, 0, tg.tensor([4, 0]), tg.tensor([1.0, 2.0])).tolist()
[2.0, 0.0, 0.0, 0.0, 1.0]
"""

from __future__ import annotations

import math
from typing import Any

from ..creation import arange, tensor
from ..dtypes import int64
from ..errors import DTypeError, ShapeError
from ..ndarray import normalize_axis
from ..tensor import Tensor
from .comparison import where
from .movement_more import movedim
from .promotion import cast
from .scatter import scatter, scatter_add

__all__ = [
    "fill_diagonal",
    "index_copy",
    "index_put",
    "masked_scatter",
    "put",
    "scatter_reduce",
    "unique_consecutive",
    "unique_dim",
]


def _flat_index(op: str, x: Tensor, index: Tensor) -> Tensor:
    """Flat positions into x (negative ones wrapped), int64, as a 1-D tensor."""
    if index.dtype.kind != "i":
        raise DTypeError(f"{op}: index must be an integer tensor, got {index.dtype}")
    flat = index.reshape(-1).long()
    return where(flat < 0, flat + x.numel(), flat)


def index_copy(x: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """x with the slices source[..., i, ...] written at x[..., index[i], ...] along `dim`."""
    if x.ndim == 0:
        return source.reshape(()).to(x.dtype)
    axis = normalize_axis("index_copy", dim, x.ndim)
    if index.ndim > 1 or index.numel() != source.shape[axis]:
        raise ShapeError(
            f"index_copy: index of shape {tuple(index.shape)} must list one position per slice "
            f"of source {tuple(source.shape)} along dim {axis}"
        )
    view = [1] * source.ndim
    view[axis] = -1
    where_to = index.reshape(*view).long().expand(*source.shape)
    return scatter(x, axis, where_to, cast(source, x.dtype))


def put(x: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """x (as if flattened) with source's elements written (or added) at flat `index`."""
    positions = _flat_index("put", x, index)
    values = cast(source, x.dtype).reshape(-1)
    if values.numel() != positions.numel():
        raise ShapeError(
            f"put: index has {positions.numel()} elements but source has {values.numel()}"
        )
    flat = x.reshape(-1)
    if accumulate:
        out = scatter_add(flat, 0, positions, values)
    else:
        out = scatter(flat, 0, positions, values)
    return out.reshape(*x.shape)


def index_put(x: Tensor, indices: tuple[Any, ...], values: Any, accumulate: bool = False) -> Tensor:
    """x with `values` written at x[indices] (added, duplicates summed, with `accumulate`)."""
    if not isinstance(indices, (tuple, list)):
        raise TypeError("index_put: indices must be a tuple of tensors, as x[indices]")
    numbered = arange(x.numel(), device=x.device).reshape(*x.shape)
    positions = numbered[tuple(indices)]  # the flat position of each element written
    source = values if isinstance(values, Tensor) else tensor(values, device=x.device)
    source = cast(source, x.dtype).expand(*positions.shape)
    return put(x, positions, source.contiguous(), accumulate)


def masked_scatter(x: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """x with the positions where `mask` is True filled, in row-major order, from the
    first elements of `source`."""
    if mask.dtype.name != "bool":
        raise DTypeError(f"masked_scatter: mask must be bool, got {mask.dtype}")
    full_mask = mask.expand(*x.shape) if mask.shape != x.shape else mask
    flat_mask = full_mask.reshape(-1)
    taken = flat_mask.long().cumsum(0) - 1  # which source element each True takes
    needed = int(taken[-1].item()) + 1 if taken.numel() else 0
    if needed > source.numel():
        raise ShapeError(
            f"masked_scatter: the mask selects {needed} elements but source has only "
            f"{source.numel()}"
        )
    picked = cast(source, x.dtype).reshape(-1)[where(flat_mask, taken, 0)]
    return where(full_mask, picked.reshape(*x.shape), x)


_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def scatter_reduce(
    x: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *, include_self: bool = True
) -> Tensor:
    """x with src[i][j] combined into x[i][index[i][j]] (dim=1) by `reduce` (sum, prod, mean,
    amax, amin); `include_self=False` ignores x's old value where anything lands.

    NOTE: built from an (n_out, n_src) comparison along `dim`: memory grows as the product.
    """
    if reduce not in _REDUCTIONS:
        raise ValueError(f"scatter_reduce: reduce must be one of {_REDUCTIONS}, got {reduce!r}")
    axis = normalize_axis("scatter_reduce", dim, max(x.ndim, 1))
    if x.ndim == 0:
        return scatter_reduce(
            x.reshape(1), 0, index.reshape(1), src.reshape(1), reduce, include_self=include_self
        ).reshape(())
    if index.ndim != x.ndim or any(
        index.shape[d] != x.shape[d] for d in range(x.ndim) if d != axis
    ):
        raise ShapeError(
            f"scatter_reduce: index {tuple(index.shape)} must match self {tuple(x.shape)} in "
            f"every dim but {axis} (tinygpt does not support smaller index dims)"
        )
    src = cast(src, x.dtype)
    for d in range(src.ndim):
        src = src.narrow(d, 0, index.shape[d])  # only the part of src that index covers
    n_out = x.shape[axis]
    idx = movedim(index.long(), axis, -1).unsqueeze(-2)  # (..., 1, m)
    slots = arange(n_out, device=x.device).unsqueeze(-1)  # (n_out, 1)
    hits = idx == slots  # (..., n_out, m): which source lands in which slot
    values = movedim(src, axis, -1).unsqueeze(-2)  # (..., 1, m)
    count = hits.sum(-1)  # (..., n_out)
    landed = count > 0
    base = movedim(x, axis, -1)  # (..., n_out)
    if reduce in ("sum", "mean"):
        total = where(hits, values, 0).sum(-1)
        if reduce == "sum":
            out = base + total if include_self else where(landed, total, base)
        else:
            extra = 1 if include_self else 0
            summed = base + total if include_self else total
            divisor = where(landed, count + extra, 1)
            if x.dtype.is_floating_point:
                mean = summed / cast(divisor, x.dtype)
            else:
                mean = summed // divisor
            out = where(landed, mean, base)
    elif reduce == "prod":
        product = where(hits, values, 1).prod(-1)
        out = base * product if include_self else where(landed, product, base)
    else:
        lowest = -math.inf if x.dtype.is_floating_point else -(2**62)
        fill = lowest if reduce == "amax" else -lowest
        picked = where(hits, values, fill)
        best = picked.amax(-1) if reduce == "amax" else picked.amin(-1)
        if include_self:
            best = best.maximum(base) if reduce == "amax" else best.minimum(base)
        out = where(landed, best, base)
    return movedim(cast(out, x.dtype), -1, axis)


def fill_diagonal(x: Tensor, value: Any, wrap: bool = False) -> Tensor:
    """x with `value` on its main diagonal (all indices equal); a tall 2-D matrix with `wrap`
    starts the diagonal again below every (cols + 1) rows, as NumPy's fill_diagonal."""
    shape = tuple(x.shape)
    if len(shape) < 2 or (len(shape) > 2 and len(set(shape)) != 1):
        raise ValueError(
            f"fill_diagonal_: needs a 2-D tensor, or all dims equal, got shape {shape}"
        )
    n = x.numel()
    # flat positions of the diagonal: k * step, step = 1 + cols + cols^2 + ...
    step = sum(shape[-1] ** i for i in range(len(shape)))
    count = -(-n // step) if wrap and len(shape) == 2 else min(shape)
    positions = arange(n, device=x.device)
    hit = ((positions % step) == 0) & (positions < count * step)
    return x.masked_fill(hit.reshape(*shape), value)


# ------------------------------------------------------------------ host-side uniques
def unique_consecutive(
    x: Tensor, return_inverse: bool = False, return_counts: bool = False, dim: int | None = None
) -> Any:
    """Each run of equal consecutive elements (slices along `dim`) collapsed to one."""
    if dim is None:
        rows = x.detach().reshape(-1, 1)
        axis = 0
    else:
        axis = normalize_axis("unique_consecutive", dim, x.ndim)
        rows = movedim(x.detach(), axis, 0).reshape(x.shape[axis], -1)
    n = rows.shape[0]
    if n:
        changed = (rows[1:] != rows[:-1]).any(1).tolist()
    else:
        changed = []
    starts = [0] + [i + 1 for i, c in enumerate(changed) if c] if n else []
    keep = tensor(starts, dtype=int64, device=x.device)
    if dim is None:
        out = x.detach().reshape(-1)[keep]
    else:
        out = x.detach().index_select(axis, keep)
    results: list[Tensor] = [out]
    if return_inverse:
        group, g = [], -1
        for i in range(n):
            g += 1 if i == 0 or changed[i - 1] else 0
            group.append(g)
        inverse = tensor(group, dtype=int64, device=x.device)
        results.append(inverse.reshape(*x.shape) if dim is None else inverse)
    if return_counts:
        ends = starts[1:] + [n]
        results.append(tensor([e - s for s, e in zip(starts, ends)], dtype=int64, device=x.device))
    return results[0] if len(results) == 1 else tuple(results)


def unique_dim(
    x: Tensor,
    dim: int,
    sorted: bool = True,  # noqa: A002 - PyTorch's name
    return_inverse: bool = False,
    return_counts: bool = False,
) -> Any:
    """The distinct slices of x along `dim`, in lexicographic order (`torch.unique(dim=)`)."""
    del sorted  # always sorted, as PyTorch
    axis = normalize_axis("unique", dim, x.ndim)
    rows = movedim(x.detach(), axis, 0).reshape(x.shape[axis], -1).tolist()
    order = sorted_rows(rows)
    distinct: list[int] = []
    inverse = [0] * len(rows)
    counts: list[int] = []
    for i in order:
        if not distinct or rows[distinct[-1]] != rows[i]:
            distinct.append(i)
            counts.append(0)
        inverse[i] = len(distinct) - 1
        counts[-1] += 1
    out = x.detach().index_select(axis, tensor(distinct, dtype=int64, device=x.device))
    results: list[Tensor] = [out]
    if return_inverse:
        results.append(tensor(inverse, dtype=int64, device=x.device))
    if return_counts:
        results.append(tensor(counts, dtype=int64, device=x.device))
    return results[0] if len(results) == 1 else tuple(results)


def sorted_rows(rows: list[list[Any]]) -> list[int]:
    """Positions of `rows` in lexicographic order (stable)."""
    return sorted(range(len(rows)), key=lambda i: rows[i])
