"""Gamma, Beta and Dirichlet: the Gamma family, with Marsaglia–Tsang sampling.

Sampling is not reparametrised here (`rsample` raises); `sample` draws with tinygpt's random
ops, so `tg.manual_seed` controls it. Shapes: Gamma/Beta parameters broadcast to (*batch);
Dirichlet's concentration is (*batch, K) with event_shape (K,).
"""

from __future__ import annotations

from typing import Any

import tinygpt as tg
from tinygpt.tensor import Tensor

from .distribution import Distribution, as_param, broadcast_params

__all__ = ["Beta", "Dirichlet", "Gamma", "standard_gamma"]


def _no_rsample(name: str) -> NotImplementedError:
    return NotImplementedError(
        f"{name}.rsample: reparametrised Gamma-family sampling (implicit gradients) is not "
        f"implemented in tinygpt; use sample() for draws without gradient"
    )


_MAX_ROUNDS = 200


def standard_gamma(alpha: Tensor) -> Tensor:
    """One Gamma(alpha, 1) draw per element of `alpha` (same shape), without gradient.

    Marsaglia & Tsang (2000): with d = a - 1/3, c = 1 / sqrt(9 d), propose v = (1 + c x)^3 for
    x ~ N(0, 1) and accept when log u < x^2 / 2 + d - d v + d log v. Shapes of a < 1 are boosted
    to a + 1 and scaled by u^(1/a) afterwards.
    """
    with tg.no_grad():
        alpha = alpha.detach()
        shape = tuple(alpha.shape)
        dtype, device = alpha.dtype, alpha.device
        small = alpha < 1.0
        boosted = tg.where(small, alpha + 1.0, alpha)
        d = boosted - 1.0 / 3.0
        c = 1.0 / tg.sqrt(9.0 * d)
        result = tg.zeros(shape, dtype=dtype, device=device)
        done = tg.zeros(shape, dtype=tg.bool, device=device)
        for _ in range(_MAX_ROUNDS):
            x = tg.randn(shape, dtype=dtype, device=device)
            u = tg.rand(shape, dtype=dtype, device=device)
            v = 1.0 + c * x
            v = v * v * v
            positive = v > 0
            safe_v = tg.where(positive, v, tg.ones_like(v))
            bound = 0.5 * x * x + d - d * safe_v + d * tg.log(safe_v)
            accept = positive & (tg.log(u) < bound) & ~done
            result = tg.where(accept, d * safe_v, result)
            done = done | accept
            # NOTE: one host read per round; acceptance is > 95% so this ends in a few rounds
            if bool(done.all().item()):
                break
        else:
            raise RuntimeError("standard_gamma: Marsaglia-Tsang did not converge")
        u = tg.rand(shape, dtype=dtype, device=device)
        tiny = tg.finfo(dtype).tiny
        scale = tg.where(small, u.clamp(min=tiny) ** (1.0 / alpha), tg.ones_like(u))
        return (result * scale).clamp(min=tiny)


class Gamma(Distribution):
    """Gamma(concentration, rate): density rate^a x^(a-1) exp(-rate x) / Gamma(a).

    >>> import tinygpt as tg
    >>> round(Gamma(2.0, 4.0).mean.item(), 4)
    0.5
    """

    arg_constraints = {"concentration": "positive", "rate": "positive"}

    def __init__(self, concentration: Any, rate: Any, validate_args: bool | None = None) -> None:
        self.concentration, self.rate = broadcast_params(concentration, rate)
        super().__init__(tuple(self.rate.shape), (), validate_args)

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.rate

    @property
    def mode(self) -> Tensor:
        return ((self.concentration - 1.0) / self.rate).clamp(min=0.0)

    @property
    def variance(self) -> Tensor:
        return self.concentration / (self.rate * self.rate)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        alpha = self.concentration.detach().expand(*shape)
        return standard_gamma(alpha) / self.rate.detach()

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        raise _no_rsample("Gamma")

    def log_prob(self, value: Tensor) -> Tensor:
        value = as_param(value, self.rate)
        a, b = self.concentration, self.rate
        return tg.xlogy(a, b) + tg.xlogy(a - 1.0, value) - b * value - tg.lgamma(a)

    def entropy(self) -> Tensor:
        a = self.concentration
        return a - tg.log(self.rate) + tg.lgamma(a) + (1.0 - a) * tg.digamma(a)


class Beta(Distribution):
    """Beta(concentration1, concentration0) on (0, 1): density x^(a-1) (1-x)^(b-1) / B(a, b).

    >>> import tinygpt as tg
    >>> round(Beta(2.0, 2.0).mean.item(), 4)
    0.5
    """

    arg_constraints = {"concentration1": "positive", "concentration0": "positive"}

    def __init__(
        self, concentration1: Any, concentration0: Any, validate_args: bool | None = None
    ) -> None:
        self.concentration1, self.concentration0 = broadcast_params(concentration1, concentration0)
        super().__init__(tuple(self.concentration1.shape), (), validate_args)

    @property
    def mean(self) -> Tensor:
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self) -> Tensor:
        return (self.concentration1 - 1.0) / (self.concentration1 + self.concentration0 - 2.0)

    @property
    def variance(self) -> Tensor:
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total * total * (total + 1.0))

    def sample(self, sample_shape: Any = ()) -> Tensor:
        """X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b)."""
        shape = self._extended_shape(sample_shape)
        x = standard_gamma(self.concentration1.detach().expand(*shape))
        y = standard_gamma(self.concentration0.detach().expand(*shape))
        return x / (x + y)

    def _log_beta_fn(self) -> Tensor:
        a, b = self.concentration1, self.concentration0
        return tg.lgamma(a) + tg.lgamma(b) - tg.lgamma(a + b)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        raise _no_rsample("Beta")

    def log_prob(self, value: Tensor) -> Tensor:
        value = as_param(value, self.concentration1)
        a, b = self.concentration1, self.concentration0
        return tg.xlogy(a - 1.0, value) + tg.xlogy(b - 1.0, 1.0 - value) - self._log_beta_fn()

    def entropy(self) -> Tensor:
        a, b = self.concentration1, self.concentration0
        total = a + b
        return (
            self._log_beta_fn()
            - (a - 1.0) * tg.digamma(a)
            - (b - 1.0) * tg.digamma(b)
            + (total - 2.0) * tg.digamma(total)
        )


class Dirichlet(Distribution):
    """Dirichlet(concentration) over the (K-1)-simplex; concentration is (*batch, K).

    >>> import tinygpt as tg
    >>> Dirichlet(tg.ones(3)).mean.tolist()
    [0.3333333432674408, 0.3333333432674408, 0.3333333432674408]
    """

    arg_constraints = {"concentration": "positive_vector"}

    def __init__(self, concentration: Any, validate_args: bool | None = None) -> None:
        conc = as_param(concentration)
        if conc.dim() < 1:
            raise ValueError("Dirichlet: `concentration` needs at least one dimension")
        self.concentration = conc
        super().__init__(tuple(conc.shape[:-1]), tuple(conc.shape[-1:]), validate_args)

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self) -> Tensor:
        k = self.concentration.shape[-1]
        shifted = self.concentration - 1.0
        return shifted / (self.concentration.sum(-1, keepdim=True) - k)

    @property
    def variance(self) -> Tensor:
        total = self.concentration.sum(-1, keepdim=True)
        m = self.concentration / total
        return m * (1.0 - m) / (total + 1.0)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        draws = standard_gamma(self.concentration.detach().expand(*shape))
        return draws / draws.sum(-1, keepdim=True)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        raise _no_rsample("Dirichlet")

    def log_prob(self, value: Tensor) -> Tensor:
        value = as_param(value, self.concentration)
        a = self.concentration
        log_norm = tg.lgamma(a).sum(-1) - tg.lgamma(a.sum(-1))
        return tg.xlogy(a - 1.0, value).sum(-1) - log_norm

    def entropy(self) -> Tensor:
        a = self.concentration
        k = a.shape[-1]
        a0 = a.sum(-1)
        log_norm = tg.lgamma(a).sum(-1) - tg.lgamma(a0)
        return log_norm + (a0 - k) * tg.digamma(a0) - ((a - 1.0) * tg.digamma(a)).sum(-1)
