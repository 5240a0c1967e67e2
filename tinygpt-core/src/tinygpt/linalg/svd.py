"""Singular value decomposition A = U diag(S) Vh by one-sided Jacobi (see `_jacobi.py`):
`svd` and `svdvals`.

One-sided Jacobi orthogonalizes the columns of A directly, never forming A^T A, so small
singular values keep their relative accuracy. U is then cleaned up by a Householder QR
(sign-matched): it completes U to a square orthogonal matrix for full_matrices=True and
gives orthonormal columns for zero singular values too.

Backward: the formula PyTorch uses (Townsend's, on the reduced factors; with
full_matrices=True the gradient through U's and Vh's extra vectors is ignored, as there).
Repeated singular values make the U / Vh parts infinite; S alone is always fine.

>>> import tinygpt as tg
>>> import tinygpt.linalg as LA
>>> [round(v, 4) for v in LA.svdvals(tg.tensor([[3.0, 0.0], [0.0, -4.0]])).tolist()]
[4.0, 3.0]
"""

from __future__ import annotations

from typing import NamedTuple

from ..creation import zeros_like
from ..ops.comparison import where
from ..ops.movement import cat
from ..tensor import Tensor
from ._common import TensorFunction, check_matrix, diag_embed, diagonal_of, identity_like, mT
from ._jacobi import svd_jacobi
from ._kernels import householder

__all__ = ["svd", "svdvals", "SVDResult"]


class SVDResult(NamedTuple):
    U: Tensor  # noqa: N815 - PyTorch's field names
    S: Tensor  # noqa: N815
    Vh: Tensor  # noqa: N815


def _tall_svd(a: Tensor, full: bool) -> tuple[Tensor, Tensor, Tensor]:
    """(U, S, V) of a tall (..., m, n) matrix, m >= n."""
    av, s, v = svd_jacobi(a)
    n = a.shape[-1]
    u = av / where(s == 0, 1.0, s).unsqueeze(-2) * (s != 0).to(a.dtype).unsqueeze(-2)
    q, r = householder(u)
    # U = Q R with R ~ diag(+-1): take Q's columns with R's signs (+1 where U's column was 0)
    signs = 1.0 - 2.0 * (diagonal_of(r[..., :n, :]) < 0).to(a.dtype)  # (..., n): +-1
    q_head = q[..., :, :n] * signs.unsqueeze(-2)
    if full:
        return cat([q_head, q[..., :, n:]], -1), s, v
    return q_head, s, v


class SVD(TensorFunction):
    """A (..., m, n) -> (U, S, Vh)."""

    def compute(self, a: Tensor, full: bool) -> tuple[Tensor, Tensor, Tensor]:
        if a.shape[-2] >= a.shape[-1]:
            u, s, v = _tall_svd(a, full)
            return u, s, mT(v).contiguous()
        # wide: A^T = V S U^T
        v, s, u = _tall_svd(mT(a), full)
        return u, s, mT(v).contiguous()

    def gradient(self, inputs, outputs, grads):
        u, s, vh = outputs
        gu, gs, gvh = grads
        m, n = inputs[0].shape[-2], inputs[0].shape[-1]
        k = min(m, n)
        u, vh = u[..., :, :k], vh[..., :k, :]
        gu = None if gu is None else gu[..., :, :k]
        gvh = None if gvh is None else gvh[..., :k, :]
        return (_backward(u, s, vh, gu, gs, gvh, m, n),)


def _backward(u, s, vh, gu, gs, gvh, m, n):
    """The gradient of A from those of its reduced U (m, k), S (k,), Vh (k, n)."""
    k = s.shape[-1]
    if gu is None and gvh is None:
        inner = diag_embed(gs)
        return u @ inner @ vh
    eye = identity_like(s)
    s2 = s * s
    gap = s2.unsqueeze(-2) - s2.unsqueeze(-1) + eye  # (..., k, k): s[j]^2 - s[i]^2, 1 on diag
    inner = zeros_like(gap)
    if gu is not None:
        uhgu = mT(u) @ gu
        inner = inner + (uhgu - mT(uhgu)) * s.unsqueeze(-2)
    if gvh is not None:
        vhgv = vh @ mT(gvh)
        inner = inner + s.unsqueeze(-1) * (vhgv - mT(vhgv))
    inner = inner / gap * (1.0 - eye)
    if gs is not None:
        inner = inner + diag_embed(gs)
    grad = u @ inner @ vh
    if m > k and gu is not None:
        # (I - U U^T) gU S^-1 V^T: the part of gU outside U's span
        gu_s = gu / s.unsqueeze(-2)
        grad = grad + (gu_s - u @ (mT(u) @ gu_s)) @ vh
    if n > k and gvh is not None:
        # U S^-1 gVh (I - V V^T)
        s_gvh = gvh / s.unsqueeze(-1)
        grad = grad + u @ (s_gvh - (s_gvh @ mT(vh)) @ vh)
    return grad


def svd(a: Tensor, full_matrices: bool = True, *, driver: str | None = None) -> SVDResult:
    """(U, S, Vh) with A = U diag(S) Vh, S descending.

    full_matrices=True: U (..., m, m), Vh (..., n, n); False: U (..., m, k), Vh (..., k, n),
    k = min(m, n). The singular vectors' signs are not unique (compare U diag(S) Vh).
    `driver` (PyTorch's choice of cuSOLVER routine) is accepted and ignored.
    """
    check_matrix("svd", a)
    u, s, vh = SVD.apply(a, full=full_matrices)
    return SVDResult(u, s, vh)


def svdvals(a: Tensor, *, driver: str | None = None) -> Tensor:
    """The singular values, descending: (..., m, n) -> (..., min(m, n))."""
    return svd(a, full_matrices=False).S
