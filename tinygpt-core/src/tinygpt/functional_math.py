"""`tg.*` maths and statistics with PyTorch's names: `tg.fmod`, `tg.logaddexp`, `tg.hypot`,
`tg.xlogy`, `tg.nan_to_num`, `tg.quantile`, `tg.cov`, `tg.cummax`, `tg.searchsorted`,
`tg.scatter_reduce`, `tg.atan2`, `tg.lgamma`, `tg.erfinv`, ...

Each is a composition in `ops/elementwise_more.py`, `ops/stats_more.py`, `ops/scan_more.py`,
`ops/scatter_more.py`, or a primitive with its own backward in `ops/elementwise_inverse.py`
and `ops/special_math.py` (the Tensor methods are in `tensor_more.py`).

>>> import tinygpt as tg
>>> tg.hypot(tg.tensor([3.0]), tg.tensor([4.0])).tolist()
[5.0]
"""

from __future__ import annotations

from typing import Any

from .ops import extras_stats
from .ops.activation_more import (
    celu,
    hardshrink,
    i0,
    kaiser_window,
    prelu,
    rrelu,
    selu,
    threshold,
)
from .ops.bits_more import (
    bitwise_and,
    bitwise_left_shift,
    bitwise_not,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
    frexp,
    histogram,
    vander,
)
from .ops.elementwise import sign
from .ops.elementwise_inverse import (
    acos,
    acosh,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
)
from .ops.elementwise_more import (
    copysign,
    deg2rad,
    float_power,
    fmax,
    fmin,
    fmod,
    heaviside,
    hypot,
    logaddexp,
    logaddexp2,
    logit,
    nan_to_num,
    rad2deg,
    signbit,
    sinc,
    xlogy,
)
from .ops.log_exp import expm1, log1p
from .ops.misc_more import (
    addbmm,
    addcdiv,
    addcmul,
    adjoint,
    argwhere,
    bartlett_window,
    blackman_window,
    cosine_similarity,
    diagonal_scatter,
    gcd,
    hamming_window,
    hann_window,
    lcm,
    ldexp,
    mvlgamma,
    nanmedian,
    pairwise_distance,
    pdist,
    rsub,
    select_scatter,
    slice_scatter,
    unravel_index,
)
from .ops.scan_more import cummax, cummin, logcumsumexp
from .ops.scatter_more import (
    index_copy,
    index_put,
    masked_scatter,
    put,
    scatter_reduce,
    unique_consecutive,
    unique_dim,
)
from .ops.special_math import digamma, erfc, erfinv, lgamma, polygamma
from .ops.stats_more import (
    aminmax,
    bucketize,
    corrcoef,
    cov,
    cross,
    cumulative_trapezoid,
    dist,
    histc,
    isin,
    kthvalue,
    mode,
    nanmean,
    nanquantile,
    quantile,
    renorm,
    searchsorted,
    trapezoid,
)
from .tensor import Tensor

__all__ = [
    "celu",
    "hardshrink",
    "i0",
    "kaiser_window",
    "prelu",
    "rrelu",
    "selu",
    "threshold",
    "bitwise_and",
    "bitwise_left_shift",
    "bitwise_not",
    "bitwise_or",
    "bitwise_right_shift",
    "bitwise_xor",
    "frexp",
    "histogram",
    "vander",
    "expm1",
    "log1p",
    "addbmm",
    "addcdiv",
    "addcmul",
    "adjoint",
    "argwhere",
    "bartlett_window",
    "blackman_window",
    "cosine_similarity",
    "diagonal_scatter",
    "gcd",
    "hamming_window",
    "hann_window",
    "lcm",
    "ldexp",
    "mvlgamma",
    "nanmedian",
    "pairwise_distance",
    "pdist",
    "rsub",
    "select_scatter",
    "slice_scatter",
    "unravel_index",
    "acos",
    "acosh",
    "aminmax",
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctan2",
    "arctanh",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "bucketize",
    "copysign",
    "corrcoef",
    "cov",
    "cross",
    "cummax",
    "cummin",
    "cumulative_trapezoid",
    "deg2rad",
    "digamma",
    "dist",
    "erfc",
    "erfinv",
    "fix",
    "float_power",
    "fmax",
    "fmin",
    "fmod",
    "heaviside",
    "histc",
    "hypot",
    "index_copy",
    "index_put",
    "isin",
    "kthvalue",
    "lgamma",
    "logaddexp",
    "logaddexp2",
    "logcumsumexp",
    "logit",
    "masked_scatter",
    "mode",
    "nan_to_num",
    "nanmean",
    "nanquantile",
    "polygamma",
    "put",
    "quantile",
    "rad2deg",
    "renorm",
    "scatter_reduce",
    "searchsorted",
    "sgn",
    "signbit",
    "sinc",
    "trapezoid",
    "trapz",
    "unique",
    "unique_consecutive",
    "xlogy",
]

arccos = acos
arccosh = acosh
arcsin = asin
arcsinh = asinh
arctan = atan
arctan2 = atan2
arctanh = atanh


def sgn(input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
    """sign(x) (the same for real tensors; tinygpt has no complex dtypes)."""
    return sign(input)


def fix(input: Tensor) -> Tensor:  # noqa: A002
    """Round toward zero (`trunc`'s other name)."""
    return input.trunc()


def trapz(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """`trapezoid`'s older name."""
    return trapezoid(y, x, dx=dx, dim=dim)


def unique(
    x: Tensor,
    sorted: bool = True,  # noqa: A002
    return_inverse: bool = False,
    return_counts: bool = False,
    dim: int | None = None,
) -> Any:
    """The distinct values of x (flattened), or its distinct slices along `dim` (the
    first argument keeps extras' name `x`, which this replaces in `tinygpt`)."""
    if dim is None:
        return extras_stats.unique(x, sorted, return_inverse, return_counts)
    return unique_dim(x, dim, sorted, return_inverse, return_counts)
