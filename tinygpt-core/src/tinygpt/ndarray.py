"""NDArray: a strided view over a backend's flat buffer.

An NDArray is metadata (shape, strides, offset, dtype) plus a backend buffer. Element
``(i0, i1, ...)`` lives at ``buffer[offset + i0*strides[0] + i1*strides[1] + ...]``, strides
counted in elements. Every movement op here (reshape, permute, broadcast, slicing, squeeze)
only computes new metadata: views never call a backend. Only `compact` (and a `reshape` that
strides cannot express) asks the backend for a copy.

>>> strides_for((2, 3, 4))
(12, 4, 1)
"""

from __future__ import annotations

import operator
import sys
from typing import TYPE_CHECKING, Any

from .errors import DTypeError, OutOfMemoryError, ShapeError

if TYPE_CHECKING:
    from .backend.protocol import Backend
    from .dtypes import DType

__all__ = [
    "NDArray",
    "strides_for",
    "prod",
    "MAX_BYTES",
    "as_int",
    "checked_nbytes",
    "format_bytes",
    "broadcast_shapes",
    "normalize_axis",
    "WHOLE",
]

#: The most bytes one array may span: what a C `Py_ssize_t` (a pointer difference) can count.
#: Backends index their buffers with it, so a larger size would wrap around in C.
MAX_BYTES = sys.maxsize


def prod(shape: tuple[int, ...]) -> int:
    """The number of elements of `shape` (1 for a 0-d shape).

    Exact, as Python ints never overflow; whether that many elements fit in memory is
    `checked_nbytes`'s question, asked wherever a buffer is made or a view is built.
    """
    n = 1
    for d in shape:
        n *= d
    return n


def as_int(op: str, value: Any, what: str) -> int:
    """`value` (a size, a count) as an int: NumPy's ints pass, a float is a DTypeError (as in
    PyTorch, which never rounds a size for you)."""
    try:
        return operator.index(value)
    except TypeError:
        raise DTypeError(
            f"{op}: {what} must be an int, got {value!r} ({type(value).__name__}); "
            "use int(...) to round it first"
        ) from None


def format_bytes(n: int) -> str:
    """A byte count for people: `format_bytes(3 << 30)` is '3.0 GiB'."""
    value = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024:
            return f"{n} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} EiB"


def checked_nbytes(op: str, shape: tuple[int, ...], dtype: DType) -> int:
    """The bytes an array of `shape` and `dtype` spans, after checking that C can count them.

    More than `MAX_BYTES` raises OutOfMemoryError before anything is allocated: `zeros:
    (2305843009213693952,) float32 needs 9223372036854775808 bytes (8.0 EiB); that is more
    than this machine can address`.

    >>> from tinygpt.dtypes import float32
    >>> checked_nbytes("zeros", (2, 3), float32)
    24
    """
    nbytes = prod(shape) * dtype.itemsize
    if nbytes > MAX_BYTES:
        raise OutOfMemoryError(
            f"{op}: {shape} {dtype} needs {nbytes} bytes ({format_bytes(nbytes)}); that is "
            "more than this machine can address"
        )
    return nbytes


_STRIDES_CACHE: dict[tuple[int, ...], tuple[int, ...]] = {}


def strides_for(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Row-major (C-contiguous) strides, in elements, of a dense array of `shape`."""
    cached = _STRIDES_CACHE.get(shape)
    if cached is not None:
        return cached
    if len(_STRIDES_CACHE) > 4096:  # shapes seen in a training loop repeat: keep it bounded
        _STRIDES_CACHE.clear()
    strides = [0] * len(shape)
    step = 1
    for i in range(len(shape) - 1, -1, -1):
        strides[i] = step
        step *= shape[i]
    _STRIDES_CACHE[shape] = result = tuple(strides)
    return result


def broadcast_shapes(op: str, *shapes: tuple[int, ...]) -> tuple[int, ...]:
    """NumPy broadcasting of `shapes`; a ShapeError names the op and the shapes."""
    ndim = max(len(s) for s in shapes)
    out = [1] * ndim
    for shape in shapes:
        pad = ndim - len(shape)
        for i, d in enumerate(shape):
            current = out[pad + i]
            if current == 1:
                out[pad + i] = d
            elif d != 1 and d != current:
                shown = " and ".join(str(s) for s in shapes)
                raise ShapeError(f"{op}: shapes {shown} do not broadcast (dim {pad + i})")
    return tuple(out)


def normalize_axis(op: str, axis: int, ndim: int) -> int:
    """A possibly negative axis as an index in [0, ndim)."""
    if not -ndim <= axis < max(ndim, 1):
        raise ShapeError(f"{op}: dim {axis} is out of range for a tensor with {ndim} dims")
    return axis % ndim if ndim else 0


class NDArray:
    """A strided view: backend buffer + shape + strides + offset + dtype."""

    __slots__ = ("backend", "buffer", "shape", "strides", "offset", "dtype")

    def __init__(
        self,
        backend: Backend,
        buffer: Any,
        shape: tuple[int, ...],
        dtype: DType,
        strides: tuple[int, ...] | None = None,
        offset: int = 0,
    ) -> None:
        self.backend = backend
        self.buffer = buffer
        self.shape = shape
        self.dtype = dtype
        if strides is None:
            # the cache lookup inline: a dense result is made once per op (per-op overhead)
            strides = _STRIDES_CACHE.get(shape)
            if strides is None:
                strides = strides_for(shape)
        self.strides = strides
        self.offset = offset

    # ----------------------------------------------------------------- facts
    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return prod(self.shape)

    @property
    def device(self):  # -> Device
        return self.backend.device

    def is_contiguous(self) -> bool:
        """True when the elements are dense and row-major (the offset may be non-zero)."""
        expected = 1
        for d, s in zip(reversed(self.shape), reversed(self.strides), strict=True):
            if d != 1 and s != expected:
                return False
            expected *= d
        return True

    def __repr__(self) -> str:
        return (
            f"NDArray(shape={self.shape}, strides={self.strides}, offset={self.offset}, "
            f"dtype={self.dtype}, device={self.device})"
        )

    # ------------------------------------------------------------ views
    def view(self, shape: tuple[int, ...], strides: tuple[int, ...], offset: int) -> NDArray:
        """A new view of the same buffer (no backend call)."""
        return NDArray(self.backend, self.buffer, shape, self.dtype, strides, offset)

    def compact(self) -> NDArray:
        """This array if it is contiguous, else a dense copy made by the backend."""
        if self.is_contiguous():
            return self
        return NDArray(self.backend, self.backend.copy(self), self.shape, self.dtype)

    def permute(self, axes: tuple[int, ...]) -> NDArray:
        """Reorder dims: result dim i is input dim axes[i]."""
        if sorted(axes) != list(range(self.ndim)):
            raise ShapeError(f"permute: {axes} is not a permutation of the {self.ndim} dims")
        shape = tuple(self.shape[a] for a in axes)
        strides = tuple(self.strides[a] for a in axes)
        return self.view(shape, strides, self.offset)

    def transpose(self, dim0: int, dim1: int) -> NDArray:
        axes = list(range(self.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return self.permute(tuple(axes))

    def broadcast_to(self, shape: tuple[int, ...]) -> NDArray:
        """Stretch size-1 dims (and new leading dims) to `shape` with stride 0."""
        if shape == self.shape:
            return self
        pad = len(shape) - self.ndim
        if pad < 0:
            raise ShapeError(f"broadcast_to: cannot broadcast {self.shape} to fewer dims {shape}")
        if min(shape, default=0) < 0:
            raise ShapeError(f"broadcast_to: negative dimension in {tuple(shape)}")
        # NOTE: a view allocates nothing, but a kernel that reads it counts its elements in C
        checked_nbytes("broadcast_to", tuple(shape), self.dtype)
        strides = [0] * len(shape)
        for i, (d, s) in enumerate(zip(self.shape, self.strides, strict=True)):
            target = shape[pad + i]
            if d == target:
                strides[pad + i] = s
            elif d != 1:
                raise ShapeError(f"broadcast_to: cannot broadcast {self.shape} to {shape}")
        return self.view(tuple(shape), tuple(strides), self.offset)

    def reshape(self, shape: tuple[int, ...]) -> NDArray:
        """Same elements in a new shape: a view when the strides allow it, else a copy."""
        key = (self.shape, self.strides, shape)
        # subtle: (2, 3.0) == (2, 3) as a dict key; only sizes that are all ints may use a plan
        # made earlier, so a float size still reaches _infer_shape's error
        plan = _RESHAPES.get(key) if all(type(size) is int for size in shape) else None
        if plan is None:
            # a training step reshapes the same few layouts over and over: remember them
            resolved = _infer_shape(shape, self.size, self.shape)
            plan = (resolved, _reshape_strides(self.shape, self.strides, resolved))
            if len(_RESHAPES) >= _RESHAPE_CACHE_LIMIT:
                _RESHAPES.clear()
            _RESHAPES[key] = plan
        shape, strides = plan
        if shape == self.shape:
            return self
        if strides is None:
            return self.compact().reshape(shape)
        return NDArray(self.backend, self.buffer, shape, self.dtype, strides, self.offset)

    def squeeze(self, axes: tuple[int, ...] | None = None) -> NDArray:
        """Drop size-1 dims (all of them, or those in `axes` that have size 1)."""
        if axes is None:
            keep = [i for i, d in enumerate(self.shape) if d != 1]
        else:
            keep = [i for i, d in enumerate(self.shape) if not (i in axes and d == 1)]
        shape = tuple(self.shape[i] for i in keep)
        strides = tuple(self.strides[i] for i in keep)
        return self.view(shape, strides, self.offset)

    def unsqueeze(self, axis: int) -> NDArray:
        """Insert a size-1 dim at `axis` (0 <= axis <= ndim)."""
        shape = self.shape[:axis] + (1,) + self.shape[axis:]
        strides = self.strides[:axis] + (0,) + self.strides[axis:]
        return self.view(shape, strides, self.offset)

    def flatten(self) -> NDArray:
        return self.reshape((self.size,))

    def slice(self, items: tuple[int | slice | None, ...]) -> NDArray:
        """Basic indexing: one entry per dim (int, slice) plus None for new dims.

        Ellipsis must already be expanded and the tuple must cover every dim.
        """
        shape: list[int] = []
        strides: list[int] = []
        offset = self.offset
        dim = 0
        for item in items:
            if item is None:
                shape.append(1)
                strides.append(0)
                continue
            size = self.shape[dim]
            stride = self.strides[dim]
            if item is WHOLE:  # a whole dim (`x[i]`'s trailing dims): nothing to compute
                shape.append(size)
                strides.append(stride)
            elif isinstance(item, slice):
                start, stop, step = item.indices(size)
                length = len(range(start, stop, step))
                if length:
                    offset += start * stride
                shape.append(length)
                strides.append(stride * step)
            else:
                index = int(item)
                if not -size <= index < size:
                    raise IndexError(
                        f"index {index} is out of bounds for dim {dim} with size {size}"
                    )
                offset += (index % size) * stride
            dim += 1
        return NDArray(self.backend, self.buffer, tuple(shape), self.dtype, tuple(strides), offset)


#: `slice(None)`: an index item that keeps a whole dim; `NDArray.slice` knows it by identity
WHOLE = slice(None)

#: (shape, strides, requested shape) -> (resolved shape, view strides or None: copy)
_RESHAPES: dict[tuple, tuple[tuple[int, ...], tuple[int, ...] | None]] = {}
_RESHAPE_CACHE_LIMIT = 4096


def _infer_shape(shape: tuple[int, ...], size: int, old: tuple[int, ...]) -> tuple[int, ...]:
    """Resolve one -1 in `shape` and check the element count."""
    shape = tuple(as_int("reshape", d, "each size") for d in shape)  # never round 2.5 to 2
    unknown = [i for i, d in enumerate(shape) if d == -1]
    if len(unknown) > 1:
        raise ShapeError(f"reshape: only one dim can be -1, got {shape}")
    known = prod(tuple(d for d in shape if d != -1))
    if unknown:
        if known == 0 or size % known:
            raise ShapeError(f"reshape: cannot reshape {old} ({size} elements) into {shape}")
        shape = shape[: unknown[0]] + (size // known,) + shape[unknown[0] + 1 :]
    if any(d < 0 for d in shape) or prod(shape) != size:
        raise ShapeError(f"reshape: cannot reshape {old} ({size} elements) into {shape}")
    return shape


def _reshape_strides(
    old_shape: tuple[int, ...], old_strides: tuple[int, ...], new_shape: tuple[int, ...]
) -> tuple[int, ...] | None:
    """Strides that show the same elements in `new_shape`, or None if a copy is needed.

    Walk both shapes grouping dims whose products match; each group of old dims must be
    "chained" (stride[i] == stride[i+1] * shape[i+1]) to be re-split freely.
    """
    old = [(d, s) for d, s in zip(old_shape, old_strides, strict=True) if d != 1]
    if prod(new_shape) == 0:
        return strides_for(new_shape)
    new_strides = [0] * len(new_shape)
    oi = 0
    ni = 0
    while ni < len(new_shape):
        if new_shape[ni] == 1:
            new_strides[ni] = 0
            ni += 1
            continue
        # grow a group of old dims and new dims until their element counts agree
        group_old = [old[oi]]
        old_count = old[oi][0]
        oi += 1
        group_new = [ni]
        new_count = new_shape[ni]
        ni += 1
        while old_count != new_count:
            if old_count < new_count:
                group_old.append(old[oi])
                old_count *= old[oi][0]
                oi += 1
            else:
                group_new.append(ni)
                new_count *= new_shape[ni]
                ni += 1
        for (_, s0), (d1, s1) in zip(group_old, group_old[1:], strict=False):
            if s0 != s1 * d1:
                return None
        # re-split the chained group from its innermost stride outwards
        step = group_old[-1][1]
        for j in reversed(group_new):
            new_strides[j] = step
            step *= new_shape[j]
    return tuple(new_strides)
