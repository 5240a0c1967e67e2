"""Uniform(low, high): constant density on [low, high), reparametrisable.

Shapes: low and high broadcast to (*batch); samples and log_prob are (*sample, *batch).
"""

from __future__ import annotations

from typing import Any

import tinygpt as tg
from tinygpt.tensor import Tensor

from .distribution import Distribution, as_param, broadcast_params

__all__ = ["Uniform"]


class Uniform(Distribution):
    """Uniform on [low, high).

    >>> import tinygpt as tg
    >>> round(Uniform(0.0, 4.0).entropy().item(), 4)
    1.3863
    """

    has_rsample = True
    arg_constraints = {"low": "dependent", "high": "dependent"}

    def __init__(self, low: Any, high: Any, validate_args: bool | None = None) -> None:
        self.low, self.high = broadcast_params(low, high)
        super().__init__(tuple(self.low.shape), (), validate_args)

    @property
    def mean(self) -> Tensor:
        return (self.low + self.high) / 2.0

    @property
    def mode(self) -> Tensor:
        return tg.full_like(self.low, float("nan"))

    @property
    def variance(self) -> Tensor:
        width = self.high - self.low
        return width * width / 12.0

    @property
    def stddev(self) -> Tensor:
        return (self.high - self.low) / 12.0**0.5

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        u = tg.rand(shape, dtype=self.low.dtype, device=self.low.device)
        return self.low + u * (self.high - self.low)

    def log_prob(self, value: Tensor) -> Tensor:
        """-log(high - low) inside [low, high), -inf outside (as torch without validation)."""
        value = as_param(value, self.low)
        inside = (value >= self.low) & (value < self.high)
        density = -tg.log(self.high - self.low)
        outside = tg.full_like(density, float("-inf"))
        return tg.where(inside, density, outside)

    def entropy(self) -> Tensor:
        return tg.log(self.high - self.low)

    def cdf(self, value: Tensor) -> Tensor:
        value = as_param(value, self.low)
        return ((value - self.low) / (self.high - self.low)).clamp(0.0, 1.0)

    def icdf(self, value: Tensor) -> Tensor:
        value = as_param(value, self.low)
        return self.low + value * (self.high - self.low)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Uniform:
        shape = tuple(batch_shape)
        return Uniform(self.low.expand(*shape), self.high.expand(*shape))
