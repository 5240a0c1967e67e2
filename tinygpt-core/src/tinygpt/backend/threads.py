"""How many threads a CPU backend's kernels use: the cores that nothing else is using.

A parallel kernel splits its work evenly and waits for its slowest thread. When another
busy process shares a core with one of those threads, that thread gets half a core and
every kernel waits for it; worse, the threads that finished early spin while they wait,
taking time from the very process that slows them. On a 2-core machine one busy neighbour
made a training step 15-25x slower with 2 threads, and only ~1.4x slower with 1.

So by default (``TINYGPT_THREADS`` unset or ``auto``) a `ThreadGovernor` measures, about once
a second, how much CPU time the *other* processes used (all busy time from ``/proc/stat``
minus this process's own) and gives the kernels the cores left: all of them on a quiet
machine, one fewer per busy neighbour, never fewer than 1. ``TINYGPT_THREADS=N`` (or
``tinygpt train --threads N``) fixes the count instead. Where ``/proc/stat`` does not exist
(not Linux), the governor keeps the count it started with.

A backend calls `poll()` from a kernel it runs often (matmul): the check costs a clock read,
and a count changes only on the thread that runs the kernels, as OpenMP requires.

NOTE: a kernel's result must not depend on the count (a resumed run must compute the same
bits): the cpu backend splits a full reduction into a fixed number of parts for that reason.
OpenBLAS's matmul gives the same bits on any count for most shapes, not for all; where
bit-for-bit reproducibility across machines matters, fix the count with TINYGPT_THREADS.
"""

from __future__ import annotations

import os
import time
import weakref
from collections.abc import Callable

from ..config import env_threads

__all__ = ["ThreadGovernor", "cpu_count", "fix_threads", "other_processes_load"]

#: every governor of this process (weakly: a backend's lives as long as the backend)
_GOVERNORS: weakref.WeakSet[ThreadGovernor] = weakref.WeakSet()
#: the count `tg.set_num_threads` fixed, if any: governors made later start from it
_FIXED: list[int] = []


def fix_threads(threads: int) -> None:
    """`tg.set_num_threads(threads)`: every CPU backend's governor, now and later, stops
    following the load and uses `threads` (as `torch.set_num_threads`, it beats the
    environment)."""
    _FIXED[:] = [threads]
    for governor in list(_GOVERNORS):
        governor.fix(threads)


def cpu_count() -> int:
    """The cores this process may run on (its affinity mask, where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _busy_ticks() -> int | None:
    """All CPUs' busy time so far, in clock ticks (None where /proc/stat is unreadable)."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    # user nice system idle iowait irq softirq steal ...: everything but idle and iowait
    values = [int(v) for v in fields[1:9]]
    return sum(values) - values[3] - values[4]


def _own_seconds() -> float:
    times = os.times()
    return times.user + times.system


class _Sample:
    """A (wall clock, all busy ticks, own CPU seconds) reading."""

    def __init__(self) -> None:
        self.wall = time.monotonic()
        self.busy = _busy_ticks()
        self.own = _own_seconds()


def other_processes_load(before: _Sample, after: _Sample) -> float | None:
    """How many cores other processes kept busy between two samples (None: unknown)."""
    if before.busy is None or after.busy is None:
        return None
    wall = after.wall - before.wall
    if wall <= 0:
        return None
    ticks_per_second = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    busy = (after.busy - before.busy) / ticks_per_second
    own = after.own - before.own
    return max(busy - own, 0.0) / wall


class ThreadGovernor:
    """Sets a backend's thread count to the cores other processes leave free.

    `set_threads(n)` applies a count (OpenMP, OpenBLAS, ...). With ``TINYGPT_THREADS=N``
    the count is N, set once; with ``auto`` (the default) `poll()` re-measures every
    `interval` seconds, with `limit` (e.g. OMP_NUM_THREADS) as the most it ever uses.
    """

    def __init__(
        self,
        set_threads: Callable[[int], None],
        limit: int | None = None,
        interval: float = 1.0,
    ) -> None:
        self.set_threads = set_threads
        self.cores = cpu_count()
        self.limit = max(1, min(limit or self.cores, self.cores))
        self.interval = interval
        fixed = _FIXED[0] if _FIXED else env_threads()
        self.adaptive = fixed is None
        self.threads = fixed if fixed is not None else self.limit
        self.set_threads(self.threads)
        _GOVERNORS.add(self)
        self._sample = _Sample()
        self._next = self._sample.wall + interval

    def fix(self, threads: int) -> None:
        """Use `threads` from now on, whatever the load."""
        self.adaptive = False
        self.threads = threads
        self.set_threads(threads)

    def poll(self) -> None:
        """Re-measure when `interval` has passed; cheap otherwise (one clock read)."""
        if not self.adaptive or time.monotonic() < self._next:
            return
        sample = _Sample()
        others = other_processes_load(self._sample, sample)
        self._sample = sample
        self._next = sample.wall + self.interval
        if others is None:
            self.adaptive = False  # no /proc/stat here: keep the count we have
            return
        # NOTE: rounded, so that a neighbour must take half a core to cost us a thread
        busy_cores = int(others + 0.5)
        threads = max(1, min(self.limit, self.cores - busy_cores))
        if threads != self.threads:
            self.threads = threads
            self.set_threads(threads)
