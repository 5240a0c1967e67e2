"""Laplace and Exponential: two simple reparametrisable continuous distributions.

Shapes: parameters broadcast to (*batch); samples and log_prob are (*sample, *batch).
"""

from __future__ import annotations

import math
from typing import Any

import tinygpt as tg
from tinygpt.tensor import Tensor

from .distribution import Distribution, as_param, broadcast_params

__all__ = ["Exponential", "Laplace"]


class Laplace(Distribution):
    """Laplace(loc, scale): density exp(-|x - loc| / scale) / (2 scale).

    >>> import tinygpt as tg
    >>> round(Laplace(0.0, 1.0).log_prob(tg.tensor(0.0)).item(), 4)
    -0.6931
    """

    has_rsample = True
    arg_constraints = {"loc": "real", "scale": "positive"}

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
    def variance(self) -> Tensor:
        return 2.0 * self.scale * self.scale

    @property
    def stddev(self) -> Tensor:
        return math.sqrt(2.0) * self.scale

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        """Inverse cdf of u ~ U(-1, 1): loc - scale * sign(u) * log(1 - |u|)."""
        shape = self._extended_shape(sample_shape)
        tiny = tg.finfo(self.loc.dtype).eps
        u = tg.rand(shape, dtype=self.loc.dtype, device=self.loc.device) * 2.0 - 1.0
        # NOTE: keep |u| < 1 so log(1 - |u|) stays finite
        u = u.clamp(tiny - 1.0, 1.0 - tiny)
        return self.loc - self.scale * tg.sign(u) * tg.log1p(-u.abs())

    def log_prob(self, value: Tensor) -> Tensor:
        value = as_param(value, self.loc)
        return -tg.log(2.0 * self.scale) - (value - self.loc).abs() / self.scale

    def entropy(self) -> Tensor:
        return 1.0 + tg.log(2.0 * self.scale)

    def cdf(self, value: Tensor) -> Tensor:
        value = as_param(value, self.loc)
        z = (value - self.loc) / self.scale
        return 0.5 - 0.5 * tg.sign(z) * tg.expm1(-z.abs())

    def icdf(self, value: Tensor) -> Tensor:
        value = as_param(value, self.loc)
        term = value - 0.5
        return self.loc - self.scale * tg.sign(term) * tg.log1p(-2.0 * term.abs())


class Exponential(Distribution):
    """Exponential(rate): density rate * exp(-rate * x) for x >= 0.

    >>> import tinygpt as tg
    >>> round(Exponential(2.0).mean.item(), 4)
    0.5
    """

    has_rsample = True
    arg_constraints = {"rate": "positive"}

    def __init__(self, rate: Any, validate_args: bool | None = None) -> None:
        (self.rate,) = broadcast_params(rate)
        super().__init__(tuple(self.rate.shape), (), validate_args)

    @property
    def mean(self) -> Tensor:
        return 1.0 / self.rate

    @property
    def mode(self) -> Tensor:
        return tg.zeros_like(self.rate)

    @property
    def variance(self) -> Tensor:
        return 1.0 / (self.rate * self.rate)

    @property
    def stddev(self) -> Tensor:
        return 1.0 / self.rate

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        """-log(1 - u) / rate with u ~ U[0, 1): the inverse cdf."""
        shape = self._extended_shape(sample_shape)
        u = tg.rand(shape, dtype=self.rate.dtype, device=self.rate.device)
        return -tg.log1p(-u) / self.rate

    def log_prob(self, value: Tensor) -> Tensor:
        value = as_param(value, self.rate)
        return tg.log(self.rate) - self.rate * value

    def entropy(self) -> Tensor:
        return 1.0 - tg.log(self.rate)

    def cdf(self, value: Tensor) -> Tensor:
        value = as_param(value, self.rate)
        return 1.0 - tg.exp(-self.rate * value)

    def icdf(self, value: Tensor) -> Tensor:
        value = as_param(value, self.rate)
        return -tg.log1p(-value) / self.rate
