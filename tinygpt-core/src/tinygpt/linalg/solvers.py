"""Inverse, determinants and linear solves, on an LU factorization with partial pivoting:
`inv`, `inv_ex`, `det`, `slogdet`, `solve`, `solve_ex`, `solve_triangular`.

Each is one primitive (`TensorFunction`): the forward runs the factorization loop without a
graph and the backward is the closed form (X = A^-1 B: dB = A^-T G, dA = -dB X^T).

>>> import tinygpt as tg
>>> import tinygpt.linalg as LA
>>> LA.inv(tg.tensor([[2.0, 0.0], [0.0, 4.0]])).tolist()
[[0.5, 0.0], [0.0, 0.25]]
>>> round(LA.det(tg.tensor([[1.0, 2.0], [3.0, 4.0]])).item(), 4)
-2.0
"""

from __future__ import annotations

from typing import NamedTuple

from ..dtypes import int32
from ..errors import ShapeError
from ..ndarray import broadcast_shapes
from ..tensor import Tensor
from ._common import (
    TensorFunction,
    check_float,
    check_same_dtype,
    check_square,
    diagonal_of,
    identity_like,
    mT,
    raise_for_info,
)
from ._kernels import lu_packed, solve_plain, triangular_solve
from .svd import svd

__all__ = [
    "inv",
    "inv_ex",
    "det",
    "slogdet",
    "solve",
    "solve_ex",
    "solve_triangular",
    "SlogdetResult",
    "InvExResult",
    "SolveExResult",
]

_SINGULAR = "the diagonal element {k} of U is zero, so the matrix is singular"
_SINGULAR_FIX = (
    "check the matrix for dependent rows or columns, or use linalg.pinv / linalg.lstsq, "
    "which accept singular matrices"
)


class InvExResult(NamedTuple):
    inverse: Tensor
    info: Tensor


class SolveExResult(NamedTuple):
    result: Tensor
    info: Tensor


class SlogdetResult(NamedTuple):
    sign: Tensor
    logabsdet: Tensor


class Inv(TensorFunction):
    """A -> (A^-1, info).  Backward: dA = -A^-T G A^-T."""

    def compute(self, a: Tensor) -> tuple[Tensor, Tensor]:
        eye = identity_like(a).expand(*a.shape)
        return solve_plain(a, eye)

    def gradient(self, inputs, outputs, grads):
        g = grads[0]
        if g is None:
            return (None,)
        inverse_t = mT(outputs[0])
        return (-(inverse_t @ g @ inverse_t),)


class Solve(TensorFunction):
    """A (..., n, n), B (..., n, k), same batch -> (X, info) with A X = B.
    Backward: dB = A^-T G, dA = -dB X^T."""

    def compute(self, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
        return solve_plain(a, b)

    def gradient(self, inputs, outputs, grads):
        g = grads[0]
        if g is None:
            return (None, None)
        a = inputs[0]
        db = _solve_any(mT(a), g)
        return (-(db @ mT(outputs[0])), db)


def _solve_any(a: Tensor, b: Tensor) -> Tensor:
    """A^-1 B in the current grad mode: the primitive when recording, else the loop."""
    if a.requires_grad or b.requires_grad:
        return Solve.apply(a, b)[0]
    return solve_plain(a, b)[0]


class SolveTriangular(TensorFunction):
    """T (..., n, n), B (..., n, k) -> X with T X = B, T the upper or lower triangle.
    Backward: dB = T^-T G, dT = -dB X^T restricted to T's triangle."""

    def compute(self, t: Tensor, b: Tensor, upper: bool, unit: bool) -> Tensor:
        return triangular_solve(t, b, upper, unit)

    def gradient(self, inputs, outputs, grads):
        (g,) = grads
        upper = self.options["upper"]
        unit = self.options["unit"]
        t = inputs[0]
        if t.requires_grad or g.requires_grad:
            db = SolveTriangular.apply(mT(t), g, upper=not upper, unit=unit)
        else:
            db = triangular_solve(mT(t), g, not upper, unit)
        dt = -(db @ mT(outputs[0]))
        shift = 1 if unit else 0
        dt = dt.triu(shift) if upper else dt.tril(-shift)
        return (dt, db)


class Slogdet(TensorFunction):
    """A -> (sign, log|det A|).  Backward: dA = G * A^-T (sign has no gradient)."""

    def compute(self, a: Tensor) -> tuple[Tensor, Tensor]:
        factors = lu_packed(a)
        pivots = diagonal_of(factors.lu)  # (..., n)
        sign = factors.sign * pivots.sign().prod(-1)
        return sign, pivots.abs().log().sum(-1)

    def gradient(self, inputs, outputs, grads):
        g = grads[1]
        if g is None:
            return (None,)
        a = inputs[0]
        return (g.unsqueeze(-1).unsqueeze(-1) * mT(_solve_any(a, identity_like(a))),)


class Det(TensorFunction):
    """A -> det A.  Backward: dA = G cof(A), the cofactor matrix: det(A) A^-T, or, when a
    matrix of the batch is singular (where that divides by zero), from the SVD A = U S Vh:
    cof(A) = det(U) det(Vh) U diag(prod of the other singular values) Vh."""

    def compute(self, a: Tensor) -> Tensor:
        factors = lu_packed(a)
        return factors.sign * diagonal_of(factors.lu).prod(-1)

    def gradient(self, inputs, outputs, grads):
        (g,) = grads
        a, value = inputs[0], outputs[0]
        if bool((value == 0).any().item()):
            return (g.unsqueeze(-1).unsqueeze(-1) * _cofactors(a),)
        scale = (g * value).unsqueeze(-1).unsqueeze(-1)
        return (scale * mT(_solve_any(a, identity_like(a))),)


def _cofactors(a: Tensor) -> Tensor:
    """The cofactor matrix (the transposed adjugate) of each matrix, singular ones too."""
    u, s, vh = svd(a)
    eye = identity_like(s)
    others = (s.unsqueeze(-2) * (1.0 - eye) + eye).prod(-1)  # (..., n): prod over j != i
    sign = (Det.apply(u) * Det.apply(vh)).unsqueeze(-1).unsqueeze(-1)
    return sign * (u * others.unsqueeze(-2)) @ vh


# ------------------------------------------------------------------ functions
def inv_ex(a: Tensor, *, check_errors: bool = False) -> InvExResult:
    """(inverse, info): info is 0, or k for a zero pivot at step k (inverse then inf/nan)."""
    check_square("inv", a)
    inverse, info = Inv.apply(a)
    info = info.detach().to(int32)  # PyTorch: int32
    if check_errors:
        raise_for_info("inv", info, _SINGULAR, _SINGULAR_FIX)
    return InvExResult(inverse, info)


def inv(a: Tensor) -> Tensor:
    """The inverse of each square matrix; LinAlgError for a singular one."""
    return inv_ex(a, check_errors=True).inverse


def det(a: Tensor) -> Tensor:
    """The determinant of each square matrix: (..., n, n) -> (...,)."""
    check_square("det", a)
    return Det.apply(a)


def slogdet(a: Tensor) -> SlogdetResult:
    """(sign, log|det|) of each square matrix; a singular one gives (0, -inf)."""
    check_square("slogdet", a)
    sign, logabsdet = Slogdet.apply(a)
    return SlogdetResult(sign.detach(), logabsdet)


def _as_matrices(op: str, a: Tensor, b: Tensor, left: bool) -> tuple[Tensor, Tensor, bool]:
    """(A, B as (..., n, k) broadcast to one batch, whether B was a vector)."""
    check_square(op, a)
    check_float(op, b)
    if not left:
        a = mT(a)
    # PyTorch: B is a vector when 1-D, or when its shape is A's shape without the last dim
    vector = b.ndim == 1 or (b.ndim == a.ndim - 1 and tuple(b.shape) == tuple(a.shape[:-1]))
    if vector:
        b = b.unsqueeze(-1)
    elif not left:
        b = mT(b)
    n = a.shape[-1]
    if b.ndim < 2 or b.shape[-2] != n:
        raise ShapeError(
            f"linalg.{op}: A {tuple(a.shape)} and B {tuple(b.shape)} do not fit: B must be "
            f"(..., {n}, k) or a vector (..., {n})"
        )
    try:
        batch = broadcast_shapes(op, tuple(a.shape[:-2]), tuple(b.shape[:-2]))
    except ShapeError:
        raise ShapeError(
            f"linalg.{op}: the batch dims of A {tuple(a.shape)} and B {tuple(b.shape)} do "
            "not broadcast"
        ) from None
    check_same_dtype(op, a, b)
    a = a.expand(*batch, n, n)
    b = b.expand(*batch, n, b.shape[-1])
    return a, b, vector


def _finish(x: Tensor, vector: bool, left: bool) -> Tensor:
    if vector:
        return x.squeeze(-1)
    return x if left else mT(x)


def solve_ex(
    a: Tensor, b: Tensor, *, left: bool = True, check_errors: bool = False
) -> SolveExResult:
    """(X, info) with A X = B (left) or X A = B (left=False); info as in `inv_ex`."""
    a2, b2, vector = _as_matrices("solve", a, b, left)
    x, info = Solve.apply(a2, b2)
    info = info.detach().to(int32)  # PyTorch: int32
    if check_errors:
        raise_for_info("solve", info, _SINGULAR, _SINGULAR_FIX)
    return SolveExResult(_finish(x, vector, left), info)


def solve(a: Tensor, b: Tensor, *, left: bool = True) -> Tensor:
    """X with A X = B (or X A = B with left=False); B may be a vector; batches broadcast.
    LinAlgError for a singular A."""
    return solve_ex(a, b, left=left, check_errors=True).result


def solve_triangular(
    a: Tensor, b: Tensor, *, upper: bool, left: bool = True, unitriangular: bool = False
) -> Tensor:
    """X with T X = B (or X T = B), T the upper or lower triangle of A; the other triangle
    (and, with unitriangular, the diagonal) is not read. B must be a matrix (..., n, k)."""
    check_square("solve_triangular", a)
    check_same_dtype("solve_triangular", a, b)
    if b.ndim < 2:
        raise ShapeError(f"linalg.solve_triangular: B must be (..., n, k), got shape {b.shape}")
    if not left:
        # X T = B  <=>  T^T X^T = B^T, and T^T's triangle is the other one
        return mT(solve_triangular(mT(a), mT(b), upper=not upper, unitriangular=unitriangular))
    if b.shape[-2] != a.shape[-1]:
        raise ShapeError(
            f"linalg.solve_triangular: A {tuple(a.shape)} and B {tuple(b.shape)} do not fit: "
            f"B needs {a.shape[-1]} rows"
        )
    n = a.shape[-1]
    batch = broadcast_shapes("solve_triangular", tuple(a.shape[:-2]), tuple(b.shape[:-2]))
    a = a.expand(*batch, n, n)
    b = b.expand(*batch, n, b.shape[-1])
    return SolveTriangular.apply(a, b, upper=upper, unit=unitriangular)
