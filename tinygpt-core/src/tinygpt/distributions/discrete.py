"""Poisson and Binomial: count distributions (log_prob, mean, variance; Poisson samples too).

Shapes: parameters broadcast to (*batch); values and log_prob are (*sample, *batch).
"""

from __future__ import annotations

from typing import Any

import tinygpt as tg
from tinygpt.tensor import Tensor

from .bernoulli import softplus
from .distribution import Distribution, as_param, broadcast_params, probs_to_logits

__all__ = ["Binomial", "Poisson"]


class Poisson(Distribution):
    """Poisson(rate): P(k) = rate^k exp(-rate) / k!.

    >>> import tinygpt as tg
    >>> round(Poisson(2.0).log_prob(tg.tensor(0.0)).item(), 4)
    -2.0
    """

    arg_constraints = {"rate": "nonnegative"}

    def __init__(self, rate: Any, validate_args: bool | None = None) -> None:
        (self.rate,) = broadcast_params(rate)
        super().__init__(tuple(self.rate.shape), (), validate_args)

    @property
    def mean(self) -> Tensor:
        return self.rate

    @property
    def mode(self) -> Tensor:
        return self.rate.floor()

    @property
    def variance(self) -> Tensor:
        return self.rate

    def sample(self, sample_shape: Any = ()) -> Tensor:
        raise NotImplementedError(
            "Poisson.sample is not implemented in tinygpt yet (log_prob, mean and variance are)"
        )

    def log_prob(self, value: Tensor) -> Tensor:
        value = as_param(value, self.rate)
        return tg.xlogy(value, self.rate) - self.rate - tg.lgamma(value + 1.0)


class Binomial(Distribution):
    """Binomial(total_count, probs | logits): successes out of `total_count` Bernoulli trials.

    >>> import tinygpt as tg
    >>> round(Binomial(4, probs=tg.tensor(0.5)).log_prob(tg.tensor(2.0)).exp().item(), 4)
    0.375
    """

    arg_constraints = {"total_count": "nonnegative_integer", "probs": "unit_interval"}

    def __init__(
        self,
        total_count: Any = 1,
        probs: Any = None,
        logits: Any = None,
        validate_args: bool | None = None,
    ) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Binomial: pass exactly one of `probs` or `logits`")
        param = probs if probs is not None else logits
        count, param_t = broadcast_params(total_count, param)
        self.total_count = count
        if probs is not None:
            self.probs = param_t
            self.logits = probs_to_logits(param_t, is_binary=True)
        else:
            self.logits = param_t
            self.probs = tg.sigmoid(param_t)
        super().__init__(tuple(param_t.shape), (), validate_args)

    @property
    def mean(self) -> Tensor:
        return self.total_count * self.probs

    @property
    def variance(self) -> Tensor:
        return self.total_count * self.probs * (1.0 - self.probs)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        """Sum of `total_count` Bernoulli draws (fine for the small counts RL scripts use)."""
        shape = self._extended_shape(sample_shape)
        n_max = int(self.total_count.max().item())
        with tg.no_grad():
            p = self.probs.detach()
            count = self.total_count.detach()
            total = tg.zeros(shape, dtype=p.dtype, device=p.device)
            for trial in range(n_max):
                hit = (tg.rand(shape, dtype=p.dtype, device=p.device) < p) & (count > trial)
                total = total + hit.to(p.dtype)
            return total

    def log_prob(self, value: Tensor) -> Tensor:
        value = as_param(value, self.logits)
        n = self.total_count
        log_choose = tg.lgamma(n + 1.0) - tg.lgamma(value + 1.0) - tg.lgamma(n - value + 1.0)
        # k * log p + (n - k) log(1 - p) = k * logits - n * softplus(logits)
        return log_choose + value * self.logits - n * softplus(self.logits)
