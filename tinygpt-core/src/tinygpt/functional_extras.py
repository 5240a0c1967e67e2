"""More `tg.*` functions PyTorch code calls by name (issue 14): `tg.unique`, `tg.bincount`,
`tg.diag`, `tg.meshgrid`, `tg.tensordot`, `tg.cdist`, `tg.median`, `tg.std_mean`, `tg.tan`,
`tg.as_tensor`, ... Each calls its composition in `ops/extras_linalg.py` or
`ops/extras_stats.py` (the Tensor methods are in `tensor_extras.py`).

>>> import tinygpt as tg
>>> tg.trace(tg.eye(3)).item()
3.0
"""

from __future__ import annotations

from typing import Any

from .creation import tensor
from .ops.extras_linalg import (
    addmm,
    baddbmm,
    cdist,
    diag,
    diagonal,
    inner,
    kron,
    meshgrid,
    tensordot,
    trace,
)
from .ops.extras_stats import (
    bincount,
    cosh,
    count_nonzero,
    diff,
    exp2,
    expm1,
    index_add,
    index_fill,
    log2,
    log10,
    masked_select,
    median,
    nansum,
    sinh,
    std_mean,
    tan,
    unique,
    var_mean,
)
from .tensor import Tensor

__all__ = [
    "addmm",
    "as_tensor",
    "baddbmm",
    "bincount",
    "cdist",
    "cosh",
    "count_nonzero",
    "diag",
    "diagonal",
    "diff",
    "exp2",
    "expm1",
    "index_add",
    "index_fill",
    "inner",
    "kron",
    "log10",
    "log2",
    "masked_select",
    "median",
    "meshgrid",
    "nansum",
    "sinh",
    "std_mean",
    "tan",
    "tensordot",
    "trace",
    "unique",
    "var_mean",
]


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """`data` as a tensor, reusing it when it already is one with that dtype and device (as
    PyTorch's): a tensor comes back as itself or cast/moved; anything else is copied in."""
    if isinstance(data, Tensor):
        return data.to(
            device=device if device is not None else data.device, dtype=dtype or data.dtype
        )
    return tensor(data, dtype=dtype, device=device)
