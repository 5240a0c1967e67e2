"""The compiled kernels, imported in the one order that works: OpenBLAS first.

`import scipy_openblas32` loads libscipy_openblas.so into the process with RTLD_GLOBAL, so the
extension modules that link to it find it even where their rpath does not lead to it (an
editable install). Importing this module is what the plugin's probe tries.
"""

from __future__ import annotations

import scipy_openblas32  # noqa: F401 - must come before the extension modules

from . import (  # noqa: E402
    activation,
    argreduce,
    attention,
    buffer,
    elementwise,
    indexing,
    layernorm,
    matmul,
    memory,
    optim,
    random,
    reduce,
    runtime,
    softmax,
    sorting,
)

__all__ = [
    "activation",
    "argreduce",
    "attention",
    "buffer",
    "elementwise",
    "indexing",
    "layernorm",
    "matmul",
    "memory",
    "optim",
    "random",
    "reduce",
    "runtime",
    "softmax",
    "sorting",
]
