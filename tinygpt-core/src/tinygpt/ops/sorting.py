"""Sorting: argsort, sort, msort and topk, all built on one backend kernel.

The one primitive is the backend's stable `argsort` (`backend/protocol.py`; a backend without
a kernel gets core's host fallback). Values are then read with `gather`, so their gradient
is gather's: each input element gets the gradient of the place it was sorted to, and the
indices (int64) have none. Equal elements keep their order; nan sorts as the largest value.

>>> import tinygpt as tg
>>> values, indices = tg.tensor([3.0, 1.0, 2.0]).sort()
>>> values.tolist(), indices.tolist()
([1.0, 2.0, 3.0], [1, 2, 0])
>>> tg.tensor([3.0, 1.0, 2.0]).topk(2).indices.tolist()
[0, 2]
"""

from __future__ import annotations

from typing import NamedTuple

from .. import array_ops as A
from ..dtypes import int64
from ..errors import ShapeError
from ..ndarray import as_int, normalize_axis
from ..tensor import Tensor
from .dispatch import use_fused
from .promotion import detached
from .scatter import gather

__all__ = ["SortResult", "TopKResult", "argsort", "sort", "topk", "msort"]


class SortResult(NamedTuple):
    """What `sort` returns, like PyTorch's: the sorted values and their int64 positions."""

    values: Tensor
    indices: Tensor


class TopKResult(NamedTuple):
    """What `topk` returns, like PyTorch's: the k values and their int64 positions."""

    values: Tensor
    indices: Tensor


def argsort(
    input: Tensor,  # noqa: A002 - PyTorch's name
    dim: int = -1,
    descending: bool = False,
    stable: bool = False,
) -> Tensor:
    """The positions that sort `input` along `dim` (int64, input's shape).

    Always stable (equal elements keep their order), so `stable=True` changes nothing.
    """
    del stable  # the kernel is always stable
    if input.ndim == 0:
        return detached(A.full(input._data, (), 0, int64))
    axis = normalize_axis("argsort", dim, input.ndim)
    data = input._data
    if data.size == 0:
        return detached(A.full(data, data.shape, 0, int64))
    buffer = data.backend.argsort(data, axis, bool(descending))
    return detached(A.wrap(data, buffer, data.shape, int64))


def sort(
    input: Tensor,  # noqa: A002
    dim: int = -1,
    descending: bool = False,
    stable: bool = False,
) -> SortResult:
    """(values, indices) of `input` sorted along `dim`; values are differentiable."""
    indices = argsort(input, dim, descending, stable)
    if input.ndim == 0:
        return SortResult(input.clone(), indices)
    return SortResult(gather(input, dim, indices), indices)


def msort(input: Tensor) -> Tensor:  # noqa: A002
    """`input` sorted along dim 0 (the values of `sort(input, 0)`)."""
    return sort(input, 0).values


def topk(
    input: Tensor,  # noqa: A002
    k: int,
    dim: int = -1,
    largest: bool = True,
    sorted: bool = True,  # noqa: A002 - PyTorch's name
) -> TopKResult:
    """The `k` largest (or smallest) elements along `dim` and their positions.

    input (.., n, ..) -> values and indices (.., k, ..), largest first (smallest first when
    `largest=False`); always in sorted order, which `sorted=False` allows too. Ties: the
    earlier position first.
    """
    del sorted  # results are always sorted, which PyTorch's unsorted mode permits
    k = as_int("topk", k, "k")
    length = input.shape[normalize_axis("topk", dim, input.ndim)] if input.ndim else 1
    if not 0 <= k <= length:
        raise ShapeError(
            f"topk: k={k} is out of range for dim {dim} of size {length} (input {input.shape}); "
            f"k must be in [0, {length}]"
        )
    if input.ndim == 0:
        return TopKResult(input.clone(), detached(A.full(input._data, (), 0, int64)))
    axis = normalize_axis("topk", dim, input.ndim)
    if 0 < k <= length // 8 and use_fused("topk", input):
        # a selection, not a sort (the backend's kernel): top-k sampling over a vocabulary
        positions = A.fused_call("topk", input._data, axis, k, largest)
        shape = input.shape[:axis] + (k,) + input.shape[axis + 1 :]
        indices = detached(A.wrap(input._data, positions, shape, int64))
        return TopKResult(gather(input, axis, indices), indices)
    order = argsort(input, axis, descending=largest)
    window = [slice(None)] * input.ndim
    window[axis] = slice(0, k)
    indices = order[tuple(window)].contiguous()
    return TopKResult(gather(input, axis, indices), indices)
