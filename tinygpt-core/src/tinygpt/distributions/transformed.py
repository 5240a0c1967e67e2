"""TransformedDistribution: push a base distribution through a chain of transforms.

log p_Y(y) = log p_X(x) - sum_i log|det J_i| with x recovered by inverting the chain.
E.g. LogNormal = TransformedDistribution(Normal(mu, s), [ExpTransform()]); a tanh-squashed
Gaussian policy = TransformedDistribution(Normal(mu, s), [TanhTransform()]).
"""

from __future__ import annotations

from typing import Any

from tinygpt.tensor import Tensor

from .distribution import Distribution
from .transforms import Transform

__all__ = ["TransformedDistribution"]


class TransformedDistribution(Distribution):
    """Samples f_n(...f_1(x)) with x ~ base; shapes are the base's (elementwise transforms)."""

    arg_constraints: dict[str, Any] = {}

    def __init__(
        self,
        base_distribution: Distribution,
        transforms: Transform | list[Transform],
        validate_args: bool | None = None,
    ) -> None:
        if isinstance(transforms, Transform):
            transforms = [transforms]
        self.base_dist = base_distribution
        self.transforms = list(transforms)
        super().__init__(
            tuple(base_distribution.batch_shape),
            tuple(base_distribution.event_shape),
            validate_args,
        )

    @property
    def has_rsample(self) -> bool:  # type: ignore[override]
        return self.base_dist.has_rsample

    def sample(self, sample_shape: Any = ()) -> Tensor:
        x = self.base_dist.sample(sample_shape)
        for t in self.transforms:
            x = t(x)
        return x.detach()

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        x = self.base_dist.rsample(sample_shape)
        for t in self.transforms:
            x = t(x)
        return x

    def log_prob(self, value: Tensor) -> Tensor:
        event_dims = len(self.event_shape)
        total: Tensor | None = None
        y = value
        for t in reversed(self.transforms):
            x = t.inv(y)
            term = t.log_abs_det_jacobian(x, y)
            if event_dims > 0:
                # NOTE: elementwise transforms on a vector event sum their jacobian over it
                term = term.sum(dim=tuple(range(-event_dims, 0)))
            total = term if total is None else total + term
            y = x
        base = self.base_dist.log_prob(y)
        return base if total is None else base - total
