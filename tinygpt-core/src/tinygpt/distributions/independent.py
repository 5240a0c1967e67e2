"""Independent: reinterpret the rightmost batch dims of a distribution as event dims.

`Independent(Normal(loc, scale), 1)` with loc (B, D) is a diagonal Gaussian over vectors of
length D: batch_shape (B,), event_shape (D,), log_prob summed over D.
"""

from __future__ import annotations

from typing import Any

from tinygpt.tensor import Tensor

from .distribution import Distribution

__all__ = ["Independent"]


def _sum_rightmost(value: Tensor, n: int) -> Tensor:
    """Sum the last `n` dims (n = 0 returns `value` unchanged)."""
    if n == 0:
        return value
    return value.sum(dim=tuple(range(-n, 0)))


class Independent(Distribution):
    """Wraps `base_distribution`, moving `reinterpreted_batch_ndims` batch dims into the event."""

    arg_constraints: dict[str, Any] = {}

    def __init__(
        self,
        base_distribution: Distribution,
        reinterpreted_batch_ndims: int,
        validate_args: bool | None = None,
    ) -> None:
        batch = tuple(base_distribution.batch_shape)
        n = int(reinterpreted_batch_ndims)
        if n < 0 or n > len(batch):
            raise ValueError(
                f"Independent: reinterpreted_batch_ndims must be in [0, {len(batch)}] for "
                f"batch_shape {batch}, got {n}"
            )
        self.base_dist = base_distribution
        self.reinterpreted_batch_ndims = n
        split = len(batch) - n
        event = batch[split:] + tuple(base_distribution.event_shape)
        super().__init__(batch[:split], event, validate_args)

    @property
    def has_rsample(self) -> bool:  # type: ignore[override]
        return self.base_dist.has_rsample

    @property
    def mean(self) -> Tensor:
        return self.base_dist.mean

    @property
    def mode(self) -> Tensor:
        return self.base_dist.mode

    @property
    def variance(self) -> Tensor:
        return self.base_dist.variance

    def sample(self, sample_shape: Any = ()) -> Tensor:
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        return self.base_dist.rsample(sample_shape)

    def log_prob(self, value: Tensor) -> Tensor:
        return _sum_rightmost(self.base_dist.log_prob(value), self.reinterpreted_batch_ndims)

    def entropy(self) -> Tensor:
        return _sum_rightmost(self.base_dist.entropy(), self.reinterpreted_batch_ndims)

    def __repr__(self) -> str:
        return f"Independent({self.base_dist!r}, {self.reinterpreted_batch_ndims})"
