"""tinygpt's CPU backend: every kernel of the backend protocol compiled from Cython, run on
OpenMP threads, with matmul in OpenBLAS.

Importing this package is cheap: it loads the OpenBLAS library (so that every compiled
module imports on its own), and tinygpt finds it through the ``tinygpt.backends`` entry
point and loads the compiled kernels (`native`) only when the ``cpu`` device is probed or
used. The thread controls below load them on first call.

>>> import tinygpt_backend_cpu
>>> tinygpt_backend_cpu.openmp_enabled()
True
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
from importlib.metadata import PackageNotFoundError, version

__all__ = [
    "__version__",
    "set_num_threads",
    "get_num_threads",
    "openmp_enabled",
    "build_info",
    "empty_cache",
]


def _load_openblas() -> None:
    """Load scipy-openblas32's library into the process (RTLD_GLOBAL) before any extension
    module: then `import tinygpt_backend_cpu.runtime` works on its own, also in an editable
    install, whose extensions' rpath ($ORIGIN/../scipy_openblas32/lib) leads nowhere. Found
    without importing the package (~8 ms once, one OpenBLAS thread); missing: the
    extensions' own rpath, and `native`'s import, still apply."""
    spec = importlib.util.find_spec("scipy_openblas32")
    if spec is None or spec.origin is None:
        return
    library = os.path.join(os.path.dirname(spec.origin), "lib", "libscipy_openblas.so")
    if os.path.exists(library):
        ctypes.CDLL(library, mode=ctypes.RTLD_GLOBAL)


_load_openblas()

try:
    __version__ = version("tinygpt-backend-cpu")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"


def set_num_threads(threads: int) -> None:
    """Use `threads` threads in this backend's kernels (OpenMP) and matmuls (OpenBLAS).

    By default the backend uses the cores that other processes leave free (at most
    OMP_NUM_THREADS), or TINYGPT_THREADS when set; a count set here stays.
    """
    from ._threads import stop_governing
    from .native import runtime

    stop_governing(threads)
    runtime.set_num_threads(threads)


def get_num_threads() -> int:
    """How many threads a parallel kernel of this backend uses."""
    from .native import runtime

    return runtime.get_num_threads()


def openmp_enabled() -> bool:
    """True when the compiled kernels were built with OpenMP (the build insists on it)."""
    from .native import runtime

    return runtime.openmp_enabled()


def build_info() -> dict:
    """How the kernels were compiled (OpenMP version, optimization, SIMD variant, compiler)."""
    from .native import runtime

    return runtime.build_info()


def empty_cache() -> None:
    """Return the cached free blocks of large buffers to the operating system.

    Large result buffers are recycled to avoid page faults (see `buffer.pyx`); this frees
    the ones not in use, like `torch.cuda.empty_cache`.
    """
    from .native import buffer

    buffer.empty_cache()
