"""LogNormal(loc, scale): exp of a Normal(loc, scale) draw, reparametrisable.

Shapes: loc and scale broadcast to (*batch); samples and log_prob are (*sample, *batch).
"""

from __future__ import annotations

from typing import Any

import tinygpt as tg
from tinygpt.tensor import Tensor

from .normal import Normal
from .transformed import TransformedDistribution
from .transforms import ExpTransform

__all__ = ["LogNormal"]


class LogNormal(TransformedDistribution):
    """X = exp(Y) with Y ~ Normal(loc, scale).

    >>> import tinygpt as tg
    >>> round(LogNormal(0.0, 1.0).log_prob(tg.tensor(1.0)).item(), 4)
    -0.9189
    """

    arg_constraints = {"loc": "real", "scale": "positive"}

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        base = Normal(loc, scale)
        self.loc = base.loc
        self.scale = base.scale
        super().__init__(base, [ExpTransform()], validate_args)

    @property
    def mean(self) -> Tensor:
        return tg.exp(self.loc + self.scale * self.scale / 2.0)

    @property
    def mode(self) -> Tensor:
        return tg.exp(self.loc - self.scale * self.scale)

    @property
    def variance(self) -> Tensor:
        s2 = self.scale * self.scale
        return tg.expm1(s2) * tg.exp(2.0 * self.loc + s2)

    def entropy(self) -> Tensor:
        # H[exp(Y)] = H[Y] + E[Y]
        return self.base_dist.entropy() + self.loc
