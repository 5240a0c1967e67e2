"""Helpers for testing a backend against NumPy: move data in and out, and build awkward views.

>>> import numpy as np
>>> from tinygpt.backend.registry import get_backend
>>> backend = get_backend("numpy")
>>> x = to_ndarray(backend, np.arange(6.0).reshape(2, 3))
>>> [kind for kind, _, _ in strided_views(backend, np.arange(6.0).reshape(2, 3))][:3]
['contiguous', 'offset', 'transposed']
>>> to_numpy(x.transpose(0, 1)).tolist()
[[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from ..dtypes import DType, as_dtype
from ..host import numpy_dtype
from ..ndarray import NDArray
from .close import assert_close_torch_style

if TYPE_CHECKING:
    from ..backend.protocol import Backend

__all__ = [
    "to_ndarray",
    "to_numpy",
    "wrap",
    "strided_views",
    "VIEW_KINDS",
    "numpy_view",
    "random_array",
    "tolerance",
    "assert_close",
    "require_dtypes",
]


def to_ndarray(backend: Backend, array: Any) -> NDArray:
    """A dense NDArray on `backend` holding a copy of the NumPy array `array`."""
    array = np.asarray(array)
    dtype = as_dtype(array.dtype)
    flat = np.ascontiguousarray(array).reshape(-1)
    raw = memoryview(flat.view(np.uint8))  # type: ignore[arg-type]  # (bfloat16 refuses it)
    buffer = backend.from_host(raw, dtype)
    return NDArray(backend, buffer, tuple(array.shape), dtype)


def to_numpy(x: NDArray) -> np.ndarray:
    """The elements of view `x` as a fresh NumPy array of its shape, read via `to_host`."""
    data = memoryview(x.backend.to_host(x)).cast("B")  # as raw bytes, whatever its format
    expected = x.size * x.dtype.itemsize
    if data.nbytes != expected:
        raise AssertionError(
            f"to_host({x.dtype}, shape {x.shape}): got {data.nbytes} bytes, expected "
            f"{expected} (does the buffer really hold {x.dtype}?)"
        )
    return np.frombuffer(data, numpy_dtype(x.dtype)).reshape(x.shape).copy()


def wrap(backend: Backend, buffer: Any, shape: tuple[int, ...], dtype: DType) -> NDArray:
    """A dense NDArray over a buffer a kernel returned (to read it back with `to_numpy`)."""
    return NDArray(backend, buffer, tuple(shape), dtype)


# ---------------------------------------------------------------------- views
class _NumpyMoves:
    """NumPy arrays behind NDArray's movement methods, so one recipe builds both views."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    @property
    def shape(self) -> tuple[int, ...]:
        return self.array.shape

    @property
    def ndim(self) -> int:
        return self.array.ndim

    def permute(self, axes: tuple[int, ...]) -> _NumpyMoves:
        return _NumpyMoves(self.array.transpose(axes))

    def slice(self, items: tuple[Any, ...]) -> _NumpyMoves:
        # subtle: a[-1, -1] is a scalar copy; a[-1, -1, ...] is a 0-d view, like NDArray's
        return _NumpyMoves(self.array[items + (Ellipsis,)])

    def broadcast_to(self, shape: tuple[int, ...]) -> _NumpyMoves:
        return _NumpyMoves(np.broadcast_to(self.array, shape))


def _reversed(x):  # negative strides on every dim
    return x.slice((slice(None, None, -1),) * x.ndim)


def _stepped(x):  # every other element on every dim
    return x.slice((slice(None, None, 2),) * x.ndim)


def _offset(x):  # drop the first row: a view that starts inside the buffer
    return x.slice((slice(1, None),) + (slice(None),) * (x.ndim - 1))


def _transposed(x):  # reversed dim order: the innermost stride is no longer 1
    return x.permute(tuple(reversed(range(x.ndim))))


def _broadcast(x):  # the first row repeated over a new leading dim and dim 0: stride 0
    row = x.slice((slice(0, 1),) + (slice(None),) * (x.ndim - 1))
    return row.broadcast_to((2,) + x.shape)


def _scalar(x):  # 0-d: the last element, so the offset is not 0 either
    return x.slice((-1,) * x.ndim)


def _empty(x):  # no elements, but a real shape and strides
    return x.slice((slice(1, 1),) + (slice(None),) * (x.ndim - 1))


#: view kind -> recipe (applied alike to an NDArray and to a NumPy array)
VIEW_KINDS: dict[str, Callable[[Any], Any]] = {
    "contiguous": lambda x: x,
    "offset": _offset,
    "transposed": _transposed,
    "reversed": _reversed,
    "stepped": _stepped,
    "broadcast": _broadcast,
    "0-d": _scalar,
    "empty": _empty,
}


def strided_views(
    backend: Backend, array: Any, kinds: tuple[str, ...] | None = None
) -> Iterator[tuple[str, NDArray, np.ndarray]]:
    """Yield (kind, view on `backend`, the same view in NumPy) for each view kind.

    The views are made with NDArray's own movement ops (permute, slice, broadcast_to) over
    one dense copy of `array` (ndim >= 1), so a kernel sees real offsets and strides:
    see `VIEW_KINDS`. Apply the same kinds to two arrays of one shape to get operand pairs.
    """
    array = np.asarray(array)
    base = to_ndarray(backend, array)
    for kind in kinds or tuple(VIEW_KINDS):
        recipe = VIEW_KINDS[kind]
        yield kind, recipe(base), recipe(_NumpyMoves(array)).array


def numpy_view(kind: str, array: np.ndarray) -> np.ndarray:
    """The `kind` view (see `VIEW_KINDS`) of a NumPy array; writable unless a broadcast."""
    return VIEW_KINDS[kind](_NumpyMoves(array)).array


# --------------------------------------------------------------- data, checks
def random_array(
    shape: tuple[int, ...],
    dtype: DType | str,
    low: float = -1.0,
    high: float = 1.0,
    seed: int = 0,
) -> np.ndarray:
    """Reproducible test data: uniform floats, integers in [low, high], or random bools."""
    dtype = as_dtype(dtype)
    rng = np.random.default_rng(seed)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    if dtype.kind == "i":
        ints = rng.integers(int(low), int(high), size=shape, endpoint=True)
        return ints.astype(numpy_dtype(dtype))
    return rng.uniform(low, high, size=shape).astype(numpy_dtype(dtype))


#: (rtol, atol) per dtype for results that are not exact
_TOLERANCE = {
    "float16": (2e-3, 1e-3),
    "bfloat16": (1.6e-2, 1e-2),  # 8 significand bits
    "float32": (1e-5, 1e-6),
    "float64": (1e-12, 1e-12),
}


def tolerance(dtype: DType | str) -> tuple[float, float]:
    """(rtol, atol) for comparing a kernel's float result; (0, 0) (exact) for ints and bool."""
    return _TOLERANCE.get(as_dtype(dtype).name, (0.0, 0.0))


def assert_close(
    got: Any,
    expected: Any,
    what: str | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    **torch_options: Any,
) -> None:
    """Shape, dtype and values (NaNs equal) of `got` match `expected`; `what` names the case.

    Without `what` it is PyTorch's `torch.testing.assert_close` (`close.py`): tensors or
    numbers, PyTorch's tolerances, NaNs unequal unless equal_nan=True."""
    if what is None:
        assert_close_torch_style(got, expected, rtol=rtol, atol=atol, **torch_options)
        return
    expected = np.asarray(expected)
    if got.shape != expected.shape:
        raise AssertionError(f"{what}: shape {got.shape}, expected {expected.shape}")
    if got.dtype != expected.dtype:
        raise AssertionError(f"{what}: dtype {got.dtype}, expected {expected.dtype}")
    default_rtol, default_atol = tolerance(as_dtype(expected.dtype))
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    if rtol == 0 and atol == 0:
        np.testing.assert_array_equal(got, expected, err_msg=what)
        return
    np.testing.assert_allclose(
        got.astype(np.float64),
        expected.astype(np.float64),
        rtol=rtol,
        atol=atol,
        equal_nan=True,
        err_msg=what,
    )


def require_dtypes(backend: Backend, *names: str) -> list[DType]:
    """The DTypes named, or skip the test when `backend` does not list one of them."""
    import pytest

    dtypes = [as_dtype(name) for name in names]
    for dtype in dtypes:
        if dtype not in backend.dtypes:
            pytest.skip(f"backend {backend.name!r} does not list dtype {dtype}")
    return dtypes
