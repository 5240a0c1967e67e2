"""The plugin module named by the ``tinygpt.backends`` entry point ``cuda``.

It registers the backend exactly the way a third-party plugin would: a name, a priority, a
probe and a lazy factory. The probe never raises and changes nothing: it looks for CuPy
without importing it, and only when CuPy is there asks the CUDA runtime how many GPUs it sees.
The kernels (`.backend`) are imported only when a ``cuda`` device is first used.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

from tinygpt.backend.hookspecs import hookimpl

if TYPE_CHECKING:
    from tinygpt.backend.protocol import Backend
    from tinygpt.device import Device

__all__ = ["tinygpt_register_backends"]

#: Above numpy (0): a GPU, when there is one, is the better default.
PRIORITY = 20

# NOTE: the checkout folder, not a PyPI name: tinygpt's distributions are not published there
INSTALL_HINT = "from the tinygpt checkout: pip install './tinygpt-backend-cuda[cuda12]'"


@hookimpl
def tinygpt_register_backends(register: Any) -> None:
    """Register the ``cuda`` device (``cuda``, ``cuda:0`` .. ``cuda:N-1``)."""
    register("cuda", _make_backend, priority=PRIORITY, probe=_probe, device_count=_device_count)


def _probe() -> str | None:
    """None when CuPy is installed and sees at least one GPU, else why not (one line)."""
    if importlib.util.find_spec("cupy") is None:
        return f"CuPy is not installed ({INSTALL_HINT})"
    count, error = _count_gpus()
    if error is not None:
        return f"no CUDA GPU found ({error})"
    if count == 0:
        return "no CUDA GPU found (the CUDA runtime reports 0 devices)"
    return None


def _device_count() -> int:
    return _count_gpus()[0]


def _count_gpus() -> tuple[int, str | None]:
    """(number of GPUs, why the count failed or None). Never raises."""
    try:
        import cupy

        return int(cupy.cuda.runtime.getDeviceCount()), None
    except Exception as error:  # noqa: BLE001 - no driver, wrong CUDA, broken CuPy: all "no GPU"
        text = " ".join(str(error).split()) or type(error).__name__
        return 0, f"{type(error).__name__}: {text}"[:200]


def _make_backend(device: Device) -> Backend:
    # NOTE: imported here, not at the top, so that discovering backends never compiles kernels.
    from .backend import CudaBackend

    return CudaBackend(device)
