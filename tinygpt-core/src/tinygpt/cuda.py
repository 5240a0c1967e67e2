"""`tg.cuda.is_available()` and `tg.cuda.device_count()`: PyTorch's device checks, answered from
the backend table (the tinygpt-backend-cuda plugin registers the "cuda" backend), so
`device = "cuda" if tg.cuda.is_available() else "cpu"` reads as it does with PyTorch.

>>> import tinygpt as tg
>>> isinstance(tg.cuda.is_available(), bool)
True
"""

from __future__ import annotations

from . import cuda_amp as amp
from .backend.discovery import BackendInfo
from .backend.registry import backends

__all__ = ["amp", "device_count", "is_available"]


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
