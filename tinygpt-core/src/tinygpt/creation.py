"""Making tensors: from data, filled, ranges (and random ones, re-exported from random.py)."""

from __future__ import annotations

import math
from typing import Any

from .backend.registry import get_backend
from .dtypes import DType, as_dtype, bool_, check_fits, get_default_dtype, int64
from .errors import DTypeError, ShapeError
from .host import from_host_data
from .ndarray import NDArray, as_int, checked_nbytes, prod
from .tensor import Tensor

__all__ = [
    "tensor",
    "from_numpy",
    "zeros",
    "ones",
    "full",
    "empty",
    "arange",
    "eye",
    "linspace",
    "zeros_like",
    "ones_like",
    "full_like",
    "empty_like",
    "rand",
    "randn",
    "randint",
    "rand_like",
    "randn_like",
    "manual_seed",
    "next_seed",
]


def _shape(op: str, size: tuple | list) -> tuple[int, ...]:
    """The sizes `op` was given, as a shape: f(2, 3) and f((2, 3)) alike, ints >= 0 only."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    shape = tuple(as_int(op, d, f"each size in {tuple(size)}") for d in size)
    if any(d < 0 for d in shape):
        raise ShapeError(f"{op}: negative dimension in size {shape}; sizes must be >= 0")
    return shape


def _backend_for(device: Any, dtype: Any) -> Any:
    """The device's backend, after checking that it stores `dtype`."""
    backend = get_backend(device)
    if isinstance(dtype, DType) and dtype not in backend.dtypes:
        supported = ", ".join(sorted(d.name for d in backend.dtypes))
        raise DTypeError(
            f"device {backend.device} does not support {dtype}; it supports {supported}"
        )
    return backend


def _finish(data: NDArray, requires_grad: bool) -> Tensor:
    if requires_grad and not data.dtype.is_floating_point:
        raise DTypeError(f"only floating tensors can require grad, got {data.dtype}")
    return Tensor._make(data, requires_grad)


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of `data` (nested lists, a scalar, a NumPy array, a tensor).

    >>> tensor([[1, 2], [3, 4]]).dtype
    tinygpt.int64
    """
    if isinstance(data, Tensor):
        out = data.detach().to(device=device) if device is not None else data.detach()
        out = out.to(as_dtype(dtype)) if dtype is not None else out
        if out._data.buffer is data._data.buffer:
            out = out.clone()
        return _finish(out._data, requires_grad)
    backend = _backend_for(device, dtype)
    wanted = None if dtype is None else as_dtype(dtype)
    return _finish(from_host_data(data, wanted, backend), requires_grad)


def from_numpy(array: Any, device: Any = None) -> Tensor:
    """A tensor with the values (and dtype) of a NumPy array, copied to `device`."""
    return tensor(array, device=device)


def full(
    size: Any,
    fill_value: bool | int | float,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    shape = _shape("full", size if isinstance(size, (tuple, list)) else (size,))
    if dtype is None:
        kind = (
            bool_
            if isinstance(fill_value, bool)
            else int64
            if isinstance(fill_value, int)
            else get_default_dtype()
        )
        dtype = kind
    return _full("full", shape, fill_value, as_dtype(dtype), device, requires_grad)


def _full(
    op: str,
    shape: tuple[int, ...],
    fill_value: bool | int | float,
    dtype: DType,
    device: Any,
    requires_grad: bool,
) -> Tensor:
    check_fits(op, fill_value, dtype)  # nan into int64: an error, as in PyTorch
    checked_nbytes(op, shape, dtype)  # before the backend multiplies sizes in C
    backend = _backend_for(device, dtype)
    buffer = backend.full(prod(shape), dtype, fill_value)
    return _finish(NDArray(backend, buffer, shape, dtype), requires_grad)


def zeros(
    *shape: Any,
    size: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
):
    dtype = as_dtype(dtype or get_default_dtype())
    return _full(
        "zeros", _shape("zeros", sizes_arg(shape, size)), 0.0, dtype, device, requires_grad
    )


def ones(
    *shape: Any,
    size: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
):
    dtype = as_dtype(dtype or get_default_dtype())
    return _full("ones", _shape("ones", sizes_arg(shape, size)), 1.0, dtype, device, requires_grad)


def empty(
    *shape: Any,
    size: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
):
    shape = _shape("empty", sizes_arg(shape, size))
    dtype = as_dtype(dtype or get_default_dtype())
    checked_nbytes("empty", shape, dtype)
    backend = _backend_for(device, dtype)
    return _finish(NDArray(backend, backend.empty(prod(shape), dtype), shape, dtype), requires_grad)


def _like(x: Tensor, dtype: Any, device: Any) -> dict[str, Any]:
    return {"dtype": dtype or x.dtype, "device": device or x.device}


def zeros_like(x: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False):
    return zeros(x.shape, **_like(x, dtype, device), requires_grad=requires_grad)


def ones_like(x: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False):
    return ones(x.shape, **_like(x, dtype, device), requires_grad=requires_grad)


def full_like(
    x: Tensor, fill_value: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    return full(x.shape, fill_value, **_like(x, dtype, device), requires_grad=requires_grad)


def empty_like(x: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False):
    return empty(x.shape, **_like(x, dtype, device), requires_grad=requires_grad)


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    *,
    dtype: Any = None,
    device: Any = None,
) -> Tensor:
    """[start, end) in steps, like Python's range; int64 unless a bound or dtype is float."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must not be zero")
    count = max(0, math.ceil((end - start) / step))
    if dtype is None:
        floats = any(isinstance(v, float) for v in (start, end, step))
        dtype = get_default_dtype() if floats else int64
    checked_nbytes("arange", (count,), as_dtype(dtype))  # before a list of `count` values
    values = [start + i * step for i in range(count)]
    return tensor(values, dtype=dtype, device=device)


def linspace(
    start: float,
    end: float,
    steps: int,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """`steps` evenly spaced values from `start` to `end`, both included (float32 by default).

    >>> linspace(0, 1, 5).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    if steps < 0:
        raise ValueError(f"linspace: steps must be non-negative, got {steps}")
    step = (end - start) / (steps - 1) if steps > 1 else 0.0
    # subtle: the second half counts back from `end`, so both ends are exact (as PyTorch)
    half = steps // 2 if steps > 1 else 1  # one step: [start], as PyTorch
    values = [start + i * step if i < half else end - (steps - 1 - i) * step for i in range(steps)]
    out = tensor(values, dtype=get_default_dtype() if dtype is None else dtype, device=device)
    return out.requires_grad_(requires_grad) if requires_grad else out


def eye(n: int, m: int | None = None, *, dtype: Any = None, device: Any = None) -> Tensor:
    m = n if m is None else m
    out = zeros(n, m, dtype=dtype, device=device)
    k = min(n, m)
    diagonal = out._data.view((k,), (m + 1,), 0)  # every (m+1)-th element is on the diagonal
    out._data.backend.fill(diagonal, 1)
    return out


# ------------------------------------------------------------------ random
# the random makers live in random.py (one generator, the same numbers on every backend);
# they are re-exported here, where the other makers are
from .random import (  # noqa: E402
    manual_seed,
    next_seed,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    sizes_arg,
)
