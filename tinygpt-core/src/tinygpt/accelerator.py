"""`tg.accelerator`: PyTorch's device-neutral accelerator calls (PyTorch >= 2.6, used by its
quickstart tutorial), so that

    device = tg.accelerator.current_accelerator().type if tg.accelerator.is_available() else "cpu"

reads and runs as it does with PyTorch. An accelerator is a GPU backend: "cuda" when the
tinygpt-backend-cuda plugin found one. The host backends (cpu, numpy, host plugins) are not
accelerators, as PyTorch's CPU is not: on a machine without a GPU `is_available()` is False
and `current_accelerator()` is None.

>>> import tinygpt as tg
>>> tg.accelerator.is_available() == (tg.accelerator.current_accelerator() is not None)
True
"""

from __future__ import annotations

from typing import Any

from . import cuda
from .device import Device, device

__all__ = [
    "current_accelerator",
    "current_device_idx",
    "current_device_index",
    "device_count",
    "empty_cache",
    "is_available",
    "max_memory_allocated",
    "memory_allocated",
    "reset_peak_memory_stats",
    "set_device_idx",
    "set_device_index",
    "synchronize",
]


def is_available() -> bool:
    """True when a GPU backend is installed and found a device."""
    return cuda.is_available()


def current_accelerator(check_available: bool = False) -> Device | None:
    """The accelerator's device (`tg.device("cuda")`), or None without one."""
    del check_available  # an accelerator here is always an available one
    return device("cuda") if cuda.is_available() else None


def device_count() -> int:
    """How many accelerator devices there are (0 without one)."""
    return cuda.device_count()


def current_device_index() -> int:
    """The index of the current accelerator device."""
    return cuda.current_device()


current_device_idx = current_device_index


def set_device_index(index: Any) -> None:
    """Make device `index` the current one."""
    cuda.set_device(index)


set_device_idx = set_device_index


def synchronize(index: Any = None) -> None:
    """Wait for every kernel queued on the accelerator."""
    cuda.synchronize(index)


def empty_cache() -> None:
    """Give cached free device memory back (nothing without an accelerator)."""
    cuda.empty_cache()


def memory_allocated(index: Any = None) -> int:
    """Bytes the accelerator's tensors hold (0 without one)."""
    return cuda.memory_allocated(index)


def max_memory_allocated(index: Any = None) -> int:
    """The peak of `memory_allocated` (0 without an accelerator)."""
    return cuda.max_memory_allocated(index)


def reset_peak_memory_stats(index: Any = None) -> None:
    """Start the peaks afresh."""
    cuda.reset_peak_memory_stats(index)
