"""`NcclComm`: collectives on GPU memory through NCCL (CuPy's `cupy.cuda.nccl`).

MPI starts the ranks and hands NCCL its one piece of shared state, the unique id that rank 0
draws (the ChainerMN / llm.c pattern); from then on the data goes GPU to GPU through NCCL.
PyPI's MPI wheels are not CUDA-aware, so a device pointer is never given to MPI.

Ordering: NCCL is queued on the backend's own stream (`Backend.native_stream`), so it runs
after the kernels that computed the gradients and before the ones that read the result,
with no host synchronisation. `Request.wait` polls the stream with a deadline and aborts the
communicator on timeout, so a dead peer becomes an error rather than a hang.

NOTE: written against CuPy's documented NCCL binding and compile/import-checked without a
GPU; not yet run on two GPUs (see the issue's closing note).
"""

from __future__ import annotations

import time
from typing import Any

from .group import DistributedError

__all__ = ["NcclComm", "NcclRequest", "nccl_dtype"]


def _nccl() -> Any:
    try:
        from cupy.cuda import nccl
    except ImportError as error:
        raise DistributedError(
            "NCCL collectives need CuPy with NCCL (the tinygpt-backend-cuda install and the "
            f"nvidia-nccl-cu12 library): {error}"
        ) from error
    if not getattr(nccl, "available", True):
        raise DistributedError("CuPy was built without NCCL; install nvidia-nccl-cu12")
    return nccl


def nccl_dtype(dtype: str) -> int:
    """The NCCL element type of a tinygpt dtype name."""
    nccl = _nccl()
    names = {
        "float16": "NCCL_FLOAT16",
        "bfloat16": "NCCL_BFLOAT16",  # NCCL >= 2.10
        "float32": "NCCL_FLOAT32",
        "float64": "NCCL_FLOAT64",
        "int8": "NCCL_INT8",
        "uint8": "NCCL_UINT8",
        "int32": "NCCL_INT32",
        "int64": "NCCL_INT64",
        "bool": "NCCL_UINT8",
    }
    code = getattr(nccl, names[dtype], None)
    if code is None:
        raise DistributedError(f"this NCCL (through CuPy) has no {names[dtype]}; cast first")
    return int(code)


class NcclRequest:
    """NCCL work queued on `stream`; `wait()` blocks the host until it is done (or times out)."""

    def __init__(self, comm: NcclComm, stream: int, what: str, timeout: float) -> None:
        self._comm = comm
        self._stream = stream
        self._what = what
        self._timeout = timeout

    def wait(self) -> None:
        import cupy

        stream = cupy.cuda.ExternalStream(self._stream)
        deadline = time.monotonic() + self._timeout
        while not stream.done:
            self._comm.check_error(self._what)
            if time.monotonic() > deadline:
                self._comm.abort()
                raise DistributedError(
                    f"{self._what}: NCCL did not finish within {self._timeout:g} s; a rank "
                    "may have died or skipped this collective; the communicator was aborted"
                )
            time.sleep(0.0002)


class NcclComm:
    """One NCCL communicator over the MPI group's ranks, on one GPU of this rank."""

    def __init__(self, group: Any, device_index: int) -> None:
        import cupy

        nccl = _nccl()
        unique_id = nccl.get_unique_id() if group.rank == 0 else None
        unique_id = group.exchange_object(unique_id, root=0)
        self.timeout: float = group.timeout
        with cupy.cuda.Device(device_index):
            self._comm = nccl.NcclCommunicator(group.size, unique_id, group.rank)
        self._ops = {"sum": nccl.NCCL_SUM, "max": nccl.NCCL_MAX, "min": nccl.NCCL_MIN}

    def all_reduce(self, array: Any, dtype: str, op: str, stream: int) -> NcclRequest:
        """Queue an in-place allreduce of the CuPy array `array` on `stream`."""
        pointer = array.data.ptr
        self._comm.allReduce(pointer, pointer, array.size, nccl_dtype(dtype), self._ops[op], stream)
        return NcclRequest(self, stream, f"all_reduce({op}) of {array.size} {dtype}", self.timeout)

    def broadcast(self, array: Any, dtype: str, root: int, stream: int) -> NcclRequest:
        pointer = array.data.ptr
        self._comm.broadcast(pointer, pointer, array.size, nccl_dtype(dtype), root, stream)
        return NcclRequest(self, stream, f"broadcast from rank {root}", self.timeout)

    def all_gather(self, array: Any, out: Any, dtype: str, stream: int) -> NcclRequest:
        self._comm.allGather(array.data.ptr, out.data.ptr, array.size, nccl_dtype(dtype), stream)
        return NcclRequest(self, stream, "all_gather", self.timeout)

    def check_error(self, what: str) -> None:
        """Raise if NCCL reported an asynchronous error (a peer gone, a network failure)."""
        try:
            self._comm.check_async_error()
        except Exception as error:  # CuPy raises its NcclError
            raise DistributedError(f"{what}: NCCL failed: {error}") from error

    def abort(self) -> None:
        self._comm.abort()

    def destroy(self) -> None:
        self._comm.destroy()
