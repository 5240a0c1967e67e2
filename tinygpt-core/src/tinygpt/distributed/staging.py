"""A tensor's memory in the form MPI or NCCL can read and write in place.

Three ways, from cheapest to dearest:

1. The tensor is dense (C-contiguous, any offset) and its backend exports its buffer
   (`Backend.export_buffer`): the collective works on the tensor's own memory. No copy.
2. The tensor is a strided view (a transpose, a slice with steps): a dense copy on the same
   device is reduced, then written back into the view.
3. The backend exports nothing: a host copy (`to_host`) is reduced and copied back in.
"""

from __future__ import annotations

from typing import Any

from .. import array_ops as A
from ..ndarray import NDArray

__all__ = ["Staged", "stage", "new_dense", "is_device_memory"]


def is_device_memory(memory: Any) -> bool:
    """True for GPU memory (NCCL's), False for host memory (MPI's)."""
    return hasattr(memory, "__cuda_array_interface__")


class Staged:
    """The memory a collective works on, and how to get the result back into `target`."""

    def __init__(self, target: NDArray, memory: Any, dense: NDArray | None, host: bool) -> None:
        #: the tensor's own NDArray: where the result must end up
        self.target = target
        #: raw bytes (a writable memoryview) or a CuPy array, `target.size` elements
        self.memory = memory
        #: a dense copy on the device that `memory` points into, or None
        self.dense = dense
        #: whether `memory` is a host copy that must be uploaded again
        self.host = host

    def finish(self) -> None:
        """Copy the result back into `target` when the collective worked on a copy."""
        target = self.target
        if self.host:
            backend = target.backend
            buffer = backend.from_host(self.memory, target.dtype)
            A.write(target, NDArray(backend, buffer, target.shape, target.dtype))
        elif self.dense is not None:
            A.write(target, self.dense)


def stage(data: NDArray) -> Staged:
    """`data`'s elements, dense and row-major, where a collective can work on them."""
    dense = data if data.is_contiguous() else A.copy(data)
    memory = _exported(dense)
    if memory is not None:
        return Staged(data, memory, None if dense is data else dense, host=False)
    host = bytearray(memoryview(data.backend.to_host(data)).cast("B"))
    return Staged(data, memoryview(host), None, host=True)


def new_dense(like: NDArray, shape: tuple[int, ...]) -> Staged:
    """A new dense array of `shape` on `like`'s device, staged (for all_gather's output)."""
    backend = like.backend
    size = 1
    for n in shape:
        size *= n
    out = NDArray(backend, backend.empty(size, like.dtype), shape, like.dtype)
    memory = _exported(out)
    if memory is not None:
        return Staged(out, memory, None, host=False)
    host = bytearray(size * like.dtype.itemsize)
    return Staged(out, memoryview(host), None, host=True)


def _exported(dense: NDArray) -> Any:
    """The exported memory of a dense NDArray's elements, or None if the backend has none."""
    try:
        raw = dense.backend.export_buffer(dense.buffer)
    except NotImplementedError:
        return None
    start = dense.offset
    stop = dense.offset + dense.size
    if is_device_memory(raw):
        return raw[start:stop]  # a CuPy view: shares the device memory
    memory = memoryview(raw).cast("B")
    if memory.readonly:
        return None
    itemsize = dense.dtype.itemsize
    return memory[start * itemsize : stop * itemsize]
