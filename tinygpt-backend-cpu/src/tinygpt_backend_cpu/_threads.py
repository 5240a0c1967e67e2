"""The cpu backend's thread count on a shared machine (see `tinygpt.backend.threads`).

By default the kernels use the cores that other processes leave free, re-measured about once
a second from matmul (called many times per training step, on the thread that runs the
kernels, as `omp_set_num_threads` requires). ``TINYGPT_THREADS=N`` fixes the count, and
``OMP_NUM_THREADS`` caps it; `tinygpt_backend_cpu.set_num_threads` fixes it from code.
"""

from __future__ import annotations

import os
from typing import Any

from tinygpt.backend.threads import ThreadGovernor

__all__ = ["govern", "stop_governing"]

#: the governors of this process's backend instances (one per device, in practice one)
_GOVERNORS: list[ThreadGovernor] = []
#: the count `set_num_threads` fixed (None: none yet): a backend made later keeps it, so
#: `tg.set_num_threads(1)` at the top of a script holds, as `torch.set_num_threads` does
_FIXED: list[int] = []
#: whether this process registered `_one_thread_after_fork`
_FORK_HANDLER = []


def govern(backend: Any) -> ThreadGovernor:
    """Give `backend` a ThreadGovernor, polled before each matmul."""
    from .native import runtime

    governor = ThreadGovernor(runtime.set_num_threads, limit=_omp_limit())
    if _FIXED:  # set before this backend existed: it wins over the governor's first count
        governor.adaptive = False
        governor.threads = _FIXED[0]
        runtime.set_num_threads(_FIXED[0])
    _GOVERNORS.append(governor)
    if not _FORK_HANDLER:
        os.register_at_fork(after_in_child=_one_thread_after_fork)
        _FORK_HANDLER.append(True)
    matmul = backend.matmul

    def governed_matmul(a: Any, b: Any) -> Any:
        governor.poll()
        return matmul(a, b)

    backend.matmul = governed_matmul
    return governor


def stop_governing(threads: int | None = None) -> None:
    """An explicit `set_num_threads(threads)` wins: the governors stop changing the count,
    and backends made later start from it."""
    for governor in _GOVERNORS:
        governor.adaptive = False
    if threads is not None:
        _FIXED[:] = [threads]


def _one_thread_after_fork() -> None:
    """A forked child (a DataLoader worker, multiprocessing's default on Linux) runs its kernels
    on one thread, for good: GNU OpenMP's thread pool does not survive fork, and a child's
    first parallel kernel would wait forever for the parent's workers."""
    from .native import runtime

    stop_governing(1)
    runtime.set_num_threads(1)


def _omp_limit() -> int | None:
    """OMP_NUM_THREADS as a cap (its first value: the outermost level), if it is a number."""
    value = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    return int(value) if value.isdigit() and int(value) > 0 else None
