"""Symmetric eigendecomposition: `eigh` (eigenvalues ascending and orthonormal eigenvectors)
and `eigvalsh`, by cyclic Jacobi rotations (see `_jacobi.py`).

As in PyTorch, only one triangle of the input is read: the lower one (UPLO='L') or the upper
one (UPLO='U'). The eigenvectors' signs are not unique; compare V diag(w) V^T, or |V|.

Backward (A = V diag(w) V^T): dA = V (diag(dw) + F * (V^T dV)) V^T with
F[i, j] = 1 / (w[j] - w[i]) off the diagonal; repeated eigenvalues make it infinite, as in
PyTorch (a loss that only uses the eigenvalues never needs F).

>>> import tinygpt as tg
>>> import tinygpt.linalg as LA
>>> [round(v, 4) for v in LA.eigvalsh(tg.tensor([[2.0, 1.0], [1.0, 2.0]])).tolist()]
[1.0, 3.0]
"""

from __future__ import annotations

from typing import NamedTuple

from ..creation import zeros_like
from ..tensor import Tensor
from ._common import TensorFunction, check_square, diag_embed, identity_like, mT
from ._jacobi import eigh_jacobi

__all__ = ["eigh", "eigvalsh", "EighResult"]


class EighResult(NamedTuple):
    eigenvalues: Tensor
    eigenvectors: Tensor


def _symmetric(a: Tensor, uplo: str) -> Tensor:
    """The symmetric matrix whose lower (or upper) triangle is a's."""
    if uplo == "L":
        return a.tril() + mT(a.tril(-1))
    return a.triu() + mT(a.triu(1))


class Eigh(TensorFunction):
    """A (..., n, n) -> (w (..., n) ascending, V (..., n, n))."""

    def compute(self, a: Tensor, uplo: str) -> tuple[Tensor, Tensor]:
        return eigh_jacobi(_symmetric(a, uplo))

    def gradient(self, inputs, outputs, grads):
        w, v = outputs
        gw, gv = grads
        inner = diag_embed(gw) if gw is not None else zeros_like(v)
        if gv is not None:
            gap = w.unsqueeze(-2) - w.unsqueeze(-1)  # (..., n, n): w[j] - w[i]
            eye = identity_like(w)
            f = (1.0 - eye) / (gap + eye)  # 1 / (w[j] - w[i]) off the diagonal, 0 on it
            inner = inner + f * (mT(v) @ gv)
        return (v @ inner @ mT(v),)


def eigh(a: Tensor, UPLO: str = "L") -> EighResult:  # noqa: N803 - PyTorch's name
    """(eigenvalues ascending (..., n), eigenvectors as columns (..., n, n)) of symmetric A."""
    check_square("eigh", a)
    if UPLO not in ("L", "U"):
        raise ValueError(f"linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    w, v = Eigh.apply(a, uplo=UPLO)
    return EighResult(w, v)


def eigvalsh(a: Tensor, UPLO: str = "L") -> Tensor:  # noqa: N803 - PyTorch's name
    """The eigenvalues of symmetric A, ascending: (..., n, n) -> (..., n)."""
    return eigh(a, UPLO).eigenvalues
