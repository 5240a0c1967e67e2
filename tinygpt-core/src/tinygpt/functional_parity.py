"""More `tg.<name>` functions with PyTorch's names: sorting, scans, gather/scatter, einsum,
rounding, value checks, norms and views (the op families listed in `ops/__init__.py`).

NOTE: `any`, `all` and `round` shadow Python's builtins in `tinygpt`'s namespace, as
`torch.any` does in `torch`'s; use `builtins.any` where both are needed.
"""

from .ops.classify import allclose, isclose, isfinite, isinf, isnan, isneginf, isposinf
from .ops.einsum import einsum
from .ops.norms import norm
from .ops.reductions import all, any  # noqa: A004 - PyTorch's names
from .ops.rounding import (  # noqa: A004
    ceil,
    div,
    floor,
    floor_divide,
    frac,
    remainder,
    round,
    trunc,
)
from .ops.sampling import multinomial
from .ops.scan import cumprod, cumsum, prod
from .ops.scatter import gather, scatter, scatter_add, take_along_dim
from .ops.sorting import argsort, msort, sort, topk
from .ops.views import as_strided, flip, fliplr, flipud, narrow, t

__all__ = [
    "all",
    "allclose",
    "any",
    "argsort",
    "as_strided",
    "ceil",
    "cumprod",
    "cumsum",
    "div",
    "einsum",
    "flip",
    "fliplr",
    "flipud",
    "floor",
    "floor_divide",
    "frac",
    "gather",
    "isclose",
    "isfinite",
    "isinf",
    "isnan",
    "isneginf",
    "isposinf",
    "msort",
    "multinomial",
    "narrow",
    "norm",
    "prod",
    "remainder",
    "round",
    "scatter",
    "scatter_add",
    "sort",
    "t",
    "take_along_dim",
    "topk",
    "trunc",
]
