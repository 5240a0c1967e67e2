"""The factorization loops, written with plain tensor ops and run without a graph (callers
wrap them in a `TensorFunction`): LU with partial pivoting, triangular substitution, the
solve built from the two, and Householder QR. Each loops over the n columns in Python;
every step works on the whole batch at once.

Shapes: a (..., n, n), b (..., n, k); batch dims broadcast.
"""

from __future__ import annotations

from typing import NamedTuple

from ..creation import arange, ones, zeros
from ..dtypes import int64
from ..ndarray import broadcast_shapes
from ..ops.comparison import where
from ..tensor import Tensor
from ._common import identity_like, mT

__all__ = [
    "LU",
    "lu_packed",
    "triangular_solve",
    "lu_solve_packed",
    "solve_plain",
    "householder",
]


class LU(NamedTuple):
    """A packed LU factorization with partial pivoting: P A = L U.

    lu: (..., n, n): U on and above the diagonal, L (unit diagonal, not stored) below it.
    perm: (..., n) int64: row i of P A is row perm[i] of A.
    swaps: (..., n) int64: LAPACK's pivots, 0-based: at step k rows k and swaps[k] swapped.
    sign: (...,): the determinant of P, +1 or -1, in a's dtype.
    info: (...,) int64: 0, or k + 1 for the first step k whose pivot was exactly zero.
    """

    lu: Tensor
    perm: Tensor
    swaps: Tensor
    sign: Tensor
    info: Tensor


def lu_packed(a: Tensor) -> LU:
    """Gaussian elimination with partial pivoting (the largest |pivot| of each column)."""
    n = a.shape[-1]
    batch = tuple(a.shape[:-2])
    rows = arange(n, device=a.device)  # (n,)
    lu = a.contiguous().clone()
    perm = rows.expand(*batch, n)
    swaps = zeros(*batch, n, dtype=int64, device=a.device)
    sign = ones(*batch, dtype=a.dtype, device=a.device)
    info = zeros(*batch, dtype=int64, device=a.device)
    for k in range(n):
        # the pivot: the largest |entry| of column k on or below the diagonal
        column = where(rows >= k, lu[..., :, k].abs(), -1.0)  # (..., n)
        p = column.argmax(-1)  # (...,)
        pk = p.unsqueeze(-1)
        source = where(rows == k, pk, where(rows == pk, k, rows))  # (..., n): row to take
        lu = lu.gather(-2, source.unsqueeze(-1).expand(*lu.shape))
        perm = perm.gather(-1, source)
        swaps[..., k] = p
        sign = where(p != k, -sign, sign)
        pivot = lu[..., k, k]  # (...,)
        zero = pivot == 0
        info = where(zero & (info == 0), k + 1, info)
        # NOTE: a zero pivot means the column below it is zero too: skip the step (as LAPACK)
        safe = where(zero, 1.0, pivot).unsqueeze(-1)  # (..., 1)
        factors = where(rows > k, lu[..., :, k] / safe, 0.0)  # (..., n): L's column k
        pivot_row = where(rows > k, lu[..., k, :], 0.0)  # (..., n): U's row k right of k
        lu = lu - factors.unsqueeze(-1) * pivot_row.unsqueeze(-2)
        lu[..., :, k] = where(rows > k, factors, lu[..., :, k])
    return LU(lu, perm, swaps, sign, info)


def triangular_solve(t: Tensor, b: Tensor, upper: bool, unit: bool = False) -> Tensor:
    """x with T x = b by substitution, T the upper or lower triangle of t.

    Only the triangle is read (the other one may hold anything, as a packed LU does); with
    `unit` the diagonal is taken as ones. t (..., n, n), b (..., n, k) -> (..., n, k).
    """
    n = t.shape[-1]
    batch = broadcast_shapes("solve_triangular", tuple(t.shape[:-2]), tuple(b.shape[:-2]))
    t = t.triu() if upper else t.tril()
    x = zeros(*batch, n, b.shape[-1], dtype=b.dtype, device=b.device)
    order = range(n - 1, -1, -1) if upper else range(n)
    for i in order:
        # subtle: the rows of x not solved yet are still zero, so the whole row of t can be
        # used: only the solved unknowns contribute
        done = t[..., i : i + 1, :] @ x  # (..., 1, k)
        rest = b[..., i : i + 1, :] - done
        if not unit:
            rest = rest / t[..., i : i + 1, i : i + 1]
        x[..., i : i + 1, :] = rest
    return x


def lu_solve_packed(lu: Tensor, perm: Tensor, b: Tensor) -> Tensor:
    """x with A x = b from P A = L U: L y = P b, then U x = y."""
    batch = broadcast_shapes("lu_solve", tuple(lu.shape[:-2]), tuple(b.shape[:-2]))
    n, k = b.shape[-2], b.shape[-1]
    index = perm.expand(*batch, n).unsqueeze(-1).expand(*batch, n, k)
    pb = b.expand(*batch, n, k).gather(-2, index)
    y = triangular_solve(lu, pb, upper=False, unit=True)
    return triangular_solve(lu, y, upper=True)


def solve_plain(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """(x, info): x with A x = b, info as in `LU` (x is inf/nan where info != 0)."""
    factors = lu_packed(a)
    return lu_solve_packed(factors.lu, factors.perm, b), factors.info


def householder(a: Tensor) -> tuple[Tensor, Tensor]:
    """(Q (..., m, m), R (..., m, n)) with A = Q R, one reflection per column (no graph)."""
    m, n = a.shape[-2], a.shape[-1]
    rows = arange(m, device=a.device)
    r = a.contiguous().clone()
    q = identity_like(a, m).expand(*a.shape[:-2], m, m).contiguous()
    for j in range(min(m, n)):
        column = r[..., :, j]  # (..., m)
        below = where(rows > j, column, 0.0)
        below2 = (below * below).sum(-1)  # (...,)
        top = column[..., j]
        norm = (below2 + top * top).sqrt()
        alpha = where(top >= 0, -norm, norm)  # R[j, j]: the sign opposite to x_j (no cancelling)
        v = where(rows == j, (top - alpha).unsqueeze(-1), below)  # (..., m)
        v2 = (v * v).sum(-1)
        # NOTE: nothing below the diagonal: no reflection (tau = 0), as LAPACK's dlarfg
        skip = below2 == 0
        tau = where(skip, 0.0, 2.0 / where(skip, 1.0, v2)).unsqueeze(-1).unsqueeze(-1)
        col = v.unsqueeze(-1)  # (..., m, 1)
        r = r - (tau * col) @ (mT(col) @ r)  # H r, H = I - tau v v^T
        q = q - ((q @ col) * tau) @ mT(col)  # q H
    return q, r.triu()
