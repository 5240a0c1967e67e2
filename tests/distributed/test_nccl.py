"""The NCCL path without a GPU: tinygpt.distributed.nccl against a fake `cupy.cuda.nccl`.

It checks what tinygpt asks of CuPy (the unique id shared through MPI, device pointers,
counts, NCCL dtypes, the backend's stream, abort on timeout), not NCCL itself: that needs
GPUs, and is listed as unverified in the issue's note.
"""

from __future__ import annotations

import sys
import types

import pytest

import tinygpt as tg
import tinygpt.distributed as dist
from tinygpt.distributed import collectives, nccl
from tinygpt.distributed.staging import Staged


class FakeCommunicator:
    def __init__(self, size: int, unique_id: object, rank: int) -> None:
        self.created = (size, unique_id, rank)
        self.calls: list[tuple] = []
        self.aborted = False

    def allReduce(self, *args: object) -> None:  # noqa: N802 - CuPy's names
        self.calls.append(("allReduce", *args))

    def broadcast(self, *args: object) -> None:
        self.calls.append(("broadcast", *args))

    def allGather(self, *args: object) -> None:  # noqa: N802
        self.calls.append(("allGather", *args))

    def check_async_error(self) -> None:
        pass

    def abort(self) -> None:
        self.aborted = True

    def destroy(self) -> None:
        pass


class FakeStream:
    done_after = 0  # polls before the stream reports done; -1: never

    def __init__(self, pointer: int) -> None:
        self.pointer = pointer
        self.polls = 0

    @property
    def done(self) -> bool:
        self.polls += 1
        return FakeStream.done_after >= 0 and self.polls > FakeStream.done_after


class FakeDevice:
    def __init__(self, index: int) -> None:
        self.index = index

    def __enter__(self) -> FakeDevice:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class FakeArray:
    """What NCCL needs of a CuPy array: a device pointer and a size."""

    __cuda_array_interface__ = {"version": 3}

    def __init__(self, pointer: int, size: int) -> None:
        self.data = types.SimpleNamespace(ptr=pointer)
        self.size = size


@pytest.fixture
def fake_cupy(monkeypatch):
    fake_nccl = types.ModuleType("cupy.cuda.nccl")
    names = ["FLOAT16", "FLOAT32", "FLOAT64", "INT32", "INT64", "UINT8", "SUM", "MAX", "MIN"]
    for code, name in enumerate(names):
        setattr(fake_nccl, f"NCCL_{name}", code)
    fake_nccl.get_unique_id = lambda: ("unique", 42)
    fake_nccl.NcclCommunicator = FakeCommunicator
    cuda = types.ModuleType("cupy.cuda")
    cuda.nccl = fake_nccl
    cuda.Device = FakeDevice
    cuda.ExternalStream = FakeStream
    cupy = types.ModuleType("cupy")
    cupy.cuda = cuda
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    monkeypatch.setitem(sys.modules, "cupy.cuda", cuda)
    monkeypatch.setitem(sys.modules, "cupy.cuda.nccl", fake_nccl)
    FakeStream.done_after = 0
    return fake_nccl


class FakeGroup:
    """The MPI group's side: rank 1 of 2, receiving rank 0's unique id."""

    rank, size, timeout = 1, 2, 0.2

    def __init__(self) -> None:
        self.nccl: dict[int, object] = {}
        self.exchanged: list[object] = []

    def exchange_object(self, value: object, root: int) -> object:
        self.exchanged.append(value)
        return ("unique", 42)  # what rank 0 drew


def test_the_communicator_gets_rank_0s_id_through_mpi(fake_cupy):
    group = FakeGroup()
    comm = nccl.NcclComm(group, device_index=1)
    assert group.exchanged == [None]  # rank 1 draws no id of its own
    assert comm._comm.created == (2, ("unique", 42), 1)


def test_all_reduce_is_in_place_on_the_backends_stream(fake_cupy):
    comm = nccl.NcclComm(FakeGroup(), device_index=0)
    request = comm.all_reduce(FakeArray(0xABC, 10), "float32", "sum", stream=77)
    fake = fake_cupy
    assert comm._comm.calls == [
        ("allReduce", 0xABC, 0xABC, 10, fake.NCCL_FLOAT32, fake.NCCL_SUM, 77)
    ]
    request.wait()


def test_broadcast_and_all_gather_pass_pointers_and_counts(fake_cupy):
    comm = nccl.NcclComm(FakeGroup(), device_index=0)
    comm.broadcast(FakeArray(1, 4), "int64", root=0, stream=5).wait()
    comm.all_gather(FakeArray(2, 4), FakeArray(3, 8), "bool", stream=5).wait()
    fake = fake_cupy
    assert comm._comm.calls == [
        ("broadcast", 1, 1, 4, fake.NCCL_INT64, 0, 5),
        ("allGather", 2, 3, 4, fake.NCCL_UINT8, 5),
    ]


def test_a_collective_that_never_finishes_aborts_and_raises(fake_cupy):
    FakeStream.done_after = -1
    comm = nccl.NcclComm(FakeGroup(), device_index=0)
    request = comm.all_reduce(FakeArray(1, 3), "float32", "sum", stream=0)
    with pytest.raises(dist.DistributedError, match="did not finish within 0.2 s"):
        request.wait()
    assert comm._comm.aborted


def test_device_memory_goes_to_nccl_never_to_mpi(fake_cupy):
    group = FakeGroup()
    memory = FakeArray(9, 3)
    tensor = tg.ones(3, device="numpy")
    staged = Staged(tensor._data, memory, None, host=False)
    collectives._engine_call(group, staged, "all_reduce", tensor, "sum")
    comm = group.nccl[0]
    assert comm._comm.calls[0][:4] == ("allReduce", 9, 9, 3)
