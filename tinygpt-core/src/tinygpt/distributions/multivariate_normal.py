"""MultivariateNormal(loc, covariance_matrix | scale_tril | precision_matrix).

Everything goes through the lower Cholesky factor L (Sigma = L L^T): sampling is
loc + L eps, and log_prob solves L z = x - loc instead of inverting Sigma.
Shapes: loc (*batch, D), L (*batch, D, D); samples (*sample, *batch, D); log_prob (*sample, *batch).
"""

from __future__ import annotations

import math
from typing import Any

import tinygpt as tg
from tinygpt.tensor import Tensor

from .distribution import Distribution, as_param

__all__ = ["MultivariateNormal"]


def _batch_mahalanobis(scale_tril: Tensor, diff: Tensor) -> Tensor:
    """||L^{-1} diff||^2 over the last dim: diff (..., D), L (*batch, D, D) -> (...)."""
    d = diff.shape[-1]
    shape = tuple(diff.shape[:-1])
    tril = scale_tril.expand(*(shape + (d, d)))
    z = tg.linalg.solve_triangular(tril, diff.unsqueeze(-1), upper=False)  # (..., D, 1)
    return (z * z).sum(dim=(-2, -1))


def _half_log_det(scale_tril: Tensor) -> Tensor:
    """log |L| = sum log diag(L) = half of log |Sigma|: (*batch, D, D) -> (*batch)."""
    return tg.log(scale_tril.diagonal(dim1=-2, dim2=-1)).sum(-1)


class MultivariateNormal(Distribution):
    """Gaussian over vectors of length D, given exactly one of the three matrix parameters.

    >>> import tinygpt as tg
    >>> d = MultivariateNormal(tg.zeros(2), covariance_matrix=tg.eye(2))
    >>> round(d.log_prob(tg.zeros(2)).item(), 4)
    -1.8379
    """

    has_rsample = True
    arg_constraints = {"loc": "real_vector", "covariance_matrix": "positive_definite"}

    def __init__(
        self,
        loc: Any,
        covariance_matrix: Any = None,
        precision_matrix: Any = None,
        scale_tril: Any = None,
        validate_args: bool | None = None,
    ) -> None:
        given = [m is not None for m in (covariance_matrix, precision_matrix, scale_tril)]
        if sum(given) != 1:
            raise ValueError(
                "MultivariateNormal: pass exactly one of covariance_matrix, precision_matrix "
                "or scale_tril"
            )
        loc_t = as_param(loc)
        if loc_t.dim() < 1:
            raise ValueError("MultivariateNormal: `loc` must be at least one-dimensional")
        if scale_tril is not None:
            tril = as_param(scale_tril, loc_t)
        elif covariance_matrix is not None:
            tril = tg.linalg.cholesky(as_param(covariance_matrix, loc_t))
        else:
            tril = tg.linalg.cholesky(tg.linalg.inv(as_param(precision_matrix, loc_t)))
        if tril.dim() < 2 or tril.shape[-1] != tril.shape[-2]:
            raise ValueError(f"MultivariateNormal: matrix must be (*, D, D), got {tril.shape}")
        d = loc_t.shape[-1]
        if tril.shape[-1] != d:
            raise ValueError(
                f"MultivariateNormal: loc has D={d} but the matrix is {tuple(tril.shape)}"
            )
        batch = tg.broadcast_shapes(tuple(loc_t.shape[:-1]), tuple(tril.shape[:-2]))
        self.loc = loc_t.expand(*(tuple(batch) + (d,)))
        self._unbroadcasted_scale_tril = tril
        super().__init__(tuple(batch), (d,), validate_args)

    @property
    def scale_tril(self) -> Tensor:
        d = self.event_shape[0]
        return self._unbroadcasted_scale_tril.expand(*(tuple(self.batch_shape) + (d, d)))

    @property
    def covariance_matrix(self) -> Tensor:
        tril = self.scale_tril
        return tril @ tril.transpose(-1, -2)

    @property
    def precision_matrix(self) -> Tensor:
        return tg.linalg.inv(self.covariance_matrix)

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        tril = self._unbroadcasted_scale_tril
        return (tril * tril).sum(-1).expand(*self.loc.shape)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        eps = tg.randn(shape, dtype=self.loc.dtype, device=self.loc.device)  # (*s, *b, D)
        # (*b, D, D) @ (*s, *b, D, 1) -> (*s, *b, D)
        return self.loc + (self._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def log_prob(self, value: Tensor) -> Tensor:
        value = as_param(value, self.loc)
        diff = value - self.loc
        m = _batch_mahalanobis(self._unbroadcasted_scale_tril, diff)
        d = self.event_shape[0]
        half_log_det = _half_log_det(self._unbroadcasted_scale_tril)
        return -0.5 * (d * math.log(2.0 * math.pi) + m) - half_log_det

    def entropy(self) -> Tensor:
        d = self.event_shape[0]
        half_log_det = _half_log_det(self._unbroadcasted_scale_tril)
        h = 0.5 * d * (1.0 + math.log(2.0 * math.pi)) + half_log_det
        return h.expand(*self.batch_shape)
