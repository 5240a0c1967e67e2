"""The group this process joined: `init()`, `rank()`, `world_size()`, `local_rank()`, `abort()`.

One group per process, joined once; every collective uses it.
"""

from __future__ import annotations

from typing import Any

from .group import Group, SingleProcessGroup, default_timeout, launched_world_size
from .mpi import MpiGroup

__all__ = [
    "init",
    "is_initialized",
    "current_group",
    "rank",
    "world_size",
    "local_rank",
    "abort",
]

_current: Group | None = None


def init(timeout: float | None = None) -> Group:
    """Join the process group (once; later calls return the same group).

    A group of one when this process was not started by an MPI launcher; raises
    DistributedError naming the fix when it was but mpi4py is not installed.

    >>> import tinygpt.distributed as dist
    >>> group = dist.init()
    >>> dist.rank(), dist.world_size()
    (0, 1)
    """
    global _current
    if _current is not None:
        return _current
    wait = default_timeout() if timeout is None else timeout
    if launched_world_size() > 1:
        _current = MpiGroup(wait)  # raises, naming the fix, when mpi4py is missing
    else:
        _current = SingleProcessGroup()
    return _current


def is_initialized() -> bool:
    return _current is not None


def current_group() -> Group:
    """The group `init()` joined, joining it first if need be."""
    return _current if _current is not None else init()


def rank() -> int:
    """This process's index in the group, 0 .. world_size() - 1 (0 is the one that writes)."""
    return current_group().rank


def world_size() -> int:
    """How many processes are in the group (1 when not started by an MPI launcher)."""
    return current_group().size


def local_rank() -> int:
    """This process's index among the group's processes on the same machine (picks a GPU)."""
    return current_group().local_rank


def abort(exit_code: int = 1) -> None:
    """Stop every rank at once (after one rank failed), so that none waits forever in a
    collective for it. mpiexec then exits with a non-zero status."""
    current_group().abort(exit_code)


def _reset_for_tests(group: Any = None) -> None:
    """Forget the joined group (tests only)."""
    global _current
    _current = group
