"""The collectives: all_reduce, broadcast, all_gather, barrier, on tensors of any backend.

Every rank must call the same collectives in the same order with tensors of the same shape
and dtype (the MPI rule). Host memory goes through MPI, GPU memory through NCCL; which one
is decided by the memory itself (`staging.is_device_memory`).

With `async_op=True` a collective returns a `Work` at once and the caller overlaps it with
other computation (DistributedDataParallel reduces one bucket while backward computes the
next); `Work.wait()` finishes it. Otherwise it returns None, finished.
"""

from __future__ import annotations

from typing import Any

from .. import array_ops as A
from ..errors import DTypeError
from ..tensor import Tensor
from .group import DistributedError, Group
from .nccl import NcclComm
from .staging import Staged, is_device_memory, new_dense, stage
from .world import current_group

__all__ = ["Work", "all_reduce", "broadcast", "all_gather", "barrier", "REDUCE_OPS"]

#: the reductions all_reduce offers
REDUCE_OPS = ("sum", "mean", "max", "min")
_MPI_DTYPES = ("float32", "float64", "int8", "uint8", "int32", "int64")


class Work:
    """A started collective. `wait()` returns once the result is in the tensor."""

    def __init__(self, request: Any = None, after: list[Any] | None = None) -> None:
        self._request = request
        self._after = after if after is not None else []
        self._done = request is None and not self._after

    def wait(self) -> None:
        if self._done:
            return
        if self._request is not None:
            self._request.wait()
        for step in self._after:
            step()
        self._done = True

    def is_completed(self) -> bool:
        return self._done


def all_reduce(tensor: Tensor, op: str = "sum", async_op: bool = False) -> Work | None:
    """Reduce `tensor` over all ranks, in place: afterwards every rank holds the same result.

    `op`: "sum", "mean" (the sum divided by world_size, floating dtypes), "max" or "min".

    >>> import tinygpt as tg, tinygpt.distributed as dist
    >>> x = tg.tensor([1.0, 2.0])
    >>> dist.all_reduce(x, op="mean")  # in a group of one, a no-op
    >>> x.tolist()
    [1.0, 2.0]
    """
    group = current_group()
    data = tensor._data
    _check_reduce(op, tensor)
    if group.size == 1 or data.size == 0:
        return _finished(Work(), async_op)
    staged = stage(data)
    reduce_op = "sum" if op == "mean" else op
    request = _engine_call(group, staged, "all_reduce", tensor, reduce_op)
    after = [staged.finish]
    if op == "mean":
        after.append(lambda: A.write(data, A.scalar("div", data, float(group.size))))
    after.append(tensor._bump_version)
    return _finished(Work(request, after), async_op)


def broadcast(tensor: Tensor, src: int = 0, async_op: bool = False) -> Work | None:
    """Copy rank `src`'s `tensor` into every rank's `tensor`, in place."""
    group = current_group()
    if not 0 <= src < group.size:
        raise DistributedError(f"broadcast: src={src} is not a rank of a group of {group.size}")
    data = tensor._data
    if group.size == 1 or data.size == 0:
        return _finished(Work(), async_op)
    staged = stage(data)
    request = _engine_call(group, staged, "broadcast", tensor, src)
    return _finished(Work(request, [staged.finish, tensor._bump_version]), async_op)


def all_gather(tensor: Tensor) -> Tensor:
    """Every rank's `tensor`, stacked in rank order: shape (world_size, *tensor.shape)."""
    group = current_group()
    data = tensor._data
    shape = (group.size, *data.shape)
    if group.size == 1:
        return Tensor._make(A.copy(data).reshape(shape))
    staged = stage(data)
    out = new_dense(data, shape)  # exported (or host-copied) the same way as the input
    request = _engine_call(group, staged, "all_gather", tensor, out)
    Work(request, [out.finish]).wait()
    return Tensor._make(out.target)


def barrier() -> None:
    """Return once every rank has called barrier()."""
    group = current_group()
    if group.size > 1:
        group.barrier().wait()  # type: ignore[attr-defined]


def _finished(work: Work, async_op: bool) -> Work | None:
    if async_op:
        return work
    work.wait()
    return None


def _check_reduce(op: str, tensor: Tensor) -> None:
    if op not in REDUCE_OPS:
        raise ValueError(f"all_reduce: op={op!r}; choose one of {', '.join(REDUCE_OPS)}")
    name = tensor.dtype.name
    if op == "mean" and not tensor.dtype.is_floating_point:
        raise DTypeError(f"all_reduce: op='mean' needs a floating dtype, got {name}")
    on_gpu = tensor.device.type == "cuda"
    if not on_gpu and name not in _MPI_DTYPES:
        raise DTypeError(
            f"all_reduce: MPI has no {name} arithmetic; reduce a copy in float32 "
            f"(x.float()) or int64 instead, on device {tensor.device}"
        )


def _engine_call(group: Group, staged: Staged, what: str, tensor: Tensor, arg: Any) -> Any:
    """Start `what` on MPI (host memory) or NCCL (device memory); returns its request."""
    dtype = tensor.dtype.name
    if not is_device_memory(staged.memory):
        mpi: Any = group
        if what == "all_reduce":
            return mpi.all_reduce(staged.memory, dtype, arg)
        if what == "broadcast":
            return mpi.broadcast(staged.memory, arg)
        return mpi.all_gather(staged.memory, arg.memory)
    nccl = _nccl_comm(group, tensor)
    stream = tensor._data.backend.native_stream() or 0
    if what == "all_reduce":
        return nccl.all_reduce(staged.memory, dtype, arg, stream)
    if what == "broadcast":
        return nccl.broadcast(staged.memory, dtype, arg, stream)
    return nccl.all_gather(staged.memory, arg.memory, dtype, stream)


def _nccl_comm(group: Group, tensor: Tensor) -> Any:
    """The NCCL communicator of the tensor's GPU, made (collectively) on first use."""
    cache: dict[int, Any] | None = getattr(group, "nccl", None)
    if cache is None:
        raise DistributedError(f"{tensor.device}: GPU collectives need the MPI group (mpiexec)")
    index = tensor.device.index or 0
    if index not in cache:
        cache[index] = NcclComm(group, index)
    return cache[index]
