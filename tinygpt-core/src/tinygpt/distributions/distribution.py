"""The `Distribution` base class and the helpers every distribution shares.

A distribution has a `batch_shape` (independent, differently-parametrised copies) and an
`event_shape` (the shape of one draw). `sample(sample_shape)` returns
`sample_shape + batch_shape + event_shape`; `log_prob(value)` returns the log density of each
event, shape `sample_shape + batch_shape`.
"""

from __future__ import annotations

import math
from typing import Any

import tinygpt as tg
from tinygpt.tensor import Tensor

__all__ = ["Distribution", "as_param", "broadcast_params", "logits_to_probs", "probs_to_logits"]

Shape = tuple[int, ...]


def as_param(value: Any, like: Tensor | None = None) -> Tensor:
    """A Python number or Tensor as a floating Tensor (numbers take `like`'s dtype and device)."""
    if isinstance(value, Tensor):
        if value.dtype.is_floating_point:
            return value
        return value.to(tg.get_default_dtype())
    if like is not None:
        return tg.tensor(float(value), dtype=like.dtype, device=like.device)
    return tg.tensor(float(value))


def broadcast_params(*values: Any) -> list[Tensor]:
    """Parameters as Tensors broadcast to one shape, like `torch.broadcast_tensors`.

    A plain number adopts the dtype and device of the first Tensor argument.
    """
    like = next((v for v in values if isinstance(v, Tensor)), None)
    tensors = [as_param(v, like) for v in values]
    return list(tg.broadcast_tensors(*tensors))


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    """Probabilities from (unnormalised) logits: sigmoid for binary, softmax over the last dim."""
    if is_binary:
        return tg.sigmoid(logits)
    return tg.softmax(logits, dim=-1)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    """Logits from probabilities, clamped away from 0 and 1 so the log stays finite."""
    eps = tg.finfo(probs.dtype).eps
    clamped = probs.clamp(eps, 1.0 - eps)
    if is_binary:
        return tg.log(clamped) - tg.log1p(-clamped)
    return tg.log(clamped)


def _as_shape(sample_shape: Any) -> Shape:
    if isinstance(sample_shape, int):
        return (sample_shape,)
    return tuple(int(s) for s in sample_shape)


class Distribution:
    """Base class: shapes, `sample` via `rsample` without a graph, and derived statistics."""

    has_rsample = False
    has_enumerate_support = False
    arg_constraints: dict[str, Any] = {}
    support: Any = None
    _validate_default = False

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Accepted like torch's; tinygpt does not validate arguments either way (yet)."""
        if value not in (True, False):
            raise ValueError(f"set_default_validate_args: expected a bool, got {value!r}")
        Distribution._validate_default = value

    def __init__(
        self,
        batch_shape: Any = (),
        event_shape: Any = (),
        validate_args: bool | None = None,
    ) -> None:
        self._batch_shape = tg.Size(_as_shape(batch_shape))
        self._event_shape = tg.Size(_as_shape(event_shape))
        # NOTE: accepted for PyTorch compatibility; argument checks are not performed.
        self._validate_args = bool(validate_args)

    @property
    def batch_shape(self) -> tg.Size:
        return self._batch_shape

    @property
    def event_shape(self) -> tg.Size:
        return self._event_shape

    def _extended_shape(self, sample_shape: Any = ()) -> Shape:
        """`sample_shape + batch_shape + event_shape`, the shape of `sample(sample_shape)`."""
        return _as_shape(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        """A draw with no gradient; the default takes `rsample` under `no_grad`."""
        with tg.no_grad():
            return self.rsample(sample_shape).detach()

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        """A reparametrised draw that gradients flow through (only where `has_rsample`)."""
        raise NotImplementedError(f"{type(self).__name__} has no rsample (not reparametrisable)")

    def sample_n(self, n: int) -> Tensor:
        return self.sample((n,))

    def log_prob(self, value: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.log_prob is not implemented")

    def cdf(self, value: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.cdf is not implemented")

    def icdf(self, value: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.icdf is not implemented")

    def entropy(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.entropy is not implemented")

    def perplexity(self) -> Tensor:
        return tg.exp(self.entropy())

    @property
    def mean(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.mean is not implemented")

    @property
    def mode(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.mode is not implemented")

    @property
    def variance(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.variance is not implemented")

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    def __repr__(self) -> str:
        names = [k for k in self.arg_constraints if k in self.__dict__]
        parts = []
        for name in names:
            value = self.__dict__[name]
            shown = value.item() if value.numel() == 1 else f"size: {tuple(value.shape)}"
            parts.append(f"{name}: {shown}")
        return f"{type(self).__name__}({', '.join(parts)})"


LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
