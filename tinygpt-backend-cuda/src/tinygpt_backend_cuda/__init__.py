"""tinygpt's CUDA backend: every kernel of the backend protocol as CuPy RawKernel CUDA C.

Importing this package is cheap on purpose (it imports neither CuPy nor the kernels): tinygpt
finds it through the ``tinygpt.backends`` entry point, and only builds a `CudaBackend` the
first time a ``cuda`` device is used.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("tinygpt-backend-cuda")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
