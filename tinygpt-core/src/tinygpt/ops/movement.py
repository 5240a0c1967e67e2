"""Movement ops: views that change shape, strides or device, never values.

Reshape, permute, expand, slicing and split only compute new strides over the same buffer
(`ndarray.py`); their backward moves the gradient back the opposite way. `Expand` is the one
op that broadcasts, so its backward is the one place that un-broadcasts (sums over the
stretched dims). Cat, pad, contiguous, clone and `to(device)` are the ones that copy.

>>> import tinygpt as tg
>>> a, b = tg.arange(6.0).reshape(2, 3).split(2, dim=1)
>>> a.tolist(), b.tolist()
([[0.0, 1.0], [3.0, 4.0]], [[2.0], [5.0]])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import array_ops as A
from ..autograd.function import Function
from ..backend.registry import get_backend
from ..device import Device
from ..dtypes import as_dtype
from ..errors import DTypeError, ShapeError
from ..ndarray import NDArray, as_int, broadcast_shapes, checked_nbytes, normalize_axis
from ..tensor import Tensor
from .promotion import cast, check_devices

__all__ = [
    "Expand",
    "Reshape",
    "Permute",
    "Slice",
    "Split",
    "Pad",
    "Cat",
    "Contiguous",
    "Clone",
    "ToDevice",
    "reshape",
    "permute",
    "transpose",
    "reverse_dims",
    "expand",
    "broadcast_to",
    "broadcast_tensors",
    "squeeze",
    "unsqueeze",
    "flatten",
    "contiguous",
    "clone",
    "cat",
    "stack",
    "split",
    "chunk",
    "unbind",
    "pad",
    "to",
]


class Expand(Function):
    def forward(self, x: NDArray, shape: tuple[int, ...] = ()) -> NDArray:
        self.shape = x.shape
        return x.broadcast_to(shape)

    def backward(self, grad: NDArray) -> NDArray:
        return A.unbroadcast(grad, self.shape)


class Reshape(Function):
    def forward(self, x: NDArray, shape: tuple[int, ...] = ()) -> NDArray:
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, grad: NDArray) -> NDArray:
        return grad.reshape(self.shape)


class Permute(Function):
    def forward(self, x: NDArray, axes: tuple[int, ...] = ()) -> NDArray:
        self.axes = axes
        return x.permute(axes)

    def backward(self, grad: NDArray) -> NDArray:
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return grad.permute(tuple(inverse))


class Contiguous(Function):
    def forward(self, x: NDArray) -> NDArray:
        return x.compact()

    def backward(self, grad: NDArray) -> NDArray:
        return grad


class Clone(Function):
    def forward(self, x: NDArray) -> NDArray:
        return NDArray(x.backend, x.backend.copy(x), x.shape, x.dtype)

    def backward(self, grad: NDArray) -> NDArray:
        return grad


class Slice(Function):
    """Basic indexing (ints, slices, None): a view; backward writes into zeros."""

    def forward(self, x: NDArray, items: tuple = ()) -> NDArray:
        self.items = items
        self.shape = x.shape
        return x.slice(items)

    def backward(self, grad: NDArray) -> NDArray:
        out = A.zeros(grad, self.shape)
        window = out.slice(self.items)
        A.write(window, grad)
        return out


class Pad(Function):
    """Constant padding: `pads` is one (before, after) pair per dim, all non-negative."""

    def forward(self, x: NDArray, pads: tuple = (), value: float = 0.0) -> NDArray:
        shape = tuple(d + lo + hi for d, (lo, hi) in zip(x.shape, pads, strict=True))
        self.window = tuple(slice(lo, lo + d) for d, (lo, _) in zip(x.shape, pads, strict=True))
        out = A.full(x, shape, value)
        A.write(out.slice(self.window), x)
        return out

    def backward(self, grad: NDArray) -> NDArray:
        return grad.slice(self.window)


class Cat(Function):
    """Concatenate along `axis`; backward slices the gradient back apart."""

    def forward(self, *xs: NDArray, axis: int = 0) -> NDArray:
        shape = list(xs[0].shape)
        shape[axis] = sum(x.shape[axis] for x in xs)
        self.windows = _windows(len(shape), axis, [x.shape[axis] for x in xs])
        out = A.zeros(xs[0], tuple(shape))
        for x, window in zip(xs, self.windows, strict=True):
            A.write(out.slice(window), x)
        return out

    def backward(self, grad: NDArray) -> tuple[NDArray, ...]:
        return tuple(grad.slice(w) for w in self.windows)


class Split(Function):
    """Pieces of `sizes` along `axis`, as views: one node with several outputs.

    Backward writes each piece's gradient into its window of one input-sized buffer (zeros
    where a piece got none), so `q, k, v = qkv.split(C, 2)` costs one gradient, not three.
    """

    def forward(self, x: NDArray, axis: int = 0, sizes: tuple[int, ...] = ()) -> tuple:
        self.shape = x.shape
        self.windows = _windows(x.ndim, axis, sizes)
        return tuple(x.slice(w) for w in self.windows)

    def backward(self, *grads: NDArray | None) -> NDArray:
        first = next(g for g in grads if g is not None)
        out = A.zeros(first, self.shape)
        for window, g in zip(self.windows, grads, strict=True):
            if g is not None:
                A.write(out.slice(window), g)
        return out


class ToDevice(Function):
    """Copy to another device (through host memory); the gradient goes back the same way."""

    def forward(self, x: NDArray, backend: Any = None) -> NDArray:
        self.source = x.backend
        return _transfer(x, backend)

    def backward(self, grad: NDArray) -> NDArray:
        return _transfer(grad, self.source)


def _transfer(x: NDArray, backend: Any) -> NDArray:
    if x.dtype not in backend.dtypes:
        raise DTypeError(f"to: device {backend.device} does not support {x.dtype}")
    host = memoryview(x.backend.to_host(x)).cast("B")
    return NDArray(backend, backend.from_host(host, x.dtype), x.shape, x.dtype)


def _windows(ndim: int, axis: int, sizes: Sequence[int]) -> list[tuple[slice, ...]]:
    """One basic index per piece: consecutive `sizes` along `axis`, everything elsewhere."""
    windows = []
    start = 0
    for size in sizes:
        window = [slice(None)] * ndim
        window[axis] = slice(start, start + size)
        windows.append(tuple(window))
        start += size
    return windows


# ------------------------------------------------------------------ functions
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
    target = tuple(as_int("expand", d, "each size") for d in _shape_args(shape))
    pad = len(target) - x.ndim
    if pad < 0:
        raise ShapeError(f"expand: cannot expand {x.shape} to fewer dims {target}")
    for i, d in enumerate(target):
        if d == -1 and i < pad:
            raise ShapeError(
                f"expand: {x.shape} to {target}: size -1 keeps an existing dim, but dim {i} is "
                "a new leading one; give its size (>= 0)"
            )
        if d < -1:
            raise ShapeError(
                f"expand: {x.shape} to {target}: size {d} at dim {i} is invalid; sizes must be "
                ">= 0 (or -1 to keep a dim as it is)"
            )
    full = tuple(x.shape[i - pad] if d == -1 else d for i, d in enumerate(target))
    if full == x.shape:
        return x
    checked_nbytes("expand", full, x.dtype)  # a view, but kernels count its elements in C
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
    return x if x._data.is_contiguous() else Contiguous.apply(x)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    if not tensors:
        raise ShapeError("cat: expected a non-empty sequence of tensors")
    first = tensors[0]
    axis = normalize_axis("cat", dim, first.ndim)
    parts = [first]
    for t in tensors[1:]:
        check_devices("cat", first, t)
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
        sizes = [as_int("split", s, "each size") for s in split_size_or_sections]
        if any(s < 0 for s in sizes):
            raise ShapeError(f"split: sizes {sizes} must all be >= 0 (as in PyTorch)")
        if sum(sizes) != length:
            raise ShapeError(f"split: sizes {sizes} add up to {sum(sizes)}, dim {axis} is {length}")
    return Split.apply(x, axis=axis, sizes=tuple(sizes))


def chunk(x: Tensor, chunks: int, dim: int = 0):
    axis = normalize_axis("chunk", dim, x.ndim)
    chunks = as_int("chunk", chunks, "chunks")
    if chunks <= 0:
        raise ShapeError(
            f"chunk: chunks must be greater than 0, got {chunks} (splitting {x.shape} along "
            f"dim {axis}); ask for 1 or more pieces"
        )
    if x.shape[axis] == 0:
        return split(x, [0] * chunks, axis)  # as PyTorch: `chunks` empty pieces
    size = -(-x.shape[axis] // chunks)  # ceil division, as in PyTorch
    return split(x, size, axis)


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


def unbind(x: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices along `dim`, that dim removed: (T, ...) -> T tensors (...)."""
    axis = normalize_axis("unbind", dim, x.ndim)
    pieces = Split.apply(x, axis=axis, sizes=(1,) * x.shape[axis])
    return tuple(Reshape.apply(p, shape=p.shape[:axis] + p.shape[axis + 1 :]) for p in pieces)


def reverse_dims(x: Tensor) -> Tensor:
    """`x.T`: all dims reversed, as a view."""
    return Permute.apply(x, axes=tuple(reversed(range(x.ndim))))


def clone(x: Tensor) -> Tensor:
    return Clone.apply(x)


def broadcast_tensors(*tensors: Tensor) -> tuple[Tensor, ...]:
    """Views of all the tensors expanded to their common broadcast shape."""
    shape = broadcast_shapes("broadcast_tensors", *(t.shape for t in tensors))
    return tuple(expand(t, *shape) for t in tensors)


def to(x: Tensor, *args: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """`x.to("cpu")`, `x.to(tg.float64)`, `x.to("cuda", tg.float16)`, `x.to(other)` (other's
    device and dtype); differentiable."""
    for arg in args:
        if isinstance(arg, Tensor):
            device, dtype = arg.device, arg.dtype
        elif isinstance(arg, (Device, str)) and not _names_dtype(arg):
            device = arg
        else:
            dtype = arg
    out = x
    if device is not None:
        target = get_backend(device)
        if target is not out._data.backend:
            out = ToDevice.apply(out, backend=target)
    if dtype is not None:
        out = cast(out, as_dtype(dtype))
    return out


def _names_dtype(arg: object) -> bool:
    try:
        as_dtype(arg)
    except DTypeError:
        return False
    return True
