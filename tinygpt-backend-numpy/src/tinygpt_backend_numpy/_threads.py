"""The numpy backend's thread count on a shared machine (see `tinygpt.backend.threads`).

NumPy runs elementwise work on one thread; only its matmuls use threads, in the OpenBLAS
that NumPy ships (a pthreads pool whose idle threads spin). By default that pool gets the
cores that other processes leave free, re-measured about once a second from matmul;
``TINYGPT_THREADS=N`` fixes it. NumPy has no API for it, so the count is set through
OpenBLAS's own `openblas_set_num_threads`, found among the libraries NumPy loaded; where
there is none (another BLAS, another OS) the backend runs as NumPy would on its own.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable
from typing import Any

from tinygpt.backend.threads import ThreadGovernor

__all__ = ["govern", "openblas_thread_setter"]

#: the setter's name in NumPy's OpenBLAS builds: scipy-openblas (NumPy 2), older wheels
_SETTERS = (
    "scipy_openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "openblas_set_num_threads64_",
    "openblas_set_num_threads",
)


def openblas_thread_setter() -> Callable[[int], None] | None:
    """`set_num_threads(n)` of the OpenBLAS NumPy loaded, or None when none is found."""
    import numpy

    root = os.path.dirname(os.path.dirname(numpy.__file__))  # NOTE: numpy.libs is a sibling
    for path in _loaded_libraries():
        name = os.path.basename(path)
        if "openblas" not in name or not path.startswith(root) or "numpy" not in path:
            continue
        try:
            library = ctypes.CDLL(path)  # already loaded: this only looks it up
        except OSError:
            continue
        for symbol in _SETTERS:
            setter = getattr(library, symbol, None)
            if setter is not None:
                setter.argtypes = [ctypes.c_int]
                setter.restype = None
                return setter
    return None


def _loaded_libraries() -> list[str]:
    """The shared libraries mapped into this process (Linux; empty elsewhere)."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            paths = {line.split()[-1] for line in maps if ".so" in line}
    except OSError:
        return []
    return sorted(path for path in paths if path.startswith("/"))


def govern(backend: Any) -> ThreadGovernor | None:
    """Give `backend` a ThreadGovernor over NumPy's OpenBLAS, polled before each matmul."""
    setter = openblas_thread_setter()
    if setter is None:
        return None
    # OpenBLAS's own order: OPENBLAS_NUM_THREADS, else OMP_NUM_THREADS, caps the count
    limit = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS") or ""
    limit = limit.split(",")[0].strip()
    governor = ThreadGovernor(setter, limit=int(limit) if limit.isdigit() else None)
    matmul = backend.matmul

    def governed_matmul(a: Any, b: Any) -> Any:
        governor.poll()
        return matmul(a, b)

    backend.matmul = governed_matmul
    return governor
