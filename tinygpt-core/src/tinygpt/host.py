"""Host <-> device conversion: the one place core touches NumPy (for its buffer protocol
and its parsing of nested lists), never for compute."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .dtypes import DType, as_dtype, bool_, float32, int32, int64
from .errors import DTypeError, ShapeError
from .ndarray import NDArray

if TYPE_CHECKING:
    import numpy as np

    from .backend.protocol import Backend

__all__ = ["to_numpy", "from_host_data", "infer_dtype", "format_array", "nonzero", "last_writes"]


def to_numpy(x: NDArray) -> np.ndarray:
    """A NumPy copy of view `x` (dense, its own memory)."""
    import numpy as np

    data = x.backend.to_host(x)
    flat = np.frombuffer(data, dtype=x.dtype.numpy_name, count=x.size)
    return flat.reshape(x.shape)


def infer_dtype(array: np.ndarray, from_python: bool) -> DType:
    """The tinygpt dtype for host data, following PyTorch: NumPy arrays keep their dtype
    (other integer widths become int64); Python floats become float32, ints int64."""
    kind = array.dtype.kind
    if kind == "b":
        return bool_
    if kind in "iu":
        return int32 if array.dtype.name == "int32" and not from_python else int64
    if kind == "f":
        if from_python or array.dtype.name not in ("float16", "float64"):
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
    dense = np.ascontiguousarray(array, dtype=dtype.numpy_name).reshape(-1)
    buffer = backend.from_host(memoryview(dense).cast("B"), dtype)  # type: ignore[arg-type]
    return NDArray(backend, buffer, tuple(int(d) for d in array.shape), dtype)


def format_array(x: NDArray, prefix: str = "") -> str:
    """The values of `x` as NumPy prints them (for `repr(tensor)`)."""
    import numpy as np

    return np.array2string(to_numpy(x), separator=", ", prefix=prefix)


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


def _int64_array(values: Any, backend: Backend) -> NDArray:
    import numpy as np

    dense = np.ascontiguousarray(values, dtype="int64").reshape(-1)
    buffer = backend.from_host(memoryview(dense).cast("B"), int64)  # type: ignore[arg-type]
    return NDArray(backend, buffer, (dense.size,), int64)
