"""QR factorization by Householder reflections: A = Q R, Q with orthonormal columns and R
upper triangular, with LAPACK's sign convention (R's diagonal is -sign(x) * |x| of each
reflected column), so the result matches numpy.linalg.qr and torch.linalg.qr.

mode: 'reduced' (Q (m, k), R (k, n), k = min(m, n)), 'complete' (Q (m, m), R (m, n)),
'r' (R only; Q is an empty tensor).

>>> import tinygpt as tg
>>> import tinygpt.linalg as LA
>>> q, r = LA.qr(tg.tensor([[3.0, 1.0], [4.0, 2.0]]))
>>> [round(v, 4) for v in r[0].tolist()]
[-5.0, -2.2]
"""

from __future__ import annotations

from typing import NamedTuple

from ..creation import empty, zeros_like
from ..ops.movement import cat
from ..tensor import Tensor
from ._common import TensorFunction, check_matrix, mT
from ._kernels import householder
from .solvers import solve_triangular

__all__ = ["qr", "QRResult"]


class QRResult(NamedTuple):
    Q: Tensor  # noqa: N815 - PyTorch's field name
    R: Tensor  # noqa: N815


class QR(TensorFunction):
    """A (..., m, n) -> (Q, R), reduced or complete."""

    def compute(self, a: Tensor, complete: bool) -> tuple[Tensor, Tensor]:
        q, r = householder(a)
        k = min(a.shape[-2], a.shape[-1])
        if complete:
            return q, r
        return q[..., :, :k].contiguous(), r[..., :k, :].contiguous()

    def gradient(self, inputs, outputs, grads):
        q, r = outputs
        gq, gr = grads
        m, n = inputs[0].shape[-2], inputs[0].shape[-1]
        if self.options["complete"] and m > n:
            raise NotImplementedError(
                "linalg.qr: the gradient of mode='complete' with more rows than columns is not "
                "defined (Q's extra columns are arbitrary); use mode='reduced'"
            )
        if gq is None:
            gq = zeros_like(q)
        if gr is None:
            gr = zeros_like(r)
        if m >= n:
            return (_square_backward(q, r, gq, gr),)
        # wide: A = [X | Y], R = [U | V], X = Q U, Y = Q V, so V = Q^T Y
        u, gu, gv = r[..., :, :m], gr[..., :, :m], gr[..., :, m:]
        y = inputs[0][..., :, m:]
        gx = _square_backward(q, u, gq + y @ mT(gv), gu)
        return (cat([gx, q @ gv], -1),)


def _square_backward(q: Tensor, r: Tensor, gq: Tensor, gr: Tensor) -> Tensor:
    """gA = (gQ + Q S) R^-T, S the symmetric matrix with the upper triangle of
    B = gR R^T - Q^T gQ (derived from Q^T dQ being skew and dR R^-1 upper triangular)."""
    b = gr @ mT(r) - mT(q) @ gq
    s = b.triu() + mT(b.triu(1))
    # X R^T = Y with R^T lower triangular
    return solve_triangular(mT(r), gq + q @ s, upper=False, left=False)


def qr(a: Tensor, mode: str = "reduced") -> QRResult:
    """(Q, R) with A = Q R for each matrix of the batch; see the module docstring for modes."""
    check_matrix("qr", a)
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"linalg.qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    q, r = QR.apply(a, complete=mode == "complete")
    if mode == "r":
        return QRResult(empty(0, dtype=a.dtype, device=a.device), r)
    return QRResult(q, r)
