"""Normal(loc, scale): the Gaussian, reparametrisable (`rsample = loc + eps * scale`).

Shapes: loc and scale broadcast to (*batch); samples and log_prob are (*sample, *batch).
"""

from __future__ import annotations

import math
from typing import Any

import tinygpt as tg
from tinygpt.tensor import Tensor

from .distribution import LOG_SQRT_2PI, Distribution, as_param, broadcast_params

__all__ = ["Normal"]


class Normal(Distribution):
    """Gaussian with mean `loc` and standard deviation `scale`.

    >>> import tinygpt as tg
    >>> round(Normal(0.0, 1.0).log_prob(tg.tensor(0.0)).item(), 4)
    -0.9189
    """

    has_rsample = True
    arg_constraints = {"loc": "real", "scale": "positive"}
    support = "real"

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_params(loc, scale)
        super().__init__(tuple(self.loc.shape), (), validate_args)

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def stddev(self) -> Tensor:
        return self.scale

    @property
    def variance(self) -> Tensor:
        return self.scale * self.scale

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        eps = tg.randn(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + eps * self.scale

    def log_prob(self, value: Tensor) -> Tensor:
        value = as_param(value, self.loc)
        z = (value - self.loc) / self.scale
        return -0.5 * z * z - tg.log(self.scale) - LOG_SQRT_2PI

    def entropy(self) -> Tensor:
        return 0.5 + 0.5 * math.log(2.0 * math.pi) + tg.log(self.scale)

    def cdf(self, value: Tensor) -> Tensor:
        value = as_param(value, self.loc)
        return 0.5 * (1.0 + tg.erf((value - self.loc) / (self.scale * math.sqrt(2.0))))

    def icdf(self, value: Tensor) -> Tensor:
        value = as_param(value, self.loc)
        return self.loc + self.scale * tg.erfinv(2.0 * value - 1.0) * math.sqrt(2.0)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Normal:
        shape = tuple(batch_shape)
        return Normal(self.loc.expand(*shape), self.scale.expand(*shape))
