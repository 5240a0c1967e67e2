"""What the SVD gives: `pinv`, `matrix_rank`, `lstsq` and `cond`.

The cut-off for "zero" singular values follows PyTorch: max(atol, rtol * largest), with
rtol = eps * max(m, n) when neither is given (and 0 when only atol is).

`pinv` is one primitive: its forward goes through the SVD and its backward is the closed
form of Golub & Pereyra (valid where the rank does not change), which, unlike the SVD's,
stays finite for repeated singular values:
dA = -X^T G X^T + (I - A X) G^T X X^T + X^T X G^T (I - X A), X = pinv(A).

>>> import tinygpt as tg
>>> import tinygpt.linalg as LA
>>> LA.pinv(tg.tensor([[2.0, 0.0], [0.0, 0.0]])).tolist()
[[0.5, 0.0], [0.0, 0.0]]
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from ..creation import empty, zeros
from ..dtypes import float32, int64
from ..errors import ShapeError
from ..ops.comparison import where
from ..tensor import Tensor
from ._common import TensorFunction, check_matrix, identity_like, mT
from .eigen import eigh
from .norms import matrix_norm
from .solvers import inv_ex
from .svd import svd, svdvals

__all__ = ["pinv", "matrix_rank", "lstsq", "cond", "LstsqResult"]


class LstsqResult(NamedTuple):
    solution: Tensor
    residuals: Tensor
    rank: Tensor
    singular_values: Tensor


def _eps(x: Tensor) -> float:
    return 1.1920929e-07 if x.dtype is float32 else 2.220446049250313e-16


def _cutoff(x: Tensor, largest: Tensor, atol: Any, rtol: Any) -> Tensor:
    """max(atol, rtol * largest) per matrix, with PyTorch's defaults: (...,) -> (..., 1)."""
    if rtol is None:
        atol_given = atol is not None and not (isinstance(atol, (int, float)) and atol == 0)
        rtol = 0.0 if atol_given else _eps(x) * max(x.shape[-2], x.shape[-1])
    cut = largest * rtol
    if isinstance(atol, Tensor):
        cut = cut.maximum(atol)
    elif atol is not None:
        cut = cut.clamp(min=float(atol))
    return cut.unsqueeze(-1)


class Pinv(TensorFunction):
    """A (..., m, n) -> pinv(A) (..., n, m)."""

    def compute(self, a: Tensor, atol: Any, rtol: Any, hermitian: bool) -> Tensor:
        if a.numel() == 0:
            return mT(a).contiguous()
        if hermitian:
            w, v = eigh(a)
            keep = w.abs() > _cutoff(a, w.abs().amax(-1), atol, rtol)
            inverse = where(keep, 1.0 / where(keep, w, 1.0), 0.0)
            return (v * inverse.unsqueeze(-2)) @ mT(v)
        u, s, vh = svd(a, full_matrices=False)
        keep = s > _cutoff(a, s[..., 0], atol, rtol)
        inverse = where(keep, 1.0 / where(keep, s, 1.0), 0.0)
        return (mT(vh) * inverse.unsqueeze(-2)) @ mT(u)

    def gradient(self, inputs, outputs, grads):
        (g,) = grads
        a, x = inputs[0], outputs[0]
        xt, gt = mT(x), mT(g)
        left = identity_like(a, a.shape[-2]) - a @ x  # (..., m, m)
        right = identity_like(a, a.shape[-1]) - x @ a  # (..., n, n)
        return (-(xt @ g @ xt) + left @ gt @ x @ xt + xt @ x @ gt @ right,)


def pinv(a: Tensor, *, atol: Any = None, rtol: Any = None, hermitian: bool = False) -> Tensor:
    """The Moore-Penrose pseudo-inverse: (..., m, n) -> (..., n, m). Singular values at or
    below max(atol, rtol * largest) count as zero; hermitian=True uses eigh (A symmetric)."""
    check_matrix("pinv", a)
    return Pinv.apply(a, atol=atol, rtol=rtol, hermitian=hermitian)


def matrix_rank(
    a: Tensor,
    *,
    atol: Any = None,
    rtol: Any = None,
    hermitian: bool = False,
    tol: Any = None,
) -> Tensor:
    """The number of singular values above max(atol, rtol * largest): (..., m, n) -> (...,)
    int64. `tol` is the older name of atol (then rtol defaults to 0)."""
    check_matrix("matrix_rank", a)
    if tol is not None:
        atol, rtol = tol, 0.0 if rtol is None else rtol
    values = eigh(a).eigenvalues.abs() if hermitian else svdvals(a)
    values = values.detach()
    if values.shape[-1] == 0:
        return zeros(*values.shape[:-1], dtype=int64, device=a.device)
    cut = _cutoff(a, values.amax(-1), atol, rtol)
    return (values > cut).to(int64).sum(-1)


_RANK_DRIVERS = ("gelsy", "gelsd", "gelss")
_DRIVERS = (None, "gels", *_RANK_DRIVERS)


def lstsq(a: Tensor, b: Tensor, rcond: Any = None, *, driver: str | None = None) -> LstsqResult:
    """The least-squares (minimum-norm) solution X of A X ~ B, through `pinv`.

    Returns PyTorch's tuple: residuals (squared, per column) only where m > n and A has full
    rank with a driver other than 'gelsy'; rank for 'gelsy' (the default), 'gelsd', 'gelss';
    singular values for 'gelsd' and 'gelss'; the others are empty tensors.
    """
    check_matrix("lstsq", a)
    if driver not in _DRIVERS:
        raise ValueError(f"linalg.lstsq: driver must be one of {_DRIVERS}, got {driver!r}")
    vector = b.ndim == 1
    rhs = b.unsqueeze(-1) if vector else b
    if rhs.shape[-2] != a.shape[-2]:
        raise ShapeError(
            f"linalg.lstsq: A {tuple(a.shape)} and B {tuple(b.shape)} need the same number of "
            f"rows ({a.shape[-2]} and {rhs.shape[-2]})"
        )
    solution = pinv(a, rtol=rcond) @ rhs
    m, n = a.shape[-2], a.shape[-1]
    used = "gelsy" if driver is None else driver
    nothing = empty(0, dtype=a.dtype, device=a.device)
    rank = empty(0, dtype=int64, device=a.device)
    if used in _RANK_DRIVERS:
        rank = matrix_rank(a, rtol=rcond)
    values = svdvals(a) if used in ("gelsd", "gelss") else nothing
    residuals = nothing
    if m > n and used != "gelsy":
        full = bool((matrix_rank(a) == n).all().item())
        if full:
            residuals = ((a @ solution - rhs) ** 2).sum(-2)
    if vector:
        solution = solution.squeeze(-1)
        if residuals.numel() > 0:
            residuals = residuals.squeeze(-1)
    return LstsqResult(solution, residuals, rank, values)


def cond(a: Tensor, p: Any = None) -> Tensor:
    """The condition number ||A|| ||A^-1|| in the p-norm (p None or 2: s_max / s_min; -2:
    s_min / s_max; 'fro', 'nuc', 1, -1, inf, -inf: square A, inf where A is singular)."""
    check_matrix("cond", a)
    if p is None or p in (2, -2):
        s = svdvals(a)
        if s.shape[-1] == 0:  # an empty matrix: 0, as PyTorch
            return s.sum(-1)
        largest, smallest = s[..., 0], s[..., -1]
        return smallest / largest if p == -2 else largest / smallest
    if a.shape[-1] != a.shape[-2]:
        raise ShapeError(f"linalg.cond: p={p!r} needs square matrices, got shape {a.shape}")
    inverse, info = inv_ex(a)
    value = matrix_norm(a, p) * matrix_norm(inverse, p)
    return where(info != 0, math.inf, value)
