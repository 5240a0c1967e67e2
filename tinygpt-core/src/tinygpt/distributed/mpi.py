"""`MpiGroup`: collectives on host memory through MPI (mpi4py), with a timeout.

Every collective is started non-blocking (`Iallreduce`, `Ibcast`, ...) and then waited on
by `Request`, a poll loop with a deadline: MPI's blocking calls cannot time out, and a rank
stuck forever must become an error, not a hang. (A rank that *dies* is caught sooner: the
launcher, mpiexec, then stops every other rank and reports the failure.)

Buffers arrive as writable raw-byte memoryviews (format "B") plus a dtype name; MPI is told
the element type, so it sums float32s as float32s, never bytes.

NOTE: PyPI's MPI wheels are not CUDA-aware: device memory never comes here (see nccl.py).
"""

from __future__ import annotations

import time
from typing import Any

from .group import MPI_MISSING, DistributedError, Group, launched_world_size

__all__ = ["MpiGroup", "Request", "load_mpi"]

#: dtype name -> the name of its MPI element type (float16 and bfloat16 have none in the
#: MPI standard; collectives.py turns them away before they get here)
MPI_TYPE_NAMES = {
    "float32": "FLOAT",
    "float64": "DOUBLE",
    "int8": "INT8_T",
    "uint8": "UINT8_T",
    "int32": "INT32_T",
    "int64": "INT64_T",
    "bool": "C_BOOL",
}
MPI_OP_NAMES = {"sum": "SUM", "max": "MAX", "min": "MIN"}

# NOTE: MPI makes progress only inside MPI calls, so the first part of a wait polls without
# sleeping (a large allreduce moves in chunks that need both ranks polling); after that a
# short sleep per poll keeps a rank that waits for a slow one (rank 0 writing a checkpoint)
# from burning its core.
_SPIN_SECONDS = 0.05
_SLEEP_SECONDS = 0.0005


def load_mpi() -> Any:
    """mpi4py's MPI module (imported here, on first use: it is an optional dependency)."""
    try:
        from mpi4py import MPI
    except ImportError as error:
        size = launched_world_size()
        raise DistributedError(
            f"this process is one of {size} started by an MPI launcher, but {MPI_MISSING} ({error})"
        ) from error
    return MPI


class Request:
    """One started collective; `wait()` returns when it is done (or raises on timeout)."""

    def __init__(self, request: Any, what: str, timeout: float) -> None:
        self._request = request
        self._what = what
        self._timeout = timeout

    def wait(self) -> None:
        started = time.monotonic()
        spin_until = started + _SPIN_SECONDS
        deadline = started + self._timeout
        while not self._request.Test():
            now = time.monotonic()
            if now > deadline:
                # NOTE: MPI cannot cancel a collective; the caller ends the process (abort)
                raise DistributedError(
                    f"{self._what}: the other ranks did not answer within "
                    f"{self._timeout:g} s; a rank may have died, hung, or skipped this "
                    "collective (every rank must call the same collectives in the same "
                    "order); raise TINYGPT_DIST_TIMEOUT if a rank is just slow"
                )
            if now > spin_until:
                time.sleep(_SLEEP_SECONDS)


class MpiGroup(Group):
    """MPI.COMM_WORLD as a process group."""

    kind = "mpi"

    def __init__(self, timeout: float) -> None:
        MPI = load_mpi()
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        # the ranks that share this machine's memory: a GPU index for each
        node = self.comm.Split_type(MPI.COMM_TYPE_SHARED, key=self.rank)
        self.local_rank = node.Get_rank()
        node.Free()
        self.timeout = timeout
        self.nccl: dict[int, object] = {}  # device index -> NcclComm, made on first use

    def all_reduce(self, memory: memoryview, dtype: str, op: str) -> Request:
        """Start reducing `memory` (raw bytes holding `dtype` elements) in place."""
        MPI = self.MPI
        mpi_type = getattr(MPI, MPI_TYPE_NAMES[dtype])
        count = len(memory) // mpi_type.Get_size()
        mpi_op = getattr(MPI, MPI_OP_NAMES[op])
        request = self.comm.Iallreduce(MPI.IN_PLACE, [memory, count, mpi_type], mpi_op)
        return Request(request, f"all_reduce({op}) of {count} {dtype} elements", self.timeout)

    def broadcast(self, memory: memoryview, root: int) -> Request:
        """Start copying rank `root`'s bytes into every other rank's `memory`."""
        request = self.comm.Ibcast([memory, len(memory), self.MPI.BYTE], root=root)
        return Request(request, f"broadcast of {len(memory)} bytes from rank {root}", self.timeout)

    def all_gather(self, memory: memoryview, out: memoryview) -> Request:
        """Start gathering every rank's `memory` into `out`, rank by rank."""
        byte = self.MPI.BYTE
        request = self.comm.Iallgather([memory, len(memory), byte], [out, len(memory), byte])
        return Request(request, f"all_gather of {len(memory)} bytes per rank", self.timeout)

    def barrier(self) -> Request:
        return Request(self.comm.Ibarrier(), "barrier", self.timeout)

    def exchange_object(self, value: object, root: int) -> object:
        """Rank `root`'s picklable `value` on every rank (small control data: NCCL's id)."""
        return self.comm.bcast(value, root=root)

    def abort(self, exit_code: int) -> None:
        """End every rank now (mpiexec reports it): the way out when one rank failed."""
        self.comm.Abort(exit_code)

    def finalize(self) -> None:
        for comm in self.nccl.values():
            comm.destroy()  # type: ignore[attr-defined]
        self.nccl.clear()
