"""The plugin module named by the ``tinygpt.backends`` entry point ``cpu``.

It registers the backend exactly the way a third-party plugin would: a name, a priority, an
availability probe and a lazy factory. Priority 10 puts it above numpy (0): installed and
working, ``cpu`` is the default device.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tinygpt.backend.hookspecs import hookimpl

if TYPE_CHECKING:
    from tinygpt.backend.protocol import Backend
    from tinygpt.device import Device

__all__ = ["tinygpt_register_backends", "PRIORITY"]

#: above numpy (0), below cuda (20)
PRIORITY = 10


@hookimpl
def tinygpt_register_backends(register: Any) -> None:
    """Register the ``cpu`` device."""
    register("cpu", _make_backend, priority=PRIORITY, probe=_probe)


def _probe() -> str | None:
    """None when the compiled kernels import; else why not, and how to fix it."""
    try:
        from . import native  # noqa: F401 - loads OpenBLAS and the extension modules
    except Exception as error:  # noqa: BLE001 - ImportError, OSError from the loader, ...
        return (
            f"the compiled extension does not import ({type(error).__name__}: {error}); "
            "reinstall it: pip install --force-reinstall ./tinygpt-backend-cpu"
        )
    return None


def _make_backend(device: Device) -> Backend:
    from ._threads import govern
    from .backend import CpuBackend

    backend = CpuBackend(device)
    govern(backend)  # threads: the cores other processes leave free (TINYGPT_THREADS)
    return backend
