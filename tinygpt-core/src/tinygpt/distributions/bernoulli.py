"""Bernoulli: a 0/1 draw with probability `probs` of 1 (or `logits`, its log-odds).

Shapes: parameters (*batch); samples and log_prob (*sample, *batch); samples are floats.
"""

from __future__ import annotations

from typing import Any

import tinygpt as tg
from tinygpt.tensor import Tensor

from .distribution import Distribution, as_param, logits_to_probs, probs_to_logits

__all__ = ["Bernoulli", "softplus"]


def softplus(x: Tensor) -> Tensor:
    """log(1 + exp(x)) written as max(x, 0) + log1p(exp(-|x|)) so large |x| cannot overflow."""
    return x.clamp(min=0.0) + tg.log1p(tg.exp(-x.abs()))


class Bernoulli(Distribution):
    """P(1) = probs; built from `probs` or `logits` (exactly one).

    >>> import tinygpt as tg
    >>> round(Bernoulli(probs=tg.tensor(0.25)).log_prob(tg.tensor(1.0)).exp().item(), 4)
    0.25
    """

    has_enumerate_support = True
    arg_constraints = {"probs": "unit_interval", "logits": "real"}

    def __init__(
        self, probs: Any = None, logits: Any = None, validate_args: bool | None = None
    ) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Bernoulli: pass exactly one of `probs` or `logits`")
        self._probs: Tensor | None = None if probs is None else as_param(probs)
        self._logits: Tensor | None = None if logits is None else as_param(logits)
        param = self._probs if self._probs is not None else self._logits
        assert param is not None
        super().__init__(tuple(param.shape), (), validate_args)

    @property
    def probs(self) -> Tensor:
        if self._probs is None:
            assert self._logits is not None
            # NOTE: cached once, so build it with grad even when first asked under no_grad
            with tg.enable_grad():
                self._probs = logits_to_probs(self._logits, is_binary=True)
        return self._probs

    @property
    def logits(self) -> Tensor:
        if self._logits is None:
            with tg.enable_grad():
                self._logits = probs_to_logits(self.probs, is_binary=True)
        return self._logits

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        return (self.probs >= 0.5).to(self.probs.dtype)

    @property
    def variance(self) -> Tensor:
        return self.probs * (1.0 - self.probs)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        with tg.no_grad():
            p = self.probs.detach()
            u = tg.rand(shape, dtype=p.dtype, device=p.device)
            return (u < p).to(p.dtype)

    def log_prob(self, value: Tensor) -> Tensor:
        """-BCE-with-logits: value * logits - softplus(logits), stable for any logit."""
        logits = self.logits
        value = as_param(value, logits)
        return value * logits - softplus(logits)

    def entropy(self) -> Tensor:
        # H = softplus(l) - p * l, the binary cross-entropy of p with itself
        logits = self.logits
        return softplus(logits) - self.probs * logits

    def expand(self, batch_shape: Any, _instance: Any = None) -> Bernoulli:
        shape = tuple(batch_shape)
        if self._logits is not None:
            return Bernoulli(logits=self._logits.expand(*shape))
        return Bernoulli(probs=self.probs.expand(*shape))

    def enumerate_support(self, expand: bool = True) -> Tensor:
        values = tg.tensor([0.0, 1.0], dtype=self.probs.dtype, device=self.probs.device)
        values = values.reshape((-1,) + (1,) * len(self.batch_shape))
        if expand:
            values = values.expand(2, *self.batch_shape)
        return values
