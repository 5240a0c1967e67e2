"""What a process group is, and what the environment says about the one to join.

A group knows this process's `rank` among `size` processes. `world.init()` picks one: MPI's
COMM_WORLD under `mpiexec` (MPICH, Open MPI, Slurm's PMI), else `SingleProcessGroup`, a
group of one in which every collective returns at once, so a script written for N processes
runs unchanged in one.

Environment variables read here, and only here:

- `TINYGPT_DIST_TIMEOUT`: seconds a collective may wait for the other ranks before it
  raises `DistributedError` (default 1800: a slow rank 0 writing a checkpoint is fine, a
  rank stuck forever is not).
- The launchers' own variables (`PMI_SIZE`, `OMPI_COMM_WORLD_SIZE`, ...), to tell whether
  this process was started by one, without importing MPI.
"""

from __future__ import annotations

import os

from ..errors import TinyGPTError

__all__ = [
    "DistributedError",
    "Group",
    "SingleProcessGroup",
    "MPI_MISSING",
    "launched_world_size",
    "default_timeout",
]

#: how to get MPI: the extra of this checkout's core (there is no other package to install)
MPI_MISSING = (
    "MPI for Python (mpi4py) is not installed; install the [mpi] extra of tinygpt-core, "
    'from a checkout: pip install "./tinygpt-core[mpi]" (it brings mpi4py and the MPICH '
    "library, wheels with nothing to compile)"
)

# each launcher's "how many processes" variable: MPICH's Hydra, Intel MPI and Slurm's
# `srun --mpi=pmi2` set PMI_SIZE; Open MPI sets its own
_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE")


class DistributedError(TinyGPTError, RuntimeError):
    """A collective that cannot complete: MPI missing, a rank that died or stopped
    answering, or arguments that differ between ranks."""


class Group:
    """What every process group offers; `init()` returns one."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    #: "single" or "mpi"
    kind: str = "single"

    def finalize(self) -> None:
        """Release the engine's resources (idempotent)."""

    def abort(self, exit_code: int) -> None:
        """End every process of the group with `exit_code` (nothing to end in a group of
        one: the caller's exception ends it)."""


class SingleProcessGroup(Group):
    """A world of one process: nothing to exchange."""

    kind = "single"


def default_timeout() -> float:
    """Seconds a collective waits for the other ranks (`TINYGPT_DIST_TIMEOUT`, default 1800)."""
    text = os.environ.get("TINYGPT_DIST_TIMEOUT", "1800")
    try:
        value = float(text)
    except ValueError:
        raise DistributedError(
            f"TINYGPT_DIST_TIMEOUT={text!r} is not a number of seconds; set e.g. 600"
        ) from None
    if value <= 0:
        raise DistributedError(f"TINYGPT_DIST_TIMEOUT={text!r} must be > 0 seconds")
    return value


def launched_world_size() -> int:
    """How many processes the launcher started (1 when no MPI launcher started this one)."""
    for name in _SIZE_VARIABLES:
        text = os.environ.get(name)
        if text is not None and text.strip().isdigit():
            return int(text)
    return 1
