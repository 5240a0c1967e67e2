"""Cholesky factorization of symmetric positive-definite matrices: A = L L^T.

Only the lower triangle of A is read (as PyTorch and LAPACK do); `upper=True` returns
U = L^T. The backward is the closed form (Murray, 2016):
dA = sym(L^-T Phi(L^T dL) L^-1), Phi taking the lower triangle with half the diagonal.

>>> import tinygpt as tg
>>> import tinygpt.linalg as LA
>>> LA.cholesky(tg.tensor([[4.0, 2.0], [2.0, 5.0]])).tolist()
[[2.0, 0.0], [1.0, 2.0]]
"""

from __future__ import annotations

from typing import NamedTuple

from ..creation import arange, zeros
from ..dtypes import int32, int64
from ..ops.comparison import where
from ..tensor import Tensor
from ._common import TensorFunction, check_square, identity_like, mT, raise_for_info
from ._kernels import triangular_solve
from .solvers import solve_triangular

__all__ = ["cholesky", "cholesky_ex", "CholeskyExResult"]


class CholeskyExResult(NamedTuple):
    L: Tensor  # noqa: N815 - PyTorch's field name
    info: Tensor


def _cholesky_loop(a: Tensor) -> tuple[Tensor, Tensor]:
    """(L, info), column by column; info = k + 1 for the first column k whose pivot <= 0."""
    n = a.shape[-1]
    batch = tuple(a.shape[:-2])
    rows = arange(n, device=a.device)
    low = zeros(*a.shape, dtype=a.dtype, device=a.device)
    info = zeros(*batch, dtype=int64, device=a.device)
    for j in range(n):
        # column j of A minus what the finished columns already account for
        rest = a[..., :, j] - (low @ low[..., j, :].unsqueeze(-1)).squeeze(-1)  # (..., n)
        pivot = rest[..., j]
        bad = ~(pivot > 0)  # NOTE: catches nan too
        info = where(bad & (info == 0), j + 1, info)
        root = where(bad, 1.0, pivot).sqrt().unsqueeze(-1)  # (..., 1)
        column = where(rows > j, rest / root, where(rows == j, root, 0.0))
        low[..., :, j] = column
    return low, info


class Cholesky(TensorFunction):
    """A (..., n, n) -> (L, info)."""

    def compute(self, a: Tensor) -> tuple[Tensor, Tensor]:
        return _cholesky_loop(a)

    def gradient(self, inputs, outputs, grads):
        g = grads[0]
        if g is None:
            return (None,)
        low = outputs[0]
        phi = (mT(low) @ g.tril()).tril()
        phi = phi - 0.5 * phi * identity_like(low)
        if low.requires_grad or g.requires_grad:
            # L^-T phi L^-1: two triangular solves
            right = solve_triangular(low, phi, upper=False, left=False)
            grad = solve_triangular(mT(low), right, upper=True)
        else:
            right = mT(triangular_solve(mT(low), mT(phi), upper=True))
            grad = triangular_solve(mT(low), right, upper=True)
        return (0.5 * (grad + mT(grad)),)


def cholesky_ex(a: Tensor, *, upper: bool = False, check_errors: bool = False) -> CholeskyExResult:
    """(L, info): info is 0, or k when the leading minor of order k is not positive-definite
    (L is then only valid in its first k - 1 columns)."""
    check_square("cholesky", a)
    low, info = Cholesky.apply(a)
    info = info.detach().to(int32)  # PyTorch: int32
    if check_errors:
        raise_for_info(
            "cholesky",
            info,
            "the leading minor of order {k} is not positive-definite, so the factorization "
            "could not be completed",
            "the input must be symmetric positive-definite; for a covariance matrix, add a "
            "small multiple of the identity (A + 1e-6 * I)",
        )
    return CholeskyExResult(mT(low) if upper else low, info)


def cholesky(a: Tensor, *, upper: bool = False) -> Tensor:
    """L (lower triangular, positive diagonal) with A = L L^T, or U = L^T with upper=True.
    LinAlgError when A is not positive-definite."""
    return cholesky_ex(a, upper=upper, check_errors=True).L
