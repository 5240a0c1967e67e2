"""Parallel (round-robin) Jacobi rotations, the engine of `eigh` and `svd` (no graph).

A sweep pairs every index p with every q once. The round-robin ("tournament") schedule
splits a sweep into n - 1 rounds of n / 2 disjoint pairs, so one round's rotations commute
and go in together as one n x n rotation matrix J (identity except at (p, p), (p, q),
(q, p), (q, q) for each pair): a handful of tensor ops per round instead of per pair.

- two-sided (eigh): A <- J^T A J zeroes A[p, q] for every pair of the round;
- one-sided (svd): A <- A J makes columns p and q orthogonal.

Sweeps repeat until the off-diagonal part is at rounding level (quadratic convergence:
usually 5 to 10 sweeps).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from ..creation import tensor
from ..dtypes import float32, int64
from ..ops.comparison import where
from ..ops.movement import cat
from ..tensor import Tensor
from ._common import diagonal_of, identity_like, mT

__all__ = ["schedule", "prepare", "rotation", "eigh_jacobi", "svd_jacobi", "Round", "MAX_SWEEPS"]

MAX_SWEEPS = 60


def schedule(n: int) -> list[tuple[list[int], list[int]]]:
    """The rounds of one sweep: (ps, qs) with p < q, every pair once (circle method)."""
    size = n + (n % 2)  # an odd n gets a dummy index n, whose pairs are dropped
    players = list(range(size))
    rounds = []
    for _ in range(size - 1):
        ps, qs = [], []
        for i in range(size // 2):
            a, b = players[i], players[size - 1 - i]
            if a < n and b < n:
                ps.append(min(a, b))
                qs.append(max(a, b))
        rounds.append((ps, qs))
        players = [players[0], players[-1], *players[1:-1]]  # rotate all but the first
    return rounds


class Round(NamedTuple):
    """One round's disjoint pairs, as index tensors made once per call (not once per round).

    diag_p, diag_q, off: flat positions p*n+p, q*n+q, p*n+q in an n x n matrix, (k,) each;
    changed: the four flat positions J changes, (4k,); p, q: the columns, (k,) each.
    """

    diag_p: Tensor
    diag_q: Tensor
    off: Tensor
    changed: Tensor
    p: Tensor
    q: Tensor


def prepare(n: int, device: Any) -> list[Round]:
    """The index tensors of every round of a sweep over n indices."""
    rounds = []
    for ps, qs in schedule(n):
        diag_p = [p * n + p for p in ps]
        diag_q = [q * n + q for q in qs]
        off = [p * n + q for p, q in zip(ps, qs, strict=True)]
        mirror = [q * n + p for p, q in zip(ps, qs, strict=True)]

        def index(values: list[int]) -> Tensor:
            return tensor(values, dtype=int64, device=device)

        changed = index(diag_p + diag_q + off + mirror)
        rounds.append(
            Round(index(diag_p), index(diag_q), index(off), changed, index(ps), index(qs))
        )
    return rounds


def rotation(like: Tensor, n: int, step: Round, c: Tensor, s: Tensor) -> Tensor:
    """J (..., n, n): the identity with [[c, s], [-s, c]] at rows/columns (p, q) of each pair.

    c, s: (..., k), one per pair. Built as a flat identity plus a scatter_add of the changes.
    """
    values = cat([c - 1.0, c - 1.0, s, -s], -1)  # (..., 4k)
    batch = tuple(values.shape[:-1])
    flat = identity_like(like, n).reshape(n * n).expand(*batch, n * n).contiguous()
    flat = flat.scatter_add(-1, step.changed.expand(*batch, values.shape[-1]), values)
    return flat.reshape(*batch, n, n)


def _pick(flat: Tensor, index: Tensor) -> Tensor:
    return flat.index_select(flat.ndim - 1, index)


def _eps(x: Tensor) -> float:
    return 1.1920929e-07 if x.dtype is float32 else 2.220446049250313e-16


def _angles(diff: Tensor, off: Tensor) -> tuple[Tensor, Tensor]:
    """(c, s) of the rotation that zeroes `off` given diff = a_qq - a_pp (Golub & Van Loan
    8.5.1): t = sign(tau) / (|tau| + sqrt(1 + tau^2)) with tau = diff / (2 off), the smaller
    angle, which keeps the iteration stable. No rotation (c=1, s=0) where off is 0.

    NOTE: written as t = sign(diff) 2 off / (|diff| + sqrt(diff^2 + 4 off^2)) (the same
    number), which never divides by a tiny `off`, so tau cannot overflow."""
    zero = off == 0
    sign = (diff >= 0).to(diff.dtype) * 2.0 - 1.0  # +1 at diff = 0
    twice = 2.0 * off
    denominator = diff.abs() + (diff * diff + twice * twice).sqrt()
    t = where(zero, 0.0, sign * twice / where(zero, 1.0, denominator))
    c = 1.0 / (1.0 + t * t).sqrt()
    return c, t * c


def eigh_jacobi(a: Tensor) -> tuple[Tensor, Tensor]:
    """(w ascending (..., n), V (..., n, n)) with A = V diag(w) V^T, A symmetric."""
    n = a.shape[-1]
    v = identity_like(a).expand(*a.shape).contiguous()
    if a.numel() == 0:
        return diagonal_of(a), v
    rounds = prepare(n, a.device)
    original = a
    eps = _eps(a)
    # done when the off-diagonal part is at rounding level: below n * eps * ||A||, or, once
    # below sqrt(eps) * ||A|| (where convergence is quadratic), no longer shrinking
    scale = (a * a).sum((-2, -1)).sqrt().amax().item()
    tolerance = scale * eps * n
    previous = math.inf
    for _ in range(MAX_SWEEPS):
        off = a - a * identity_like(a)
        size = (off * off).sum((-2, -1)).sqrt().amax().item()
        stalled = size > 0.5 * previous and size < math.sqrt(eps) * scale
        # NOTE: inf/nan input never converges: stop (the result is nan, as LAPACK's)
        if size <= tolerance or stalled or not math.isfinite(size):
            break
        previous = size
        for step in rounds:
            flat = a.reshape(*a.shape[:-2], n * n)
            app = _pick(flat, step.diag_p)
            aqq = _pick(flat, step.diag_q)
            apq = _pick(flat, step.off)
            c, s = _angles(aqq - app, apq)
            j = rotation(a, n, step, c, s)
            a = mT(j) @ a @ j
            v = v @ j
    # NOTE: the Rayleigh quotients v^T A v on the original A, not the rotated diagonal, which
    # carries the rounding of every rotation (10x more accurate in float32 at n = 64)
    w = (v * (original @ v)).sum(-2) / (v * v).sum(-2)
    order = w.argsort(-1)
    w = w.gather(-1, order)
    v = v.gather(-1, order.unsqueeze(-2).expand(*v.shape))
    return w, v


def svd_jacobi(a: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(A V, s, V) for A (..., m, n) with m >= n: A V has orthogonal columns whose norms are
    the singular values s (descending); V (..., n, n) orthogonal."""
    n = a.shape[-1]
    v = identity_like(a).expand(*a.shape[:-2], n, n).contiguous()
    if a.numel() == 0:
        return a, (a * a).sum(-2), v
    rounds = prepare(n, a.device)
    original = a
    eps = _eps(a)
    tol = eps * max(a.shape[-2], 1)
    previous = math.inf
    for _ in range(MAX_SWEEPS):
        # the largest cosine between two columns; columns at rounding level (a rank-deficient
        # A) have no meaningful direction and are left out
        gram = mT(a) @ a  # (..., n, n)
        norms = diagonal_of(gram).sqrt()
        negligible = norms <= eps * norms.amax(-1, keepdim=True)
        norms = where(negligible, math.inf, norms)
        scale = norms.unsqueeze(-1) * norms.unsqueeze(-2)
        cosines = gram.abs() / scale * (1.0 - identity_like(a))
        size = cosines.amax().item()
        stalled = size > 0.5 * previous and size < math.sqrt(eps)
        if size <= tol or stalled or not math.isfinite(size):
            break
        previous = size
        for step in rounds:
            cp = a.index_select(a.ndim - 1, step.p)  # (..., m, k)
            cq = a.index_select(a.ndim - 1, step.q)
            alpha = (cp * cp).sum(-2)
            beta = (cq * cq).sum(-2)
            gamma = (cp * cq).sum(-2)
            c, s = _angles(beta - alpha, gamma)
            j = rotation(a, n, step, c, s)
            a = a @ j
            v = v @ j
    # NOTE: A V recomputed from the original A with V's columns renormalized: the rotated
    # A carries the rounding of every rotation (as in eigh_jacobi)
    v = v / (v * v).sum(-2, keepdim=True).sqrt()
    a = original @ v
    s = (a * a).sum(-2).sqrt()  # (..., n)
    order = (-s).argsort(-1)
    s = s.gather(-1, order)
    cols = order.unsqueeze(-2)
    a = a.gather(-1, cols.expand(*a.shape))
    v = v.gather(-1, cols.expand(*v.shape))
    return a, s, v
