"""`x[index]` and `x[index] = value` with NumPy's rules.

Basic indices (ints, slices with steps, None, ...) make a strided view (`Slice`). Integer
arrays/tensors and boolean masks are "advanced": their positions are merged into one axis and
read with a single differentiable `Gather`, whose backward scatter-adds (repeats accumulate).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import array_ops as A
from ..autograd.function import Function, is_grad_enabled
from ..dtypes import bool_, int64
from ..errors import DTypeError
from ..ndarray import NDArray, prod
from . import math as M
from .matmul import Gather
from .movement import Permute, Reshape, Slice

if TYPE_CHECKING:
    from ..tensor import Tensor

__all__ = ["getitem", "setitem"]

Item = Any  # None | int | slice | Tensor (int64, an advanced index)


def _parse(x: Tensor, index: object) -> list[Item]:
    """Index -> one entry per consumed dim (Ellipsis expanded), plus None for new dims."""
    from ..creation import tensor
    from ..tensor import Tensor

    raw = list(index) if isinstance(index, tuple) else [index]
    items: list[Item] = []
    for item in raw:
        if item is None or item is Ellipsis or isinstance(item, slice):
            items.append(item)
        elif isinstance(item, bool):
            raise IndexError("getitem: a Python bool is not a valid index; use a mask tensor")
        elif isinstance(item, int) or hasattr(item, "__index__") and not hasattr(item, "shape"):
            items.append(int(item))
        else:
            array = item if isinstance(item, Tensor) else tensor(item, device=x.device)
            if array.device != x.device:  # like PyTorch: the index follows the data
                array = array.to(x.device)
            if array.dtype == bool_:
                items.extend(_mask_to_indices(array))
            elif array.dtype.kind == "i":
                items.append(M.cast(array.detach(), int64))
            else:
                raise DTypeError(
                    f"getitem: index tensors must be int or bool, got {array.dtype}; "
                    "use .long() for float indices"
                )
    consumed = sum(1 for i in items if i is not None and i is not Ellipsis)
    if consumed > x.ndim:
        raise IndexError(f"getitem: too many indices ({consumed}) for a tensor of shape {x.shape}")
    if any(i is Ellipsis for i in items):
        at = next(n for n, i in enumerate(items) if i is Ellipsis)
        items[at : at + 1] = [slice(None)] * (x.ndim - consumed)
        if any(i is Ellipsis for i in items):
            raise IndexError("getitem: an index can only have a single ellipsis ('...')")
    else:
        items.extend([slice(None)] * (x.ndim - consumed))
    return items


def _mask_to_indices(mask: Tensor) -> list[Tensor]:
    """A boolean mask -> one int64 index tensor per mask dim (NOTE: reads the mask on host)."""
    from ..creation import tensor

    positions = mask.numpy().nonzero()
    return [tensor(p.astype("int64"), device=mask.device) for p in positions]


def _is_advanced(item: Item) -> bool:
    return not (item is None or isinstance(item, (int, slice)))


def _check_bounds(index: Tensor, size: int, dim: int) -> Tensor:
    """Negative indices wrap; out-of-range ones raise (NOTE: one host read of min/max)."""
    if index.numel() == 0:
        return index
    low = int(index.min().item())
    high = int(index.max().item())
    if low < -size or high >= size:
        bad = high if high >= size else low
        raise IndexError(f"getitem: index {bad} is out of bounds for dim {dim} with size {size}")
    if low < 0:
        index = M.where(index < 0, index + size, index)
    return index


def getitem(x: Tensor, index: object) -> Tensor:
    items = _parse(x, index)
    if not any(_is_advanced(i) for i in items):
        return Slice.apply(x, items=tuple(items))
    if any(isinstance(i, int) for i in items):
        # NumPy treats ints next to arrays as 0-d arrays: keep them as advanced indices
        from ..creation import tensor

        items = [tensor(i, device=x.device) if isinstance(i, int) else i for i in items]
    basic = tuple(slice(None) if _is_advanced(i) else i for i in items)
    view = Slice.apply(x, items=basic)
    positions = []
    arrays = []
    dim = 0
    for item in items:
        if _is_advanced(item):
            positions.append(dim)
            arrays.append(_check_bounds(item, view.shape[dim], dim))
        dim += 1
    return _gather_positions(view, positions, arrays)


def _gather_positions(view: Tensor, positions: list[int], arrays: list[Tensor]) -> Tensor:
    from ..creation import broadcast_tensors

    arrays = list(broadcast_tensors(*arrays))
    if len(positions) == 1:
        return Gather.apply(view, arrays[0], axis=positions[0])
    adjacent = positions == list(range(positions[0], positions[0] + len(positions)))
    target = positions[0] if adjacent else 0
    rest = [d for d in range(view.ndim) if d not in positions]
    order = rest[:target] + positions + rest[target:]
    moved = Permute.apply(view, axes=tuple(order)) if order != list(range(view.ndim)) else view
    sizes = [view.shape[p] for p in positions]
    merged_shape = moved.shape[:target] + (prod(tuple(sizes)),) + moved.shape[target + len(sizes) :]
    merged = Reshape.apply(moved, shape=merged_shape)
    # row-major linear index into the merged axis
    linear = arrays[-1]
    step = sizes[-1]
    for array, size in zip(reversed(arrays[:-1]), reversed(sizes[:-1]), strict=True):
        linear = linear + array * step
        step *= size
    return Gather.apply(merged, linear, axis=target)


class SetSlice(Function):
    """out = x with `value` written into the basic-index window (autograd-aware setitem)."""

    def forward(self, x: NDArray, value: NDArray, items: tuple = ()) -> NDArray:
        self.items = items
        out = NDArray(x.backend, x.backend.copy(x), x.shape, x.dtype)
        window = out.slice(items)
        x.backend.setitem(window, value.broadcast_to(window.shape))
        self.value_shape = value.shape
        return out

    def backward(self, grad: NDArray) -> tuple[NDArray, NDArray]:
        dx = NDArray(grad.backend, grad.backend.copy(grad), grad.shape, grad.dtype)
        grad.backend.fill(dx.slice(self.items), 0)
        return dx, A.unbroadcast(grad.slice(self.items).compact(), self.value_shape)


def setitem(x: Tensor, index: object, value: object) -> None:
    """Write `value` into `x[index]` in place (through autograd when it is recording)."""
    from ..creation import tensor
    from ..tensor import Tensor

    recording = is_grad_enabled() and (
        x.requires_grad or (isinstance(value, Tensor) and value.requires_grad)
    )
    if recording and x.is_leaf and x.requires_grad:
        raise RuntimeError(
            "setitem: a leaf tensor that requires grad cannot be modified in place; "
            "wrap the write in tg.no_grad() or work on a clone()"
        )
    items = _parse(x, index)
    if isinstance(value, Tensor):
        M._check_devices("setitem", x, value)
        source = M.cast(value, x.dtype)
    else:
        source = tensor(value, dtype=x.dtype, device=x.device)
    if recording:
        # NOTE: the op's input must be x's *old* self, or x would become its own parent
        before = x.detach()
        before.requires_grad = x.requires_grad
        before.grad_fn = x.grad_fn
    else:
        before = x
    if not any(_is_advanced(i) for i in items):
        if recording:
            out = SetSlice.apply(before, source, items=tuple(items))
            x._become(out)
            return
        window = x.data.slice(tuple(items))
        x.data.backend.setitem(window, A.cast(source.data, x.dtype).broadcast_to(window.shape))
        return
    _setitem_advanced(x, before, index, source, recording)


def _setitem_advanced(
    x: Tensor, before: Tensor, index: object, source: Tensor, recording: bool
) -> None:
    """Advanced-index write as where(selected, scattered values, x): exact, last write wins.

    The written positions are computed on host from the index (not from the data); the
    gradient flows to `x` but not to `source`.
    """
    import numpy as np

    if recording and source.requires_grad:
        raise NotImplementedError(
            "setitem: writing a tensor that requires grad through an integer or boolean index "
            "is not differentiable yet; use tg.where(mask, value, x) instead"
        )
    from ..creation import tensor

    positions = np.arange(x.numel()).reshape(x.shape)[_host_index(index)]  # type: ignore[call-overload]
    flat_positions = positions.reshape(-1)
    values = source.expand(*positions.shape).reshape(-1) if positions.ndim else source.reshape(1)
    # keep the last write to each position, like NumPy
    _, last = np.unique(flat_positions[::-1], return_index=True)
    keep = np.sort(flat_positions.size - 1 - last)
    picked = tensor(keep, device=x.device)
    where_to = tensor(flat_positions[keep], device=x.device)
    written = values[picked]
    scattered = A.scatter_add((x.numel(),), 0, where_to.data, written.data.compact())
    hit = A.scatter_add((x.numel(),), 0, where_to.data, A.full(x.data, (keep.size,), 1, x.dtype))
    selected = _wrap(A.scalar("ne", hit, 0)).reshape(*x.shape)
    new = M.where(selected, _wrap(scattered).reshape(*x.shape), before)
    if recording:
        x._become(new)
        return
    x.data.backend.setitem(x.data, new.data)


def _wrap(array: NDArray) -> Tensor:
    from ..tensor import Tensor

    return Tensor._make(array, False)


def _host_index(index: object) -> object:
    """The index with every tensor replaced by its NumPy value (positions are computed on host)."""
    from ..tensor import Tensor

    if isinstance(index, tuple):
        return tuple(_host_index(i) for i in index)
    if isinstance(index, Tensor):
        return index.numpy()
    return index
