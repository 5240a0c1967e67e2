"""LU factorization with partial pivoting, as PyTorch exposes it: `lu_factor` (packed, with
LAPACK's 1-based int32 pivots), `lu_factor_ex`, `lu` (P, L, U with A = P L U) and `lu_solve`.

Backward (square A = P L U; Murray's closed form):
dA = P L^-T (tril(L^T dL, -1) + triu(dU U^T)) U^-T.
`lu_solve` is a composition of triangular solves, so it is differentiable in LU and B.

>>> import tinygpt as tg
>>> import tinygpt.linalg as LA
>>> p, l, u = LA.lu(tg.tensor([[1.0, 2.0], [3.0, 4.0]]))
>>> [[round(v, 4) for v in row] for row in u.tolist()]
[[3.0, 4.0], [0.0, 0.6667]]
"""

from __future__ import annotations

from typing import NamedTuple

from ..creation import arange
from ..dtypes import int32, int64
from ..errors import ShapeError
from ..ndarray import broadcast_shapes
from ..ops.comparison import where
from ..tensor import Tensor
from ._common import (
    TensorFunction,
    check_same_dtype,
    check_square,
    identity_like,
    mT,
    raise_for_info,
)
from ._kernels import lu_packed
from .solvers import solve_triangular

__all__ = ["lu_factor", "lu_factor_ex", "lu", "lu_solve", "LUResult", "LUFactorResult"]


class LUFactorResult(NamedTuple):
    LU: Tensor  # noqa: N815 - PyTorch's field names
    pivots: Tensor


class LUFactorExResult(NamedTuple):
    LU: Tensor  # noqa: N815
    pivots: Tensor
    info: Tensor


class LUResult(NamedTuple):
    P: Tensor  # noqa: N815
    L: Tensor  # noqa: N815
    U: Tensor  # noqa: N815


class LUFactor(TensorFunction):
    """A (..., n, n) -> (packed LU, perm (..., n) int64, swaps, info)."""

    def compute(self, a: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        f = lu_packed(a)
        return f.lu, f.perm, f.swaps, f.info

    def gradient(self, inputs, outputs, grads):
        packed, perm = outputs[0], outputs[1]
        g = grads[0]
        if g is None:
            return (None,)
        low = packed.tril(-1) + identity_like(packed)
        up = packed.triu()
        inner = (mT(low) @ g).tril(-1) + (g @ mT(up)).triu()  # g's parts are gL and gU
        right = solve_triangular(mT(up), inner, upper=False, left=False)  # inner U^-T
        grad = solve_triangular(mT(low), right, upper=True, unitriangular=True)
        # rows of P^T A are rows perm of A: undo the permutation
        return (_unpermute_rows(grad, perm),)


def _unpermute_rows(x: Tensor, perm: Tensor) -> Tensor:
    """P y for y = P^T x's layout: row perm[i] of the result is row i of x."""
    inverse = perm.argsort(-1)
    return x.gather(-2, inverse.unsqueeze(-1).expand(*x.shape))


def lu_factor_ex(a: Tensor, *, pivot: bool = True, check_errors: bool = False) -> LUFactorExResult:
    """(LU, pivots, info) with info the first zero pivot's step (1-based), 0 if none."""
    check_square("lu_factor", a)
    if not pivot:
        raise NotImplementedError("linalg.lu_factor: pivot=False is not supported (as on CPU)")
    packed, _, swaps, info = LUFactor.apply(a)
    info = info.detach().to(int32)  # PyTorch: int32
    if check_errors:
        raise_for_info(
            "lu_factor",
            info,
            "U[{k}, {k}] is zero, so the matrix is singular",
            "the factorization is still returned by lu_factor_ex (check_errors=False)",
        )
    return LUFactorExResult(packed, (swaps.detach() + 1).to(int32), info)


def lu_factor(a: Tensor, *, pivot: bool = True) -> LUFactorResult:
    """(LU, pivots): L (unit diagonal, below) and U packed in one matrix; pivots are LAPACK's
    1-based row swaps (int32). A singular matrix still factors (U has a zero on its diagonal)."""
    out = lu_factor_ex(a, pivot=pivot)
    return LUFactorResult(out.LU, out.pivots)


def lu(a: Tensor, *, pivot: bool = True) -> LUResult:
    """(P, L, U) with A = P L U: P a permutation matrix, L unit lower, U upper triangular."""
    check_square("lu", a)
    if not pivot:
        raise NotImplementedError("linalg.lu: pivot=False is not supported (as on CPU)")
    packed, perm, _, _ = LUFactor.apply(a)
    n = a.shape[-1]
    low = packed.tril(-1) + identity_like(packed)
    # P^T has row i = e_perm[i], so P[perm[i], i] = 1
    rows = arange(n, device=a.device)
    p_t = (perm.detach().unsqueeze(-1) == rows).to(a.dtype)
    return LUResult(mT(p_t).contiguous(), low, packed.triu())


def _perm_from_pivots(pivots: Tensor) -> Tensor:
    """Row i of P^T A is row perm[i] of A, from LAPACK's sequential 1-based swaps."""
    n = pivots.shape[-1]
    rows = arange(n, device=pivots.device)
    perm = rows.expand(*pivots.shape).contiguous()
    swaps = pivots.to(int64) - 1
    for k in range(n):
        pk = swaps[..., k : k + 1]  # (..., 1)
        source = where(rows == k, pk, where(rows == pk, k, rows))
        perm = perm.gather(-1, source)
    return perm


def lu_solve(
    lu_data: Tensor, pivots: Tensor, b: Tensor, *, left: bool = True, adjoint: bool = False
) -> Tensor:
    """X with A X = B from `lu_factor`'s (LU, pivots); adjoint=True solves A^T X = B and
    left=False solves X A = B."""
    check_square("lu_solve", lu_data)
    check_same_dtype("lu_solve", lu_data, b)
    if b.ndim < 2:
        raise ShapeError(f"linalg.lu_solve: B must be (..., n, k), got shape {b.shape}")
    if not left:
        # X A = B  <=>  A^T X^T = B^T
        return mT(lu_solve(lu_data, pivots, mT(b), adjoint=not adjoint))
    perm = _perm_from_pivots(pivots)
    n = lu_data.shape[-1]
    if b.shape[-2] != n:
        raise ShapeError(
            f"linalg.lu_solve: LU {tuple(lu_data.shape)} and B {tuple(b.shape)} do not fit: "
            f"B needs {n} rows"
        )
    if not adjoint:
        # A = P L U: X = U^-1 L^-1 P^T B
        batch = broadcast_shapes("lu_solve", tuple(perm.shape[:-1]), tuple(b.shape[:-2]))
        index = perm.expand(*batch, n).unsqueeze(-1).expand(*batch, n, b.shape[-1])
        pb = b.expand(*batch, n, b.shape[-1]).gather(-2, index)
        y = solve_triangular(lu_data, pb, upper=False, unitriangular=True)
        return solve_triangular(lu_data, y, upper=True)
    # A^T = U^T L^T P^T: X = P L^-T U^-T B
    y = solve_triangular(mT(lu_data), b, upper=False)
    z = solve_triangular(mT(lu_data), y, upper=True, unitriangular=True)
    return _unpermute_rows(z, perm.expand(*z.shape[:-2], n))
