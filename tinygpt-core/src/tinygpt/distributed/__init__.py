"""Multi-process collectives: MPI (mpi4py) on host memory, NCCL (CuPy) on GPU memory.

    import tinygpt as tg
    import tinygpt.distributed as dist

    dist.init()                        # a group of one unless started by mpiexec
    x = tg.full((3,), float(dist.rank()))
    dist.all_reduce(x, op="sum")       # in place: every rank now holds 0 + 1 + ... + (N-1)

Run it as `mpiexec -n 2 python script.py` (MPICH's mpiexec comes with the [mpi] extra:
`pip install "./tinygpt-core[mpi]"`). Without a launcher, and without mpi4py installed, the
same script runs as one process and every collective returns at once.

Reading order: `group.py` (what a group is) -> `world.py` (init, rank, world_size) ->
`staging.py` (a tensor's memory as
MPI/NCCL see it, `Backend.export_buffer`) -> `collectives.py` -> `mpi.py` -> `nccl.py`.
Data parallelism built on this: `tinygpt.nn.parallel.DistributedDataParallel`.
"""

from .collectives import REDUCE_OPS, Work, all_gather, all_reduce, barrier, broadcast
from .group import MPI_MISSING, DistributedError, Group, launched_world_size
from .world import abort, current_group, init, is_initialized, local_rank, rank, world_size

__all__ = [
    "init",
    "is_initialized",
    "current_group",
    "rank",
    "world_size",
    "local_rank",
    "launched_world_size",
    "all_reduce",
    "broadcast",
    "all_gather",
    "barrier",
    "abort",
    "Work",
    "Group",
    "DistributedError",
    "REDUCE_OPS",
    "MPI_MISSING",
]
