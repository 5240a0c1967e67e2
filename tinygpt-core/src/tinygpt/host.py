"""Host <-> device conversion: the one place core touches NumPy (for its buffer protocol
and its parsing of nested lists), never for compute."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .dtypes import DType, as_dtype, bool_, float32, get_default_dtype, int64
from .errors import DTypeError, ShapeError
from .ndarray import NDArray
from .printing import numpy_options

if TYPE_CHECKING:
    import numpy as np

    from .backend.protocol import Backend

__all__ = [
    "to_numpy",
    "from_host_data",
    "infer_dtype",
    "numpy_dtype",
    "format_array",
    "nonzero",
    "last_writes",
    "argsort_on_host",
]


def to_numpy(x: NDArray) -> np.ndarray:
    """A NumPy copy of view `x` (dense, its own memory)."""
    import numpy as np

    data = x.backend.to_host(x)
    flat = np.frombuffer(data, dtype=numpy_dtype(x.dtype), count=x.size)
    return flat.reshape(x.shape)


def numpy_dtype(dtype: DType) -> Any:
    """The NumPy dtype of `dtype`; bfloat16 comes from the `ml_dtypes` package."""
    import numpy as np

    if dtype.name != "bfloat16":
        return np.dtype(dtype.numpy_name)
    try:
        import ml_dtypes
    except ImportError:
        raise DTypeError(
            "bfloat16 on the host needs the ml_dtypes package (NumPy has no bfloat16): "
            "pip install ml_dtypes, or convert first with .float()"
        ) from None
    return np.dtype(ml_dtypes.bfloat16)


def infer_dtype(array: np.ndarray, from_python: bool) -> DType:
    """The tinygpt dtype for host data, following PyTorch: NumPy arrays keep their dtype
    (other integer widths become int64); Python floats become float32, ints int64."""
    kind = array.dtype.kind
    name = array.dtype.name
    if kind == "b":
        return bool_
    if kind in "iu":
        kept = name in ("int32", "int8", "uint8") and not from_python
        return as_dtype(name) if kept else int64
    if name == "bfloat16":  # an ml_dtypes array
        return as_dtype(name)
    if kind == "f":
        if from_python:
            return get_default_dtype()  # Python floats: the default float dtype
        if array.dtype.name not in ("float16", "float64"):
            return float32
        return as_dtype(array.dtype.name)
    raise DTypeError(f"tensor: cannot make a tensor from data of NumPy dtype {array.dtype}")


def from_host_data(data: Any, dtype: DType | None, backend: Backend) -> NDArray:
    """Copy nested lists, scalars or a NumPy array to `backend` as a dense NDArray."""
    import numpy as np

    try:
        array = np.asarray(data)
    except ValueError as error:  # ragged nested lists
        raise ShapeError(
            f"tensor: nested lists must be rectangular (every row the same length): {error}"
        ) from None
    if array.dtype == object:
        raise DTypeError("tensor: data must be numbers, or nested lists of equal length")
    if dtype is None:
        dtype = infer_dtype(array, from_python=not isinstance(data, (np.ndarray, np.generic)))
    if dtype not in backend.dtypes:
        raise DTypeError(
            f"tensor: backend {backend.name!r} does not support {dtype}; supported: "
            + ", ".join(sorted(d.name for d in backend.dtypes))
        )
    dense = np.ascontiguousarray(array, dtype=numpy_dtype(dtype)).reshape(-1)
    # (as bytes: ml_dtypes' bfloat16 arrays refuse the buffer protocol)
    buffer = backend.from_host(memoryview(dense.view(np.uint8)), dtype)  # type: ignore[arg-type]
    return NDArray(backend, buffer, tuple(int(d) for d in array.shape), dtype)


def format_array(x: NDArray, prefix: str = "") -> str:
    """The values of `x` for `repr(tensor)`, in PyTorch's style: floats with 4 decimals
    (`[1.0000, 2.5000]`, scientific over a wide range), whole-number floats as `[1., 2.]`."""
    import numpy as np

    array = to_numpy(x)
    floating = array.dtype.kind == "f"
    whole = floating and _whole_numbers(array)
    shown = array.reshape(-1)[:10000] if floating else ()  # (a summary shows fewer)
    options = numpy_options(floating, whole, shown)  # tg.set_printoptions
    return np.array2string(array, separator=", ", prefix=prefix, **options)


def _whole_numbers(array: Any) -> bool:
    import numpy as np

    finite = array[np.isfinite(array)]
    return bool(np.all(finite == np.round(finite)))


def nonzero(mask: NDArray) -> list[NDArray]:
    """The positions of the true elements of `mask`, one int64 array per dim (like NumPy's
    `nonzero`). NOTE: a host read: how many there are decides the result's shape."""
    positions = to_numpy(mask).nonzero()
    return [_int64_array(p, mask.backend) for p in positions]


def last_writes(positions: NDArray) -> tuple[NDArray, NDArray]:
    """For a flat int64 array of write positions (repeats allowed): which writes survive when
    they happen in order (the last one to each position, NumPy's rule), as (which, where).

    NOTE: a host read of the positions; only advanced-index assignment (`x[idx] = v`) uses it.
    """
    import numpy as np

    flat = to_numpy(positions).reshape(-1)
    _, last_from_end = np.unique(flat[::-1], return_index=True)
    which = np.sort(flat.size - 1 - last_from_end)
    return _int64_array(which, positions.backend), _int64_array(flat[which], positions.backend)


def argsort_on_host(backend: Backend, x: NDArray, axis: int, descending: bool) -> Any:
    """`Backend.argsort`'s default: sort a host copy of `x` with NumPy, return a buffer of
    `backend`. NOTE: a host round trip; a backend with a sorting kernel overrides it."""
    import numpy as np

    values = to_numpy(x)
    if descending:
        # stable and descending: sort the reversed axis ascending, then reverse back, so
        # equal elements keep their order and nan (sorted last) comes first
        flipped = np.flip(values, axis)
        order = np.flip(np.argsort(flipped, axis=axis, kind="stable"), axis)
        order = values.shape[axis] - 1 - order
    else:
        order = np.argsort(values, axis=axis, kind="stable")
    dense = np.ascontiguousarray(order, dtype="int64").reshape(-1)
    return backend.from_host(memoryview(dense).cast("B"), int64)  # type: ignore[arg-type]


def _int64_array(values: Any, backend: Backend) -> NDArray:
    import numpy as np

    dense = np.ascontiguousarray(values, dtype="int64").reshape(-1)
    buffer = backend.from_host(memoryview(dense).cast("B"), int64)  # type: ignore[arg-type]
    return NDArray(backend, buffer, (dense.size,), int64)
