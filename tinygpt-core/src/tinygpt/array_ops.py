"""Thin NDArray-level helpers: call one backend kernel, wrap its buffer in a dense NDArray.

This is the one layer of core that calls a backend's compute kernels. Autograd primitives
(`tinygpt.ops`) write both `forward` and `backward` with these, so every formula reads as
maths on arrays while each line is exactly one kernel call.
"""

from __future__ import annotations

from typing import Any

from .dtypes import DType, bool_, int64
from .ndarray import NDArray, broadcast_shapes, prod

__all__ = [
    "unary",
    "binary",
    "scalar",
    "where",
    "reduce",
    "arg_reduce",
    "matmul",
    "cast",
    "zeros",
    "full",
    "gather",
    "scatter_add",
    "unbroadcast",
    "expand_like",
    "copy",
    "write",
    "fill",
    "wrap",
    "fused",
    "fused_call",
]

_COMPARISONS = frozenset({"eq", "ne", "lt", "le", "gt", "ge"})


def _dense(x: NDArray, buffer: object, shape: tuple[int, ...], dtype: DType) -> NDArray:
    return NDArray(x.backend, buffer, shape, dtype)


# NOTE: unary, binary and scalar build their NDArray directly rather than through `_dense`:
# they run once per elementwise op, where one Python frame is a measurable share of the time


def unary(op: str, x: NDArray) -> NDArray:
    """A -> A: `op` on every element."""
    return NDArray(x.backend, x.backend.unary(op, x), x.shape, x.dtype)


def binary(op: str, a: NDArray, b: NDArray) -> NDArray:
    """A, A -> A with NumPy broadcasting done here as stride-0 views (no copies)."""
    if a.shape != b.shape:
        shape = broadcast_shapes(op, a.shape, b.shape)
        a = a.broadcast_to(shape)
        b = b.broadcast_to(shape)
    backend = a.backend
    dtype = bool_ if op in _COMPARISONS else a.dtype
    return NDArray(backend, backend.binary(op, a, b), a.shape, dtype)


def scalar(op: str, a: NDArray, value: bool | int | float, reflected: bool = False) -> NDArray:
    """`a op value` (or `value op a`) with a Python scalar."""
    backend = a.backend
    dtype = bool_ if op in _COMPARISONS else a.dtype
    return NDArray(backend, backend.binary_scalar(op, a, value, reflected), a.shape, dtype)


def where(cond: NDArray, a: NDArray, b: NDArray) -> NDArray:
    shape = broadcast_shapes("where", cond.shape, a.shape, b.shape)
    cond = cond.broadcast_to(shape)
    a = a.broadcast_to(shape)
    b = b.broadcast_to(shape)
    return _dense(a, a.backend.where(cond, a, b), shape, a.dtype)


def reduce(op: str, x: NDArray, axes: tuple[int, ...], keepdim: bool = False) -> NDArray:
    """A -> reduced A over `axes` (sorted, non-negative)."""
    if not axes:
        return x
    if len(axes) == len(x.shape):  # every axis (`x.sum()`): no per-dim loop
        shape: tuple[int, ...] = ()
    else:
        shape = tuple([d for i, d in enumerate(x.shape) if i not in axes])
    out = NDArray(x.backend, x.backend.reduce(op, x, axes), shape, x.dtype)
    if keepdim:
        out = out.reshape(tuple(1 if i in axes else d for i, d in enumerate(x.shape)))
    return out


def arg_reduce(op: str, x: NDArray, axis: int, keepdim: bool = False) -> NDArray:
    shape = tuple(d for i, d in enumerate(x.shape) if i != axis)
    out = _dense(x, x.backend.arg_reduce(op, x, axis), shape, int64)
    if keepdim:
        out = out.reshape(x.shape[:axis] + (1,) + x.shape[axis + 1 :])
    return out


def matmul(a: NDArray, b: NDArray) -> NDArray:
    """(..., M, K) @ (..., K, N) with batch dims already broadcast."""
    shape = a.shape[:-1] + (b.shape[-1],)
    return NDArray(a.backend, a.backend.matmul(a, b), shape, a.dtype)


def cast(x: NDArray, dtype: DType) -> NDArray:
    if x.dtype == dtype:
        return x
    return _dense(x, x.backend.cast(x, dtype), x.shape, dtype)


def full(
    like: NDArray, shape: tuple[int, ...], value: float, dtype: DType | None = None
) -> NDArray:
    """A new dense array on `like`'s backend filled with `value`."""
    dtype = like.dtype if dtype is None else dtype
    return NDArray(like.backend, like.backend.full(prod(shape), dtype, value), shape, dtype)


def zeros(like: NDArray, shape: tuple[int, ...] | None = None) -> NDArray:
    return full(like, like.shape if shape is None else shape, 0)


def gather(x: NDArray, axis: int, index: NDArray) -> NDArray:
    shape = x.shape[:axis] + index.shape + x.shape[axis + 1 :]
    return _dense(x, x.backend.gather(x, axis, index), shape, x.dtype)


def scatter_add(shape: tuple[int, ...], axis: int, index: NDArray, src: NDArray) -> NDArray:
    """Zeros of `shape` with `src` added at `index` along `axis` (the adjoint of gather)."""
    out = zeros(src, shape)
    src.backend.scatter_add(out, axis, index, src)
    return out


def unbroadcast(grad: NDArray, shape: tuple[int, ...]) -> NDArray:
    """Sum `grad` down to `shape`: the adjoint of broadcast_to."""
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, d in enumerate(shape) if d == 1 and grad.shape[lead + i] != 1
    )
    return reduce("sum", grad, axes).reshape(shape)


def expand_like(x: NDArray, reduced_axes: tuple[int, ...], shape: tuple[int, ...]) -> NDArray:
    """Put reduced axes back as size 1 and broadcast to `shape` (the adjoint of a sum)."""
    kept = tuple(1 if i in reduced_axes else d for i, d in enumerate(shape))
    return x.reshape(kept).broadcast_to(shape)


def copy(x: NDArray) -> NDArray:
    """A dense copy of view `x` with its own memory."""
    return _dense(x, x.backend.copy(x), x.shape, x.dtype)


def write(dst: NDArray, src: NDArray) -> None:
    """Write `src` (broadcast to dst's shape) into the view `dst`, in place."""
    dst.backend.setitem(dst, src.broadcast_to(dst.shape))


def fill(dst: NDArray, value: bool | int | float) -> None:
    """Set every element of the view `dst` to `value`, in place."""
    dst.backend.fill(dst, value)


def wrap(like: NDArray, buffer: object, shape: tuple[int, ...], dtype: DType) -> NDArray:
    """A dense NDArray over a buffer that a kernel of `like`'s backend returned."""
    return _dense(like, buffer, shape, dtype)


def fused(name: str, shape: tuple[int, ...], dtype: DType, x: NDArray, *args: object) -> NDArray:
    """Run the backend's fused kernel `name` (one output buffer) on x and the other arguments.

    Core's `ops.dispatch.use_fused` has decided that the backend offers it.
    """
    return _dense(x, getattr(x.backend, name)(x, *args), shape, dtype)


def fused_call(name: str, x: NDArray, *args: object) -> Any:
    """Run a fused kernel and return what it returns: several buffers (the caller wraps each
    with `wrap`), or None for one that updates its arguments in place (adamw)."""
    return getattr(x.backend, name)(x, *args)
