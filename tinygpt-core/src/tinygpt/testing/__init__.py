"""The backend conformance kit: every protocol method, every dtype, checked against NumPy.

Run it against any installed backend (tinygpt's own or a third party's)::

    pip install './tinygpt-core[test]' ./tinygpt-backend-numpy   # from the tinygpt checkout
    pytest --pyargs tinygpt.testing --tinygpt-backend=numpy
    pytest --pyargs tinygpt.testing --tinygpt-backend=numpy,mydev -q

``--tinygpt-backend`` takes device names (``all`` for every available backend); without it
the kit uses ``$TINYGPT_DEVICE``, else every available backend. Only the fused kernels a
backend lists in ``fused_ops`` are tested. The option comes from `tinygpt.testing.plugin`,
which pytest loads through the ``pytest11`` entry point.

The helpers below are handy in a backend's own tests too: `to_ndarray` and `to_numpy` move
data in and out through the backend, and `strided_views` yields the awkward views (transposed,
reversed, broadcast, offset, 0-d, empty) that the kit feeds every kernel.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "to_ndarray",
    "to_numpy",
    "wrap",
    "strided_views",
    "VIEW_KINDS",
    "numpy_view",
    "random_array",
    "tolerance",
    "assert_close",
    "require_dtypes",
]


def __getattr__(name: str) -> Any:
    # NOTE: lazy on purpose. pytest imports this package in every run (to load the plugin),
    # and the helpers import NumPy; only code that uses them should pay for that.
    if name in __all__:
        from . import helpers

        return getattr(helpers, name)
    raise AttributeError(f"module 'tinygpt.testing' has no attribute {name!r}")
