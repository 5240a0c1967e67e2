"""Categorical and OneHotCategorical: one draw out of K classes, parametrised over the last dim.

Shapes: `probs`/`logits` are (*batch, K); a Categorical sample is an int64 index of shape
(*sample, *batch); a OneHotCategorical sample is a one-hot float vector (*sample, *batch, K).
"""

from __future__ import annotations

from typing import Any

import tinygpt as tg
from tinygpt.tensor import Tensor

from .distribution import Distribution, as_param, probs_to_logits

__all__ = ["Categorical", "OneHotCategorical"]


def _one_param(probs: Any, logits: Any, name: str) -> None:
    if (probs is None) == (logits is None):
        raise ValueError(f"{name}: pass exactly one of `probs` or `logits` (got both or neither)")


class Categorical(Distribution):
    """Distribution over class indices 0..K-1.

    >>> import tinygpt as tg
    >>> d = Categorical(logits=tg.zeros(4))
    >>> round(d.entropy().item(), 4)
    1.3863
    """

    has_enumerate_support = True
    arg_constraints = {"probs": "simplex", "logits": "real_vector"}

    def __init__(
        self, probs: Any = None, logits: Any = None, validate_args: bool | None = None
    ) -> None:
        _one_param(probs, logits, "Categorical")
        if probs is not None:
            p = as_param(probs)
            if p.dim() < 1:
                raise ValueError("Categorical: `probs` needs at least one dimension (the classes)")
            # NOTE: like torch, probs are normalised so rows need not sum to one.
            self._probs: Tensor | None = p / p.sum(-1, keepdim=True)
            self._logits: Tensor | None = None
            param = p
        else:
            lg = as_param(logits)
            if lg.dim() < 1:
                raise ValueError("Categorical: `logits` needs at least one dimension")
            # subtle: subtracting logsumexp makes exp(logits) the normalised probabilities.
            self._logits = lg - tg.logsumexp(lg, dim=-1, keepdim=True)
            self._probs = None
            param = lg
        self._num_events = param.shape[-1]
        super().__init__(tuple(param.shape[:-1]), (), validate_args)

    @property
    def probs(self) -> Tensor:
        if self._probs is None:
            assert self._logits is not None
            # NOTE: cached once, so build it with grad even when first asked under no_grad
            with tg.enable_grad():
                self._probs = tg.softmax(self._logits, dim=-1)
        return self._probs

    @property
    def logits(self) -> Tensor:
        if self._logits is None:
            with tg.enable_grad():
                self._logits = probs_to_logits(self.probs)
        return self._logits

    @property
    def param_shape(self) -> tg.Size:
        return tg.Size(tuple(self.batch_shape) + (self._num_events,))

    @property
    def mean(self) -> Tensor:
        return tg.full(
            tuple(self.batch_shape), float("nan"), dtype=self.probs.dtype, device=self.probs.device
        )

    @property
    def mode(self) -> Tensor:
        return self.probs.argmax(dim=-1)

    @property
    def variance(self) -> Tensor:
        return tg.full(
            tuple(self.batch_shape), float("nan"), dtype=self.probs.dtype, device=self.probs.device
        )

    def sample(self, sample_shape: Any = ()) -> Tensor:
        """Indices drawn with `tg.multinomial` over the last dim: (*sample, *batch) int64."""
        shape = tuple(sample_shape) if not isinstance(sample_shape, int) else (sample_shape,)
        n = 1
        for s in shape:
            n *= s
        with tg.no_grad():
            rows = self.probs.detach().reshape(-1, self._num_events)  # (B, K)
            draws = tg.multinomial(rows, n, True)  # (B, n)
            # (B, n) -> (n, B) -> (*sample, *batch)
            return draws.transpose(0, 1).reshape(shape + tuple(self.batch_shape))

    def log_prob(self, value: Tensor) -> Tensor:
        """log p(value) by gathering the normalised logits; `value` broadcasts with the batch."""
        index = value.long().unsqueeze(-1)
        logits = self.logits
        shape = tg.broadcast_shapes(tuple(index.shape), tuple(logits.shape[:-1]) + (1,))
        index = index.expand(*shape)
        logits = logits.expand(*(tuple(shape[:-1]) + (self._num_events,)))
        return logits.gather(-1, index).squeeze(-1)

    def entropy(self) -> Tensor:
        # NOTE: clamp the logits so 0 * -inf (a zero-probability class) contributes 0, not nan.
        min_real = tg.finfo(self.logits.dtype).min
        logits = self.logits.clamp(min=min_real)
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        values = tg.arange(self._num_events, device=self.probs.device)
        values = values.reshape((-1,) + (1,) * len(self.batch_shape))
        if expand:
            values = values.expand(self._num_events, *self.batch_shape)
        return values

    def expand(self, batch_shape: Any, _instance: Any = None) -> Categorical:
        shape = tuple(batch_shape) + (self._num_events,)
        if self._logits is not None:
            return Categorical(logits=self._logits.expand(*shape))
        return Categorical(probs=self.probs.expand(*shape))


class OneHotCategorical(Distribution):
    """Categorical whose draws are one-hot vectors of length K (event_shape (K,))."""

    has_enumerate_support = True
    arg_constraints = {"probs": "simplex", "logits": "real_vector"}

    def __init__(
        self, probs: Any = None, logits: Any = None, validate_args: bool | None = None
    ) -> None:
        self._categorical = Categorical(probs=probs, logits=logits)
        k = self._categorical._num_events
        super().__init__(tuple(self._categorical.batch_shape), (k,), validate_args)

    @property
    def probs(self) -> Tensor:
        return self._categorical.probs

    @property
    def logits(self) -> Tensor:
        return self._categorical.logits

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        index = self.probs.argmax(dim=-1)
        return _one_hot(index, self.event_shape[0], self.probs)

    @property
    def variance(self) -> Tensor:
        return self.probs * (1.0 - self.probs)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        index = self._categorical.sample(sample_shape)
        return _one_hot(index, self.event_shape[0], self.probs)

    def log_prob(self, value: Tensor) -> Tensor:
        index = value.argmax(dim=-1)
        return self._categorical.log_prob(index)

    def entropy(self) -> Tensor:
        return self._categorical.entropy()


def _one_hot(index: Tensor, k: int, like: Tensor) -> Tensor:
    """(…) int64 -> (…, K) float one-hot, built with a comparison so no nn import is needed."""
    classes = tg.arange(k, device=like.device)  # (K,)
    return (index.unsqueeze(-1) == classes).to(like.dtype)
