"""An example third-party tinygpt backend in pure Python: every kernel is a plain loop.

It needs nothing but tinygpt-core: buffers are `array.array` objects, the maths is `math`.
It is slow by design (thousands of times slower than NumPy) and meant to be read: each
kernel is the most literal statement of what the backend protocol asks for. Copy this folder
to start your own backend; docs/writing-a-backend.md in the tinygpt repository explains it.

Importing this package is cheap: tinygpt imports `plugin.py` when it discovers backends,
and `backend.py` only when the ``pure`` device is first used.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("tinygpt-backend-pure")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
