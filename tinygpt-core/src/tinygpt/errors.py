"""The exceptions tinygpt raises. Each names the op, what it got and how to fix it."""

from __future__ import annotations

__all__ = [
    "TinyGPTError",
    "ShapeError",
    "DTypeError",
    "DeviceError",
    "BackendError",
    "SerializationError",
    "OutOfMemoryError",
]


class TinyGPTError(Exception):
    """Base class of every error tinygpt raises on purpose."""


class ShapeError(TinyGPTError, ValueError, RuntimeError):
    """Shapes that do not fit the op: `add: (2, 3) + (4,): shapes do not broadcast`.

    Also a RuntimeError because PyTorch raises RuntimeError for these (matmul, broadcasting,
    view, cat), so PyTorch code's `except RuntimeError:` catches it too."""


class DTypeError(TinyGPTError, TypeError):
    """A dtype the op cannot take: `matmul: int64 @ float32: dtypes differ`."""


class DeviceError(TinyGPTError, RuntimeError):
    """Tensors on different devices, or a device that is unknown or unavailable."""


class BackendError(TinyGPTError, RuntimeError):
    """A backend plugin that is broken, registered twice, or lacks a kernel."""


class SerializationError(TinyGPTError, ValueError):
    """A file that is not a valid safetensors file (truncated, foreign, corrupt)."""


class OutOfMemoryError(TinyGPTError, MemoryError):
    """A tensor too large to allocate or even to address, named before anything is allocated:
    `zeros: (2305843009213693952,) float32 needs 9223372036854775808 bytes (8.0 EiB); ...`."""
