"""`tg.special`: PyTorch's `torch.special` names for tinygpt's functions (erf, expit, gammaln,
digamma, xlogy, ...), plus the few it lacks composed here (xlog1py, entr, ndtr, ndtri,
log_ndtr, i0e). Bessel and orthogonal-polynomial functions are not provided.

>>> import tinygpt as tg
>>> tg.special.expit(tg.tensor(0.0)).item(), tg.special.ndtr(tg.tensor(0.0)).item()
(0.5, 0.5)
"""

from __future__ import annotations

import math

from .creation import zeros_like
from .ops import (
    activation,
    activation_more,
    comparison,
    elementwise,
    elementwise_more,
    extras_stats,
    log_exp,
    misc_more,
    reductions,
    rounding,
)
from .ops import special_math as _special
from .tensor import Tensor

__all__ = [
    "digamma",
    "entr",
    "erf",
    "erfc",
    "erfinv",
    "exp2",
    "expit",
    "expm1",
    "gammaln",
    "i0",
    "i0e",
    "log1p",
    "log_ndtr",
    "log_softmax",
    "logit",
    "logsumexp",
    "multigammaln",
    "ndtr",
    "ndtri",
    "polygamma",
    "psi",
    "round",
    "sinc",
    "softmax",
    "xlog1py",
    "xlogy",
]

erf = elementwise.erf
erfc = _special.erfc
erfinv = _special.erfinv
digamma = _special.digamma
psi = _special.digamma
gammaln = _special.lgamma
polygamma = _special.polygamma
multigammaln = misc_more.mvlgamma
i0 = activation_more.i0
log1p = log_exp.log1p
expm1 = log_exp.expm1
exp2 = extras_stats.exp2
xlogy = elementwise_more.xlogy
logit = elementwise_more.logit
sinc = elementwise_more.sinc
round = rounding.round  # noqa: A001 - PyTorch's name
expit = activation.sigmoid
softmax = activation.softmax
log_softmax = activation.log_softmax
logsumexp = reductions.logsumexp


def xlog1py(x: Tensor, y: Tensor | float) -> Tensor:
    """x * log1p(y), 0 where x is 0 (even where log1p(y) is inf or nan)."""
    product = x * log1p(y if isinstance(y, Tensor) else x.new_tensor(y))
    return comparison.where(x == 0, zeros_like(product), product)


def entr(x: Tensor) -> Tensor:
    """-x log x elementwise: 0 at 0, -inf below 0."""
    positive = x > 0
    body = -x * comparison.where(positive, x, 1.0).log()  # (1.0 where log would be -inf/nan)
    body = comparison.where(positive | (x == 0), body, zeros_like(body) - math.inf)
    return comparison.where(x == 0, zeros_like(body), body)


def ndtr(x: Tensor) -> Tensor:
    """The standard normal CDF."""
    return 0.5 * (1.0 + erf(x / math.sqrt(2.0)))


def ndtri(p: Tensor) -> Tensor:
    """The inverse of ndtr (the standard normal quantile)."""
    return math.sqrt(2.0) * erfinv(2.0 * p - 1.0)


def log_ndtr(x: Tensor) -> Tensor:
    """log(ndtr(x)) (NOTE: from erfc = 1 - erf, so it loses accuracy far below 0)."""
    return ndtr(x).log()


def i0e(x: Tensor) -> Tensor:
    """exp(-|x|) * i0(x), the exponentially scaled Bessel function of order 0."""
    return (-x.abs()).exp() * i0(x)
