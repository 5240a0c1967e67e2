"""`tg.cuda`: PyTorch's `torch.cuda` calls that everyday scripts make, answered from the backend
table (the tinygpt-backend-cuda plugin registers the "cuda" backend), so
`device = "cuda" if tg.cuda.is_available() else "cpu"` and a `set_seed` helper that calls
`tg.cuda.manual_seed_all(seed)` read and run as they do with PyTorch.

Without a GPU these behave as PyTorch's do on a CPU-only machine: seeding and
`empty_cache` do nothing, the memory counters are 0, `is_bf16_supported()` is False, and the
calls that need a device (`synchronize`, `current_device`, `get_device_name`) raise.

NOTE: tinygpt has one random generator for every device (`tg.manual_seed` seeds it; the
same seed gives the same numbers on every backend). With a GPU, `manual_seed` here seeds
that generator, as the GPU's tensors draw from it; without one it changes nothing, as in
PyTorch, where it would only seed a CUDA generator.

>>> import tinygpt as tg
>>> isinstance(tg.cuda.is_available(), bool)
True
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from . import cuda_amp as amp
from . import random as _random
from .backend.discovery import BackendInfo
from .backend.registry import backends, get_backend
from .dtypes import bfloat16
from .errors import DeviceError

__all__ = [
    "amp",
    "current_device",
    "device",
    "device_count",
    "empty_cache",
    "get_device_name",
    "initial_seed",
    "is_available",
    "is_bf16_supported",
    "manual_seed",
    "manual_seed_all",
    "max_memory_allocated",
    "max_memory_reserved",
    "memory_allocated",
    "memory_reserved",
    "reset_peak_memory_stats",
    "seed",
    "seed_all",
    "set_device",
    "synchronize",
]

_current = {"index": 0}


def _cuda_info() -> BackendInfo | None:
    for info in backends():
        if info.name == "cuda":
            return info
    return None


def is_available() -> bool:
    """True when the cuda backend is installed and found a GPU (see `tinygpt backends`)."""
    info = _cuda_info()
    return info is not None and info.available


def device_count() -> int:
    """How many GPUs the cuda backend can use (0 when it is unavailable)."""
    info = _cuda_info()
    if info is None or not info.available:
        return 0
    return info.device_count() if info.device_count is not None else 1


def _need_gpu(op: str) -> None:
    if not is_available():
        raise DeviceError(
            f"cuda.{op}: no GPU is available to tinygpt (see `tinygpt backends`); guard the "
            "call with `if tg.cuda.is_available():`, or install tinygpt-backend-cuda on a "
            "machine with an NVIDIA GPU"
        )


def _index(dev: Any) -> int:
    """The GPU index of `dev` (None: the current one; an int; "cuda:1"; a tg.device)."""
    if dev is None:
        return _current["index"]
    if isinstance(dev, int):
        return dev
    if isinstance(dev, str):
        _, _, tail = dev.partition(":")
        return int(tail) if tail else _current["index"]
    index = getattr(dev, "index", None)  # a tg.device
    return _current["index"] if index is None else int(index)


# ------------------------------------------------------------------ devices
def current_device() -> int:
    """The index of the GPU that `"cuda"` means (0 unless `set_device` changed it)."""
    _need_gpu("current_device")
    return _current["index"]


def set_device(dev: Any) -> None:
    """Make `dev` (an index, "cuda:1" or a tg.device) the GPU `current_device` names."""
    index = _index(dev)
    if is_available() and not 0 <= index < device_count():
        raise DeviceError(f"cuda.set_device: no GPU {index}; this machine has {device_count()}")
    _current["index"] = index


@contextlib.contextmanager
def device(dev: Any) -> Iterator[None]:
    """`with tg.cuda.device(1):` makes GPU 1 current inside the block."""
    before = _current["index"]
    set_device(dev)
    try:
        yield
    finally:
        _current["index"] = before


def get_device_name(dev: Any = None) -> str:
    """The GPU's name, as the cuda backend reports it (else "cuda:<index>")."""
    _need_gpu("get_device_name")
    backend = get_backend(f"cuda:{_index(dev)}")
    namer = getattr(backend, "device_name", None)
    return str(namer()) if callable(namer) else f"cuda:{_index(dev)}"


def synchronize(dev: Any = None) -> None:
    """Wait for every kernel queued on the GPU."""
    _need_gpu("synchronize")
    get_backend(f"cuda:{_index(dev)}").synchronize()


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """True when the cuda backend stores and computes bfloat16 (False without a GPU)."""
    del including_emulation  # tinygpt has no emulated bfloat16 on GPUs
    if not is_available():
        return False
    return bfloat16 in get_backend(f"cuda:{_index(None)}").dtypes


# ------------------------------------------------------------------ seeds
def manual_seed(seed: int) -> None:
    """Seed the generator GPU tensors draw from (tinygpt's one generator); without a GPU,
    nothing (PyTorch seeds a CUDA generator that CPU code never reads)."""
    if is_available():
        _random.manual_seed(seed)


manual_seed_all = manual_seed


def seed() -> None:
    """Seed the GPU's generator from the OS's randomness (nothing without a GPU)."""
    if is_available():
        _random.seed()


seed_all = seed


def initial_seed() -> int:
    """The seed the generator GPU tensors draw from started with."""
    _need_gpu("initial_seed")
    return _random.initial_seed()


# ------------------------------------------------------------------ memory
def empty_cache() -> None:
    """Hand the cuda backend's cached free blocks back to the driver (nothing without one)."""
    if is_available():
        release = getattr(get_backend(f"cuda:{_index(None)}"), "empty_cache", None)
        if callable(release):
            release()


def _memory(op: str, key: str, dev: Any) -> int:
    if not is_available():
        return 0  # as PyTorch on a machine without CUDA
    stats = getattr(get_backend(f"cuda:{_index(dev)}"), "memory_stats", None)
    if not callable(stats):
        raise NotImplementedError(f"cuda.{op}: this cuda backend does not report memory use")
    values = stats()
    if key not in values:
        raise NotImplementedError(f"cuda.{op}: this cuda backend does not track {key!r}")
    return int(values[key])


def memory_allocated(dev: Any = None) -> int:
    """Bytes the cuda backend's tensors hold now (0 without a GPU)."""
    return _memory("memory_allocated", "allocated", dev)


def memory_reserved(dev: Any = None) -> int:
    """Bytes the cuda backend has taken from the driver, held tensors and cache (0 without)."""
    return _memory("memory_reserved", "reserved", dev)


def max_memory_allocated(dev: Any = None) -> int:
    """The most bytes tensors held at once since the start or `reset_peak_memory_stats`."""
    return _memory("max_memory_allocated", "peak_allocated", dev)


def max_memory_reserved(dev: Any = None) -> int:
    """The most bytes taken from the driver at once (0 without a GPU)."""
    return _memory("max_memory_reserved", "peak_reserved", dev)


def reset_peak_memory_stats(dev: Any = None) -> None:
    """Start the peaks afresh from what is held now (nothing without a GPU)."""
    if is_available():
        reset = getattr(get_backend(f"cuda:{_index(dev)}"), "reset_peak_memory_stats", None)
        if callable(reset):
            reset()
