"""embedding_bag: sum, mean or max of the embedding rows of each bag of ids, in one call.

Bags are the rows of a 2-D input (B, L), or, for a 1-D input, the runs that start at each
entry of `offsets`. Each id's row is read with `index_select`; its bag number (a device-side
count of the offsets at or before it) sends it to the bag's slot with `index_add`, whose
backward routes every gradient to its row. Max needs the bag lengths on the host.

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> w = tg.arange(6.0).reshape(3, 2)
>>> F.embedding_bag(tg.tensor([0, 2, 1]), w, tg.tensor([0, 2]), mode="sum").tolist()
[[4.0, 6.0], [2.0, 3.0]]
"""

from __future__ import annotations

import tinygpt as tg
from tinygpt import DTypeError, ShapeError, Tensor

__all__ = ["embedding_bag"]

_MODES = ("sum", "mean", "max")


def embedding_bag(
    input: Tensor,  # noqa: A002 - PyTorch's name
    weight: Tensor,
    offsets: Tensor | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Tensor:
    """ids (B, L) or (n,) with offsets (B,), weight (V, D) -> (B, D) per-bag sum/mean/max."""
    if mode not in _MODES:
        raise ValueError(f"embedding_bag: mode must be one of {_MODES}, got {mode!r}")
    if input.dtype.kind != "i":
        raise DTypeError(f"embedding_bag: ids must be an integer tensor, got {input.dtype}")
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError(
            "embedding_bag: max_norm, scale_grad_by_freq and sparse are not supported"
        )
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            f"embedding_bag: per_sample_weights only works with mode='sum', got {mode!r}"
        )
    ids, bag, bags = _bags(input, offsets, include_last_offset)
    rows = tg.index_select(weight, 0, ids)  # (n, D)
    keep = None
    if padding_idx is not None:
        keep = (ids != padding_idx).unsqueeze(-1)  # (n, 1): padding ids count for nothing
    if mode == "max":
        return _max(rows, keep, input, offsets, include_last_offset, bags)
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.reshape(-1, 1)
    if keep is not None:
        rows = tg.where(keep, rows, tg.zeros_like(rows))
    width = weight.shape[1]
    zeros = tg.zeros(bags, width, dtype=weight.dtype, device=weight.device)
    total = tg.index_add(zeros, 0, bag, rows)  # (B, D)
    if mode == "sum":
        return total
    ones = tg.ones(ids.shape[0], 1, dtype=weight.dtype, device=weight.device)
    if keep is not None:
        ones = tg.where(keep, ones, tg.zeros_like(ones))
    counts = tg.index_add(tg.zeros(bags, 1, dtype=weight.dtype, device=weight.device), 0, bag, ones)
    return total / counts.clamp(min=1.0)  # an empty bag is all zeros, as in PyTorch


def _bags(
    input: Tensor, offsets: Tensor | None, include_last_offset: bool
) -> tuple[Tensor, Tensor, int]:
    """(flat ids (n,), bag number of each id (n,), number of bags)."""
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError("embedding_bag: offsets must be None for a 2-D input (B, L)")
        b, length = input.shape
        bag = tg.arange(b, device=input.device).reshape(-1, 1).expand(b, length).reshape(-1)
        return input.reshape(-1), bag, b
    if input.ndim != 1 or offsets is None or offsets.ndim != 1:
        raise ShapeError(
            f"embedding_bag: expected ids (B, L), or ids (n,) with offsets (B,); got "
            f"{input.shape} and {None if offsets is None else offsets.shape}"
        )
    starts = offsets[:-1] if include_last_offset else offsets
    n = input.shape[0]
    position = tg.arange(n, device=input.device).reshape(-1, 1)  # (n, 1)
    # bag of id i = (number of starts <= i) - 1
    bag = (position >= starts.reshape(1, -1)).to(tg.int64).sum(1) - 1
    return input, bag, starts.shape[0]


def _max(
    rows: Tensor,
    keep: Tensor | None,
    input: Tensor,
    offsets: Tensor | None,
    include_last_offset: bool,
    bags: int,
) -> Tensor:
    """Per-bag max: each bag is sliced out with host-known bounds (a host read of offsets)."""
    if keep is not None:
        rows = tg.where(keep, rows, tg.full_like(rows, float("-inf")))
    if input.ndim == 2:
        b, length = input.shape
        grouped = rows.reshape(b, length, rows.shape[-1])
        winner = grouped.argmax(1, keepdim=True)  # NOTE: the gradient goes to one row
        return grouped.gather(1, winner).squeeze(1)
    assert offsets is not None
    bounds = [int(v) for v in offsets.tolist()]
    if not include_last_offset:
        bounds.append(input.shape[0])
    out = []
    for start, end in zip(bounds[:-1], bounds[1:], strict=True):
        if end <= start:
            out.append(tg.zeros(rows.shape[-1], dtype=rows.dtype, device=rows.device))
            continue
        part = rows[start:end]
        winner = part.argmax(0, keepdim=True)
        out.append(part.gather(0, winner).squeeze(0))
    return tg.stack(out)
