"""More shape ops with PyTorch's names, all views or compositions of `movement.py`'s
primitives (so they need no backward of their own): stacking (`hstack`, `vstack`, `dstack`,
`column_stack`), `atleast_*d`, moving dims (`movedim`, `swapaxes`), `tile`, `roll`, `rot90`,
`unflatten`, splitting (`tensor_split`, `hsplit`, ...), `select`, `take` and sliding windows
(`unfold`).

>>> import tinygpt as tg
>>> tg.roll(tg.tensor([1, 2, 3, 4]), 1).tolist()
[4, 1, 2, 3]
>>> tg.hstack([tg.tensor([1, 2]), tg.tensor([3])]).tolist()
[1, 2, 3]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..creation import arange
from ..dtypes import int64, promote_types
from ..errors import ShapeError
from ..ndarray import normalize_axis
from ..tensor import Tensor
from .indexing import index_select
from .movement import cat, permute, reshape, transpose
from .promotion import cast
from .views import flip, narrow, repeat

__all__ = [
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "column_stack",
    "dsplit",
    "dstack",
    "hsplit",
    "hstack",
    "movedim",
    "ravel",
    "roll",
    "rot90",
    "same_dtype",
    "select",
    "swapaxes",
    "take",
    "tensor_split",
    "tile",
    "unflatten",
    "unfold",
    "vsplit",
    "vstack",
]


def same_dtype(tensors: Sequence[Tensor]) -> list[Tensor]:
    """The tensors cast to their promoted dtype (PyTorch's stacking functions promote)."""
    if not tensors:
        raise ShapeError("stack: expected a non-empty sequence of tensors")
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = promote_types(dtype, t.dtype)
    return [cast(t, dtype) for t in tensors]


# ------------------------------------------------------------------ at least n dims
def _atleast(tensors: tuple[Any, ...], rank: int) -> Any:
    """`atleast_nd(x)` returns a tensor; `atleast_nd(x, y)` or `atleast_nd([x, y])` a tuple."""
    many = len(tensors) != 1 or isinstance(tensors[0], (list, tuple))
    items = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    out = tuple(_raise_rank(t, rank) for t in items)
    return out if many else out[0]


def _raise_rank(x: Tensor, rank: int) -> Tensor:
    if x.ndim >= rank:
        return x
    if x.ndim == 0:
        return reshape(x, *([1] * rank))
    if rank == 2 or x.ndim == 2:  # (n,) -> (1, n);  (m, n) -> (m, n, 1)
        return reshape(x, 1, *x.shape) if rank == 2 else reshape(x, *x.shape, 1)
    return reshape(x, 1, x.shape[0], 1)  # rank 3 from (n,): (1, n, 1), as NumPy


def atleast_1d(*tensors: Any) -> Any:
    return _atleast(tensors, 1)


def atleast_2d(*tensors: Any) -> Any:
    return _atleast(tensors, 2)


def atleast_3d(*tensors: Any) -> Any:
    return _atleast(tensors, 3)


# ------------------------------------------------------------------ stacking
def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate along dim 1 (dim 0 for 1-D tensors)."""
    parts = [_raise_rank(t, 1) for t in same_dtype(tensors)]
    return cat(parts, 0 if parts[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate along dim 0, 1-D tensors becoming rows (1, n)."""
    return cat([_raise_rank(t, 2) for t in same_dtype(tensors)], 0)


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate along dim 2 (depth), after `atleast_3d`."""
    return cat([_raise_rank(t, 3) for t in same_dtype(tensors)], 2)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate along dim 1, 0-D and 1-D tensors becoming columns (n, 1)."""
    parts = [reshape(t, t.numel(), 1) if t.ndim < 2 else t for t in same_dtype(tensors)]
    return cat(parts, 1)


# ------------------------------------------------------------------ moving dims
def ravel(x: Tensor) -> Tensor:
    return reshape(x, -1)


def swapaxes(x: Tensor, axis0: int, axis1: int) -> Tensor:
    return transpose(x, axis0, axis1)


def movedim(x: Tensor, source: int | Sequence[int], destination: int | Sequence[int]) -> Tensor:
    """Move dims `source` to positions `destination`, the others keeping their order."""
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    if len(src) != len(dst):
        raise ShapeError(
            f"movedim: source {tuple(src)} and destination {tuple(dst)} differ in length"
        )
    src = [normalize_axis("movedim", d, x.ndim) for d in src]
    dst = [normalize_axis("movedim", d, x.ndim) for d in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ShapeError(f"movedim: repeated dim in source {src} or destination {dst}")
    order: list[int | None] = [None] * x.ndim
    for s, d in zip(src, dst, strict=True):
        order[d] = s
    rest = iter(d for d in range(x.ndim) if d not in src)
    dims = [next(rest) if d is None else d for d in order]
    return permute(x, *dims)


def unflatten(x: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    """Split dim `dim` into `sizes` (one of them may be -1)."""
    axis = normalize_axis("unflatten", dim, x.ndim)
    shape = list(x.shape[:axis]) + list(sizes) + list(x.shape[axis + 1 :])
    known = 1
    for s in sizes:
        known *= s if s != -1 else 1
    if -1 not in sizes and known != x.shape[axis]:
        raise ShapeError(
            f"unflatten: sizes {tuple(sizes)} multiply to {known}, but dim {axis} of "
            f"{tuple(x.shape)} has {x.shape[axis]}"
        )
    return reshape(x, *shape)


# ------------------------------------------------------------------ tiling, rolling
def tile(x: Tensor, dims: Sequence[int]) -> Tensor:
    """Repeat x `dims[i]` times along each dim (NumPy's tile: missing dims count as 1)."""
    dims = list(dims)
    if len(dims) < x.ndim:
        dims = [1] * (x.ndim - len(dims)) + dims
    return repeat(x, *dims)


def roll(x: Tensor, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None) -> Tensor:
    """Shift elements along dims, wrapping around; no dims: over the flattened tensor."""
    if dims is None:
        if not isinstance(shifts, int):
            if len(shifts) != 1:
                raise ShapeError(f"roll: {len(shifts)} shifts need as many dims")
            shifts = shifts[0]
        return reshape(roll(reshape(x, -1), shifts, 0), *x.shape)
    shift_list = [shifts] if isinstance(shifts, int) else list(shifts)
    dim_list = [dims] if isinstance(dims, int) else list(dims)
    if len(shift_list) != len(dim_list):
        raise ShapeError(f"roll: shifts {shift_list} and dims {dim_list} differ in length")
    for shift, dim in zip(shift_list, dim_list, strict=True):
        axis = normalize_axis("roll", dim, x.ndim)
        n = x.shape[axis]
        s = shift % n if n else 0
        if s:
            # the last s elements come first
            x = cat([narrow(x, axis, n - s, s), narrow(x, axis, 0, n - s)], axis)
    return x


def rot90(x: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    """Rotate by 90 degrees k times in the plane of `dims` (from the first towards the second)."""
    if len(dims) != 2 or x.ndim < 2:
        raise ShapeError(f"rot90: needs two dims of a tensor with >= 2 dims, got {tuple(dims)}")
    d0, d1 = (normalize_axis("rot90", d, x.ndim) for d in dims)
    if d0 == d1:
        raise ShapeError(f"rot90: dims {tuple(dims)} must differ")
    k %= 4
    if k == 1:
        return transpose(flip(x, d1), d0, d1)
    if k == 2:
        return flip(x, d0, d1)
    if k == 3:
        return transpose(flip(x, d0), d0, d1)
    return x.clone()


# ------------------------------------------------------------------ splitting
def tensor_split(x: Tensor, indices_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Views of x split into n nearly equal parts (an int) or at the given indices (a list)."""
    axis = normalize_axis("tensor_split", dim, x.ndim)
    n = x.shape[axis]
    spec = indices_or_sections
    if isinstance(spec, Tensor):
        spec = spec.tolist()
    if isinstance(spec, int):
        if spec <= 0:
            raise ValueError(f"tensor_split: sections must be >= 1, got {spec}")
        size, extra = divmod(n, spec)
        bounds = [i * size + min(i, extra) for i in range(spec + 1)]
    else:
        bounds = [0] + [min(max(int(i) + (n if int(i) < 0 else 0), 0), n) for i in spec] + [n]
    parts = []
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        parts.append(narrow(x, axis, start, max(stop - start, 0)))
    return tuple(parts)


def _split_on(op: str, x: Tensor, spec: Any, dim: int, rank: int) -> tuple[Tensor, ...]:
    if x.ndim < rank:
        raise ShapeError(f"{op}: needs a tensor with >= {rank} dims, got shape {tuple(x.shape)}")
    if isinstance(spec, int) and x.shape[dim] % spec:
        raise ShapeError(
            f"{op}: dim {dim} of size {x.shape[dim]} does not divide into {spec} equal parts; "
            "use tensor_split for unequal parts"
        )
    return tensor_split(x, spec, dim)


def hsplit(x: Tensor, spec: Any) -> tuple[Tensor, ...]:
    return _split_on("hsplit", x, spec, 1 if x.ndim >= 2 else 0, 1)


def vsplit(x: Tensor, spec: Any) -> tuple[Tensor, ...]:
    return _split_on("vsplit", x, spec, 0, 2)


def dsplit(x: Tensor, spec: Any) -> tuple[Tensor, ...]:
    return _split_on("dsplit", x, spec, 2, 3)


# ------------------------------------------------------------------ picking elements
def select(x: Tensor, dim: int, index: int) -> Tensor:
    """The slice at `index` of dim `dim`, that dim removed (a view), as x[:, index]."""
    axis = normalize_axis("select", dim, x.ndim)
    n = x.shape[axis]
    if not -n <= index < n:
        raise IndexError(f"select: index {index} is out of range for dim {axis} of size {n}")
    return x[(slice(None),) * axis + (index,)]


def take(x: Tensor, index: Tensor) -> Tensor:
    """Elements of flattened x at `index` (any shape), as `x.reshape(-1)[index]`."""
    return reshape(x, -1)[index]


def unfold(x: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """Every window of `size` elements along `dimension`, `step` apart, as a new last dim:
    (..., n, ...) -> (..., (n - size) // step + 1, ..., size)."""
    axis = normalize_axis("unfold", dimension, max(x.ndim, 1))
    if x.ndim == 0:
        x = reshape(x, 1)
    n = x.shape[axis]
    if size > n or size < 0 or step <= 0:
        raise ShapeError(
            f"unfold: size {size} and step {step} do not fit dim {axis} of size {n} "
            "(need 0 <= size <= dim size and step > 0)"
        )
    count = (n - size) // step + 1
    starts = arange(count, dtype=int64, device=x.device) * step
    index = starts.unsqueeze(1) + arange(size, dtype=int64, device=x.device).unsqueeze(0)
    picked = index_select(x, axis, reshape(index, -1))  # (..., count * size, ...)
    windows = unflatten(picked, axis, (count, size))  # (..., count, size, ...)
    return movedim(windows, axis + 1, -1)  # (..., count, ..., size)
