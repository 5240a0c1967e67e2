"""Bijective transforms y = f(x) with log|det df/dx|, for TransformedDistribution.

Every transform here is elementwise (event_dim 0): `log_abs_det_jacobian(x, y)` has x's shape.
"""

from __future__ import annotations

import math
from typing import Any

import tinygpt as tg
from tinygpt.tensor import Tensor

from .bernoulli import softplus
from .distribution import as_param

__all__ = ["AffineTransform", "ExpTransform", "SigmoidTransform", "TanhTransform", "Transform"]


class Transform:
    """Base: `__call__` is f, `inv` is f^-1, `log_abs_det_jacobian(x, y)` is log|f'(x)|."""

    event_dim = 0
    bijective = True

    def __call__(self, x: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} is not callable")

    def _inverse(self, y: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no inverse")

    @property
    def inv(self) -> _InverseTransform:
        return _InverseTransform(self)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.log_abs_det_jacobian")

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class _InverseTransform(Transform):
    """f^-1 of a transform, so `t.inv(y)` reads like PyTorch."""

    def __init__(self, forward: Transform) -> None:
        self._forward = forward

    def __call__(self, y: Tensor) -> Tensor:
        return self._forward._inverse(y)

    def _inverse(self, x: Tensor) -> Tensor:
        return self._forward(x)

    @property
    def inv(self) -> Any:
        return self._forward

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        # here `x` is the inverse's input (the forward's output) and `y` its result
        return -self._forward.log_abs_det_jacobian(y, x)


class ExpTransform(Transform):
    """y = exp(x); log|dy/dx| = x."""

    def __call__(self, x: Tensor) -> Tensor:
        return tg.exp(x)

    def _inverse(self, y: Tensor) -> Tensor:
        return tg.log(y)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return x


class AffineTransform(Transform):
    """y = loc + scale * x; log|dy/dx| = log|scale|."""

    def __init__(self, loc: Any, scale: Any, event_dim: int = 0) -> None:
        if event_dim != 0:
            raise NotImplementedError("AffineTransform: only event_dim=0 is supported")
        self.loc = loc
        self.scale = scale

    def __call__(self, x: Tensor) -> Tensor:
        return x * self.scale + self.loc

    def _inverse(self, y: Tensor) -> Tensor:
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        scale = as_param(self.scale, x)
        return tg.log(scale.abs()).expand(*tg.broadcast_shapes(x.shape, scale.shape))


class SigmoidTransform(Transform):
    """y = sigmoid(x); log|dy/dx| = -softplus(-x) - softplus(x)."""

    def __call__(self, x: Tensor) -> Tensor:
        return tg.sigmoid(x)

    def _inverse(self, y: Tensor) -> Tensor:
        eps = tg.finfo(y.dtype).eps
        y = y.clamp(eps, 1.0 - eps)
        return tg.log(y) - tg.log1p(-y)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return -softplus(-x) - softplus(x)


class TanhTransform(Transform):
    """y = tanh(x); log|dy/dx| = 2 (log 2 - x - softplus(-2x)), stable for large |x|."""

    def __call__(self, x: Tensor) -> Tensor:
        return tg.tanh(x)

    def _inverse(self, y: Tensor) -> Tensor:
        # atanh(y) = (log1p(y) - log1p(-y)) / 2
        return 0.5 * (tg.log1p(y) - tg.log1p(-y))

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return 2.0 * (math.log(2.0) - x - softplus(-2.0 * x))
