"""`x[index]` and `x[index] = value` with NumPy's rules, and the gather primitive under them.

Basic indices (ints, slices with steps, None, ...) make a strided view (`Slice`, in
`movement.py`). Integer arrays/tensors and boolean masks are "advanced": their positions are
merged into one axis and read with a single differentiable `Gather`, whose backward
scatter-adds (repeats accumulate).

No host sync on the way: negative indices are wrapped on the device, and an index out of
range is reported by the backend's kernel (an IndexError). With TINYGPT_CHECKS=1 core also
checks bounds on the host first, naming the first bad index. Boolean masks are the exception:
how many elements they select decides the result's shape, so they are read on the host.

>>> import tinygpt as tg
>>> x = tg.arange(6.0).reshape(2, 3)
>>> x[1, [0, 2]].tolist()
[3.0, 5.0]
"""

from __future__ import annotations

from typing import Any

from .. import array_ops as A
from .. import host
from ..autograd.function import Function, is_grad_enabled
from ..config import env_checks
from ..creation import arange, tensor
from ..dtypes import bool_, int64
from ..errors import DTypeError, ShapeError
from ..ndarray import NDArray, normalize_axis, prod
from ..tensor import Tensor
from .comparison import where
from .inplace import check_writable, commit, graph_alias
from .movement import Permute, Reshape, Slice, broadcast_tensors
from .promotion import cast, check_devices, detached

__all__ = ["Gather", "SetSlice", "getitem", "setitem", "index_select"]

Item = Any  # None | int | slice | Tensor (int64, an advanced index)


class Gather(Function):
    """x picked along `axis` by an int64 index array; backward scatter-adds the gradient.

    x (..., n, ...), index (I...) -> (..., I..., ...): `axis` is replaced by the index's dims.
    """

    def forward(self, x: NDArray, index: NDArray, axis: int = 0) -> NDArray:
        self.axis = axis
        self.shape = x.shape
        self.save_for_backward(index)
        return A.gather(x, axis, index)

    def backward(self, grad: NDArray) -> tuple[NDArray, None]:
        (index,) = self.saved
        return A.scatter_add(self.shape, self.axis, index, grad.compact()), None


class SetSlice(Function):
    """out = x with `value` written into the basic-index window (autograd-aware setitem)."""

    def forward(self, x: NDArray, value: NDArray, items: tuple = ()) -> NDArray:
        self.items = items
        self.value_shape = value.shape
        out = A.copy(x)
        A.write(out.slice(items), value)
        return out

    def backward(self, grad: NDArray) -> tuple[NDArray, NDArray]:
        dx = A.copy(grad)
        A.fill(dx.slice(self.items), 0)
        return dx, A.unbroadcast(grad.slice(self.items).compact(), self.value_shape)


# ------------------------------------------------------------------ reading
def getitem(x: Tensor, index: object) -> Tensor:
    items = _parse(x, index)
    if not any(_is_advanced(i) for i in items):
        return Slice.apply(x, items=tuple(items))
    if any(isinstance(i, int) for i in items):
        # NumPy treats ints next to arrays as 0-d arrays: keep them as advanced indices
        items = [tensor(i, device=x.device) if isinstance(i, int) else i for i in items]
    basic = tuple(slice(None) if _is_advanced(i) else i for i in items)
    view = Slice.apply(x, items=basic)
    positions = []
    arrays = []
    for dim, item in enumerate(items):
        if _is_advanced(item):
            positions.append(dim)
            arrays.append(_wrap_negative(item, view.shape[dim], dim))
    return _gather_positions(view, positions, arrays)


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:  # noqa: A002
    """The slices of `input` at positions `index` (1-D, int) along `dim`, as in PyTorch.

    input (..., n, ...), index (k,) -> (..., k, ...). Unlike `x[index]`, a negative index is an
    error, not counted from the end (the backend raises; TINYGPT_CHECKS=1 names it first).
    """
    if not isinstance(index, Tensor) or index.dtype.kind != "i":
        raise DTypeError(f"index_select: index must be an integer tensor, got {index!r:.60}")
    if index.ndim > 1:
        raise ShapeError(f"index_select: index must be 1-D, got shape {index.shape}")
    axis = normalize_axis("index_select", dim, input.ndim)
    check_devices("index_select", input, index)
    if env_checks():
        _check_bounds(index, input.shape[axis], axis, allow_negative=False, op="index_select")
    return Gather.apply(input, cast(index.detach(), int64).reshape(-1), axis=axis)


def _parse(x: Tensor, index: object) -> list[Item]:
    """Index -> one entry per consumed dim (Ellipsis expanded), plus None for new dims."""
    raw = list(index) if isinstance(index, tuple) else [index]
    items: list[Item] = []
    dim: int | None = 0  # the dim the next item indexes (None once an Ellipsis makes it vary)
    for item in raw:
        if item is None or item is Ellipsis or isinstance(item, slice):
            items.append(item)
        elif isinstance(item, bool):
            raise IndexError("getitem: a Python bool is not a valid index; use a mask tensor")
        elif isinstance(item, int) or hasattr(item, "__index__") and not hasattr(item, "shape"):
            items.append(int(item))
        else:
            items.extend(_array_index(x, item, dim))
        if item is Ellipsis:
            dim = None
        elif dim is not None and item is not None:
            dim = len([i for i in items if i is not None])
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


def _array_index(x: Tensor, item: object, dim: int | None) -> list[Tensor]:
    """An integer or boolean array index as int64 tensors on x's device (one per mask dim)."""
    array = item if isinstance(item, Tensor) else tensor(item, device=x.device)
    if array.device != x.device:  # like PyTorch: the index follows the data
        array = array.to(x.device)
    if array.dtype == bool_:
        covered = x.shape[dim : dim + array.ndim] if dim is not None else array.shape
        if array.shape != covered:
            raise IndexError(
                f"getitem: a boolean mask of shape {array.shape} does not match the dims "
                f"{covered} of the tensor {x.shape} it indexes (from dim {dim}); a mask "
                "must have exactly the shape of the dims it selects from"
            )
        return [detached(p) for p in host.nonzero(array._data)]
    if array.dtype.kind != "i":
        raise DTypeError(
            f"getitem: index tensors must be int or bool, got {array.dtype}; "
            "use .long() for float indices"
        )
    return [cast(array.detach(), int64)]


def _is_advanced(item: Item) -> bool:
    return not (item is None or isinstance(item, (int, slice)))


def _wrap_negative(index: Tensor, size: int, dim: int) -> Tensor:
    """Negative indices count from the end (on the device: no host read)."""
    if env_checks():
        _check_bounds(index, size, dim)
    return where(index < 0, index + size, index)


def _check_bounds(
    index: Tensor, size: int, dim: int, allow_negative: bool = True, op: str = "getitem"
) -> None:
    """TINYGPT_CHECKS=1 only: name the first out-of-range index (NOTE: two host reads)."""
    if index.numel() == 0:
        return
    low = int(index.min().item())
    high = int(index.max().item())
    if low < (-size if allow_negative else 0) or high >= size:
        bad = high if high >= size else low
        raise IndexError(f"{op}: index {bad} is out of bounds for dim {dim} with size {size}")


def _gather_positions(view: Tensor, positions: list[int], arrays: list[Tensor]) -> Tensor:
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


# ------------------------------------------------------------------ writing
def setitem(x: Tensor, index: object, value: object) -> None:
    """Write `value` into `x[index]` in place (through autograd when it is recording)."""
    recording = is_grad_enabled() and (
        x.requires_grad or (isinstance(value, Tensor) and value.requires_grad)
    )
    if recording and x.is_leaf and x.requires_grad:
        raise RuntimeError(
            "setitem: a leaf tensor that requires grad cannot be modified in place; "
            "wrap the write in tg.no_grad() or work on a clone()"
        )
    check_writable("setitem", x)
    items = _parse(x, index)
    if isinstance(value, Tensor):
        check_devices("setitem", x, value)
        source = cast(value, x.dtype)
    else:
        source = tensor(value, dtype=x.dtype, device=x.device)
    # NOTE: the op's input must be x's *old* self, or x would become its own parent
    before = graph_alias(x) if recording else x
    if not any(_is_advanced(i) for i in items):
        if recording:
            commit("setitem", x, SetSlice.apply(before, source, items=tuple(items)))
            return
        A.write(x._data.slice(tuple(items)), A.cast(source._data, x.dtype))
        x._bump_version()
        return
    _setitem_advanced(x, before, index, source, recording)


class PutValues(Function):
    """The values of an advanced-index write, placed: (k,) values -> (size,), zero where
    nothing is written. Where an index repeats, the last write's value lands (NumPy's
    rule), but every write gets the gradient of its place, as in PyTorch's `index_put`.
    """

    def forward(
        self,
        values: NDArray,
        which: NDArray | None = None,
        where_to: NDArray | None = None,
        positions: NDArray | None = None,
        size: int = 0,
    ) -> NDArray:
        assert which is not None and where_to is not None and positions is not None
        self.positions = positions
        return A.scatter_add((size,), 0, where_to, A.gather(values, 0, which))

    def backward(self, grad: NDArray) -> tuple[NDArray]:
        return (A.gather(grad, 0, self.positions),)


def _setitem_advanced(
    x: Tensor, before: Tensor, index: object, source: Tensor, recording: bool
) -> None:
    """Advanced-index write as where(selected, scattered values, x): exact, last write wins.

    The flat positions written are found by indexing an arange of x's positions with the same
    index, on the device. The gradient flows to `x` (where nothing was written) and, when
    `source` requires grad (`probs[rows, targets] -= 1` on a graph tensor), to the writes
    that won.
    """
    positions = getitem(arange(x.numel(), device=x.device).reshape(*x.shape), index)
    values = source.expand(*positions.shape).reshape(-1) if positions.ndim else source.reshape(1)
    which, where_to = host.last_writes(positions._data)  # repeats: keep the last, like NumPy
    hit = A.scatter_add((x.numel(),), 0, where_to, A.full(x._data, which.shape, 1, x.dtype))
    selected = detached(A.scalar("ne", hit, 0)).reshape(*x.shape)
    if recording and source.requires_grad:
        flat = positions._data.compact().reshape((positions.numel(),))
        scattered = PutValues.apply(
            values, which=which, where_to=where_to, positions=flat, size=x.numel()
        )
    else:
        written = A.gather(values._data, 0, which)
        scattered = detached(A.scatter_add((x.numel(),), 0, where_to, written))
    new = where(selected, scattered.reshape(*x.shape), before)
    if recording:
        commit("setitem", x, new)
        return
    A.write(x._data, new._data)
    x._bump_version()
