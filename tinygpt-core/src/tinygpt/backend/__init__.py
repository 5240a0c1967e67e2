"""Backends: the protocol every device implements, and the plugin registry that finds them."""

from .hookspecs import hookimpl
from .protocol import Backend
from .registry import BackendInfo, backends, default_device, get_backend, set_default_device

__all__ = [
    "Backend",
    "BackendInfo",
    "backends",
    "default_device",
    "get_backend",
    "hookimpl",
    "set_default_device",
]
