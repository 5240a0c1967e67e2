"""More shape ops with PyTorch's names: t, narrow, flip, repeat, as_strided.

`t` and `narrow` are views (`movement.py`'s Permute and Slice); `flip` reads a reversed
(negative-stride) view into a copy, as PyTorch's flip copies; `repeat` expands a view and
copies it into the tiled shape. `AsStrided` is the one primitive: any shape, strides and
offset over the tensor's buffer, with a backward that routes each output element's gradient
to the buffer position it read.

>>> import tinygpt as tg
>>> tg.tensor([[1, 2], [3, 4]]).flip(0).tolist()
[[3, 4], [1, 2]]
>>> tg.tensor([1, 2]).repeat(2, 2).tolist()
[[1, 2, 1, 2], [1, 2, 1, 2]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import array_ops as A
from ..autograd.function import Function, no_grad
from ..creation import arange
from ..dtypes import int64
from ..errors import ShapeError
from ..ndarray import NDArray, as_int, checked_nbytes, normalize_axis
from ..tensor import Tensor
from .movement import Slice, _shape_args, clone, expand, reshape, transpose

__all__ = ["AsStrided", "t", "narrow", "flip", "fliplr", "flipud", "repeat", "as_strided"]


def t(input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
    """The transpose of a matrix (a view); 0-d and 1-d tensors come back as they are."""
    if input.ndim > 2:
        raise ShapeError(
            f"t: expects a tensor with <= 2 dims, got {input.shape}; use .transpose(d0, d1) "
            "or .mT for batches of matrices"
        )
    return transpose(input, 0, 1) if input.ndim == 2 else input


def narrow(input: Tensor, dim: int, start: Any, length: int) -> Tensor:  # noqa: A002
    """The view input[..., start:start + length, ...] along `dim` (start may be negative)."""
    axis = normalize_axis("narrow", dim, input.ndim)
    size = input.shape[axis]
    start = as_int("narrow", start, "start")
    length = as_int("narrow", length, "length")
    if start < 0:
        start += size
    if not 0 <= start <= size or length < 0 or start + length > size:
        raise ShapeError(
            f"narrow: start {start} and length {length} do not fit dim {axis} of size {size} "
            f"(input {input.shape}); need 0 <= start and start + length <= {size}"
        )
    window: list[slice | int | None] = [slice(None)] * input.ndim
    window[axis] = slice(start, start + length)
    return Slice.apply(input, items=tuple(window))


def flip(input: Tensor, *dims: Any) -> Tensor:  # noqa: A002
    """A copy with the order of elements reversed along `dims` (an int or a sequence)."""
    axes = {normalize_axis("flip", d, input.ndim) for d in _shape_args(dims)}
    if not axes:
        return clone(input)
    window = tuple(slice(None, None, -1) if d in axes else slice(None) for d in range(input.ndim))
    return clone(Slice.apply(input, items=window))  # a negative-stride view, then a copy


def fliplr(input: Tensor) -> Tensor:  # noqa: A002
    """Reverse dim 1 (left/right), for tensors with >= 2 dims."""
    if input.ndim < 2:
        raise ShapeError(f"fliplr: needs >= 2 dims, got {input.shape}")
    return flip(input, 1)


def flipud(input: Tensor) -> Tensor:  # noqa: A002
    """Reverse dim 0 (up/down), for tensors with >= 1 dim."""
    if input.ndim < 1:
        raise ShapeError(f"flipud: needs >= 1 dim, got {input.shape}")
    return flip(input, 0)


def repeat(input: Tensor, *sizes: Any) -> Tensor:  # noqa: A002
    """Tile the tensor: `sizes[i]` copies along dim i (extra leading sizes add new dims).

    (n0, n1) with sizes (r0, r1) -> (r0 * n0, r1 * n1); like np.tile, not repeat_interleave.
    """
    reps = tuple(as_int("repeat", r, "each size") for r in _shape_args(sizes))
    if len(reps) < input.ndim:
        raise ShapeError(
            f"repeat: {len(reps)} sizes {reps} for a tensor with {input.ndim} dims "
            f"{input.shape}; give at least one size per dim"
        )
    if any(r < 0 for r in reps):
        raise ShapeError(f"repeat: sizes {reps} must be >= 0")
    shape = (1,) * (len(reps) - input.ndim) + input.shape
    # (n0, n1) -> (1, n0, 1, n1) -> (r0, n0, r1, n1) -> (r0 * n0, r1 * n1)
    spread = reshape(input, *[d for n in shape for d in (1, n)])
    tiled = expand(spread, *[d for r, n in zip(reps, shape, strict=True) for d in (r, n)])
    return reshape(tiled, *[r * n for r, n in zip(reps, shape, strict=True)])


class AsStrided(Function):
    """A view with any shape, strides and offset (in elements) over x's buffer.

    Backward scatter-adds the output's gradient onto the buffer positions it read, then
    reads x's own positions back: an element read twice gets both gradients.
    """

    def forward(
        self,
        x: NDArray,
        shape: tuple[int, ...] = (),
        strides: tuple[int, ...] = (),
        offset: int = 0,
    ) -> NDArray:
        self.geometry = (shape, strides, offset)
        self.source = (x.shape, x.strides, x.offset)
        return x.view(shape, strides, offset)

    def backward(self, grad: NDArray) -> NDArray:
        read = _positions(grad, *self.geometry)
        mine = _positions(grad, *self.source)
        extent = max(_span(*self.geometry)[1], _span(*self.source)[1]) + 1
        flat = grad.compact().reshape((grad.size,))
        storage = A.scatter_add((extent,), 0, read.reshape((read.size,)), flat)
        return A.gather(storage, 0, mine)


def _positions(like: NDArray, shape: tuple, strides: tuple, offset: int) -> NDArray:
    """int64 array of `shape`: the buffer position of each element of that view."""
    with no_grad():
        total = offset
        for d, (n, s) in enumerate(zip(shape, strides, strict=True)):
            view = [1] * len(shape)
            view[d] = n
            step = arange(n, dtype=int64, device=like.device).reshape(*view) * s
            total = step + total
        if isinstance(total, int):
            return A.full(like, (), total, int64)
        return A.copy(total.expand(*shape)._data)


def _span(shape: tuple, strides: tuple, offset: int) -> tuple[int, int]:
    """The lowest and highest buffer positions a view reads (an empty view reads none)."""
    low = high = offset
    for n, s in zip(shape, strides, strict=True):
        if n == 0:
            return offset, offset - 1
        if s > 0:
            high += (n - 1) * s
        else:
            low += (n - 1) * s
    return low, high


def as_strided(
    input: Tensor,  # noqa: A002
    size: Sequence[int],
    stride: Sequence[int],
    storage_offset: int | None = None,
) -> Tensor:
    """A view of input's memory with the given size, strides and offset (in elements), as
    `torch.as_strided`; the offset defaults to input's own. Differentiable.

    The view must stay inside the memory of the tensor it came from (its base): reading
    past it is a ShapeError, never an out-of-bounds read.
    """
    shape = tuple(as_int("as_strided", d, "each size") for d in size)
    strides = tuple(as_int("as_strided", s, "each stride") for s in stride)
    if len(shape) != len(strides) or any(d < 0 for d in shape):
        raise ShapeError(
            f"as_strided: size {shape} and stride {strides} need one entry per dim, sizes >= 0"
        )
    offset = (
        input._data.offset
        if storage_offset is None
        else as_int("as_strided", storage_offset, "storage_offset")
    )
    checked_nbytes("as_strided", shape, input.dtype)
    root = input._base if input._base is not None else input
    low, high = _span(shape, strides, offset)
    last = _span(root.shape, root._data.strides, root._data.offset)[1]
    if low <= high and (low < 0 or high > last):
        raise ShapeError(
            f"as_strided: size {shape}, stride {strides}, offset {offset} reads memory "
            f"positions {low}..{high}, outside the {last + 1} elements of the tensor's storage"
        )
    return AsStrided.apply(input, shape=shape, strides=strides, offset=offset)
