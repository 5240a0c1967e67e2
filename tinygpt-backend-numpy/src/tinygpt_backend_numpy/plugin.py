"""The plugin module named by the ``tinygpt.backends`` entry point ``numpy``.

It registers the backend exactly the way a third-party plugin would: a name, a priority, a
cheap availability probe and a lazy factory. Nothing here imports NumPy.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

from tinygpt.backend.hookspecs import hookimpl

if TYPE_CHECKING:
    from tinygpt.backend.protocol import Backend
    from tinygpt.device import Device

__all__ = ["tinygpt_register_backends"]

#: The lowest first-party priority: numpy runs everywhere, so it is the fallback default.
PRIORITY = 0


@hookimpl
def tinygpt_register_backends(register: Any) -> None:
    """Register the ``numpy`` device."""
    register("numpy", _make_backend, priority=PRIORITY, probe=_probe)


def _probe() -> str | None:
    """None when NumPy can be imported; looks for it without importing it (that is slow)."""
    if importlib.util.find_spec("numpy") is None:
        return "numpy is not installed (pip install numpy)"
    return None


def _make_backend(device: Device) -> Backend:
    # NOTE: imported here, not at the top, so that discovering backends never imports NumPy.
    from ._malloc import keep_freed_memory
    from ._threads import govern
    from .backend import NumpyBackend

    keep_freed_memory()  # op outputs reuse mapped pages (TINYGPT_MALLOC_KEEP=0: off)

    backend = NumpyBackend(device)
    govern(backend)  # matmul threads: the cores other processes leave free (TINYGPT_THREADS)
    return backend
