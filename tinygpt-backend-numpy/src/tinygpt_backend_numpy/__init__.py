"""tinygpt's reference backend: every kernel of the backend protocol in a few lines of NumPy.

Importing this package is cheap on purpose (it does not import NumPy): tinygpt finds it through
the ``tinygpt.backends`` entry point, and only builds a `NumpyBackend` (importing NumPy) the
first time the ``numpy`` device is used.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("tinygpt-backend-numpy")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
