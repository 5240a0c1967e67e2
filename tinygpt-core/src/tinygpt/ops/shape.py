"""Shape functions: reshape, permute, broadcast, squeeze, cat/stack/split, pad, tril/triu, and
broadcasting matmul. All are views or built from the movement primitives."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..dtypes import bool_
from ..errors import DTypeError, ShapeError
from ..ndarray import broadcast_shapes, normalize_axis
from . import math as M
from .matmul import Matmul
from .movement import Cat, Contiguous, Expand, Pad, Permute, Reshape

if TYPE_CHECKING:
    from ..tensor import Tensor

__all__ = [
    "reshape",
    "permute",
    "transpose",
    "expand",
    "broadcast_to",
    "squeeze",
    "unsqueeze",
    "flatten",
    "contiguous",
    "cat",
    "stack",
    "split",
    "chunk",
    "pad",
    "tril",
    "triu",
    "matmul",
]


def _shape_args(shape: tuple) -> tuple[int, ...]:
    """Accept both f(2, 3) and f((2, 3)) like PyTorch."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def reshape(x: Tensor, *shape: int) -> Tensor:
    return Reshape.apply(x, shape=_shape_args(shape))


def permute(x: Tensor, *dims: int) -> Tensor:
    axes = tuple(normalize_axis("permute", d, x.ndim) for d in _shape_args(dims))
    return Permute.apply(x, axes=axes)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    axes = list(range(x.ndim))
    a = normalize_axis("transpose", dim0, x.ndim)
    b = normalize_axis("transpose", dim1, x.ndim)
    axes[a], axes[b] = axes[b], axes[a]
    return Permute.apply(x, axes=tuple(axes))


def expand(x: Tensor, *shape: int) -> Tensor:
    """Broadcast to `shape` without copying; -1 keeps a dim as it is."""
    target = _shape_args(shape)
    pad = len(target) - x.ndim
    if pad < 0:
        raise ShapeError(f"expand: cannot expand {x.shape} to fewer dims {target}")
    full = tuple(x.shape[i - pad] if d == -1 else d for i, d in enumerate(target))
    if full == x.shape:
        return x
    return Expand.apply(x, shape=full)


def broadcast_to(x: Tensor, *shape: int) -> Tensor:
    return expand(x, *shape)


def squeeze(x: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
    if dim is None:
        shape = tuple(d for d in x.shape if d != 1)
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        axes = {normalize_axis("squeeze", d, x.ndim) for d in dims}
        shape = tuple(d for i, d in enumerate(x.shape) if not (i in axes and d == 1))
    return x if shape == x.shape else Reshape.apply(x, shape=shape)


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    axis = normalize_axis("unsqueeze", dim, x.ndim + 1)
    return Reshape.apply(x, shape=x.shape[:axis] + (1,) + x.shape[axis:])


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    if x.ndim == 0:
        return reshape(x, 1)
    start = normalize_axis("flatten", start_dim, x.ndim)
    end = normalize_axis("flatten", end_dim, x.ndim)
    merged = 1
    for d in x.shape[start : end + 1]:
        merged *= d
    return Reshape.apply(x, shape=x.shape[:start] + (merged,) + x.shape[end + 1 :])


def contiguous(x: Tensor) -> Tensor:
    return x if x.data.is_contiguous() else Contiguous.apply(x)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    if not tensors:
        raise ShapeError("cat: expected a non-empty sequence of tensors")
    first = tensors[0]
    axis = normalize_axis("cat", dim, first.ndim)
    parts = [first]
    for t in tensors[1:]:
        M._check_devices("cat", first, t)
        same = t.ndim == first.ndim and all(
            a == b for i, (a, b) in enumerate(zip(t.shape, first.shape, strict=True)) if i != axis
        )
        if not same:
            shapes = ", ".join(str(x.shape) for x in tensors)
            raise ShapeError(f"cat: shapes {shapes} differ outside dim {axis}")
        parts.append(t)
    dtype = first.dtype
    for t in parts[1:]:
        if t.dtype != dtype:
            raise DTypeError(f"cat: dtypes {first.dtype} and {t.dtype} differ; use .to(dtype)")
    return Cat.apply(*parts, axis=axis)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    if not tensors:
        raise ShapeError("stack: expected a non-empty sequence of tensors")
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ShapeError(f"stack: all tensors must have one shape, got {sorted(shapes)}")
    axis = normalize_axis("stack", dim, tensors[0].ndim + 1)
    return cat([unsqueeze(t, axis) for t in tensors], axis)


def split(x: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0):
    """Pieces of `size` along `dim` (the last may be smaller), or of the given sizes."""
    axis = normalize_axis("split", dim, x.ndim)
    length = x.shape[axis]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        if size <= 0:
            raise ShapeError(f"split: size must be positive, got {size}")
        sizes = [min(size, length - start) for start in range(0, length, size)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != length:
            raise ShapeError(f"split: sizes {sizes} add up to {sum(sizes)}, dim {axis} is {length}")
    pieces = []
    start = 0
    for size in sizes:
        index = [slice(None)] * x.ndim
        index[axis] = slice(start, start + size)
        pieces.append(x[tuple(index)])
        start += size
    return tuple(pieces)


def chunk(x: Tensor, chunks: int, dim: int = 0):
    axis = normalize_axis("chunk", dim, x.ndim)
    size = -(-x.shape[axis] // chunks)  # ceil division, as in PyTorch
    return split(x, max(size, 1), axis)


def pad(x: Tensor, pads: Sequence[int], value: float = 0.0) -> Tensor:
    """Constant padding, pairs from the LAST dim backwards: (left, right, top, bottom, ...)."""
    if len(pads) % 2 or len(pads) // 2 > x.ndim:
        raise ShapeError(f"pad: {tuple(pads)} must hold (before, after) pairs for <= {x.ndim} dims")
    pairs = [(0, 0)] * x.ndim
    for i in range(len(pads) // 2):
        pairs[x.ndim - 1 - i] = (pads[2 * i], pads[2 * i + 1])
    if any(lo < 0 or hi < 0 for lo, hi in pairs):
        raise ShapeError(f"pad: negative padding {tuple(pads)} is not supported")
    return Pad.apply(x, pads=tuple(pairs), value=value)


def _band(x: Tensor, diagonal: int, lower: bool) -> Tensor:
    from ..creation import arange

    if x.ndim < 2:
        raise ShapeError(f"{'tril' if lower else 'triu'}: needs >= 2 dims, got {x.shape}")
    rows = arange(x.shape[-2], device=x.device).reshape(-1, 1)
    cols = arange(x.shape[-1], device=x.device).reshape(1, -1)
    offset = cols - rows  # (R, C): how far right of the diagonal each element is
    keep = (offset <= diagonal) if lower else (offset >= diagonal)
    return M.where(keep, x, False if x.dtype == bool_ else 0)


def tril(x: Tensor, diagonal: int = 0) -> Tensor:
    return _band(x, diagonal, lower=True)


def triu(x: Tensor, diagonal: int = 0) -> Tensor:
    return _band(x, diagonal, lower=False)


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """NumPy-style matmul: 1-D operands are promoted and squeezed, batch dims broadcast."""
    b = M.as_tensor_like(b, a)
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: both operands need >= 1 dim, got {a.shape} @ {b.shape}")
    a, b = M._promote("matmul", a, b)
    a2 = unsqueeze(a, 0) if a.ndim == 1 else a
    b2 = unsqueeze(b, -1) if b.ndim == 1 else b
    if a2.shape[-1] != b2.shape[-2]:
        raise ShapeError(
            f"matmul: {a.shape} @ {b.shape}: inner dimensions {a2.shape[-1]} and "
            f"{b2.shape[-2]} differ"
        )
    try:
        batch = broadcast_shapes("matmul", a2.shape[:-2], b2.shape[:-2])
    except ShapeError:
        raise ShapeError(
            f"matmul: {a.shape} @ {b.shape}: batch dimensions {a2.shape[:-2]} and "
            f"{b2.shape[:-2]} do not broadcast"
        ) from None
    if a2.shape[:-2] != batch:
        a2 = expand(a2, *(batch + a2.shape[-2:]))
    if b2.shape[:-2] != batch:
        b2 = expand(b2, *(batch + b2.shape[-2:]))
    out = Matmul.apply(a2, b2)
    if a.ndim == 1:
        out = squeeze(out, -2)
    if b.ndim == 1:
        out = squeeze(out, -1)
    return out
