"""`tg.multiprocessing`: PyTorch's `torch.multiprocessing` — Python's `multiprocessing` (its
Process, Queue, Pool, contexts and start methods) plus `spawn(fn, args, nprocs)`, which runs
`fn(i, *args)` in `nprocs` fresh processes and raises if one of them fails. Tensors travel
between processes by pickling (a copy, not shared memory).
"""

from __future__ import annotations

import multiprocessing as _mp
from collections.abc import Callable
from multiprocessing import (
    Array,
    Barrier,
    Event,
    Lock,
    Manager,
    Pipe,
    Pool,
    Process,
    Queue,
    SimpleQueue,
    Value,
    cpu_count,
    current_process,
    get_all_start_methods,
    get_context,
    get_start_method,
    set_start_method,
)
from typing import Any

__all__ = [
    "Array",
    "Barrier",
    "Event",
    "Lock",
    "Manager",
    "Pipe",
    "Pool",
    "Process",
    "ProcessRaisedException",
    "Queue",
    "SimpleQueue",
    "Value",
    "cpu_count",
    "current_process",
    "get_all_start_methods",
    "get_context",
    "get_start_method",
    "set_start_method",
    "spawn",
    "start_processes",
]


class ProcessRaisedException(Exception):
    """A process started by `spawn` failed; the message names it and its exit code."""


def start_processes(
    fn: Callable[..., Any],
    args: tuple[Any, ...] = (),
    nprocs: int = 1,
    join: bool = True,
    daemon: bool = False,
    start_method: str = "spawn",
) -> list[Any] | None:
    """Run `fn(i, *args)` for i in range(nprocs), each in its own process."""
    context: Any = _mp.get_context(start_method)
    processes = [context.Process(target=fn, args=(i, *args), daemon=daemon) for i in range(nprocs)]
    for process in processes:
        process.start()
    if not join:
        return processes
    for process in processes:
        process.join()
    for index, process in enumerate(processes):
        if process.exitcode != 0:
            raise ProcessRaisedException(
                f"spawn: process {index} of {nprocs} exited with code {process.exitcode}"
            )
    return None


def spawn(
    fn: Callable[..., Any],
    args: tuple[Any, ...] = (),
    nprocs: int = 1,
    join: bool = True,
    daemon: bool = False,
    start_method: str = "spawn",
) -> list[Any] | None:
    """PyTorch's `mp.spawn`: `fn(i, *args)` in `nprocs` processes (see start_processes)."""
    return start_processes(fn, args, nprocs, join, daemon, start_method)
