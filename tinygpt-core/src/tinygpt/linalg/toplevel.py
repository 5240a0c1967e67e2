"""PyTorch's top-level linear-algebra names (`torch.det`, `torch.svd`, `torch.mv`, ...) as thin
wrappers on `tinygpt.linalg`, with the older calling conventions those names keep:
`torch.svd` returns V (not Vh) and takes `some=`, `torch.qr` takes `some=`, `torch.pinverse`
takes `rcond=`.

`TOPLEVEL_NAMES` lists what `tinygpt/__init__.py` re-exports; `TENSOR_METHODS` the ones that
are also Tensor methods (`x.det()`, `m.mv(v)`), where the tensor is the first argument.

>>> import tinygpt as tg
>>> from tinygpt.linalg import toplevel
>>> toplevel.mv(tg.tensor([[1.0, 2.0], [3.0, 4.0]]), tg.tensor([1.0, 1.0])).tolist()
[3.0, 7.0]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

from ..creation import zeros
from ..errors import ShapeError
from ..ops.comparison import where
from ..tensor import Tensor
from ._common import identity_like, mT
from .cholesky import cholesky as _cholesky
from .products import matrix_exp, matrix_power, multi_dot
from .qr import qr as _qr
from .solvers import det, inv, slogdet, solve_triangular
from .spectral import pinv
from .svd import svd as _svd

__all__ = [
    "TOPLEVEL_NAMES",
    "TENSOR_METHODS",
    "addmv",
    "addr",
    "chain_matmul",
    "cholesky",
    "cholesky_inverse",
    "cholesky_solve",
    "det",
    "ger",
    "inverse",
    "logdet",
    "matrix_exp",
    "matrix_power",
    "mv",
    "pinverse",
    "qr",
    "slogdet",
    "svd",
    "vdot",
]


class SVDTuple(NamedTuple):
    U: Tensor  # noqa: N815 - PyTorch's field names
    S: Tensor  # noqa: N815
    V: Tensor  # noqa: N815


class QRTuple(NamedTuple):
    Q: Tensor  # noqa: N815
    R: Tensor  # noqa: N815


def inverse(x: Tensor) -> Tensor:
    """torch.inverse: linalg.inv."""
    return inv(x)


def logdet(x: Tensor) -> Tensor:
    """log(det(x)): nan where the determinant is negative, -inf where it is zero."""
    sign, logabsdet = slogdet(x)
    return where(sign < 0, math.nan, logabsdet)


def pinverse(x: Tensor, rcond: float = 1e-15) -> Tensor:
    """torch.pinverse: the pseudo-inverse, singular values below rcond * largest dropped."""
    return pinv(x, rtol=rcond)


def cholesky(x: Tensor, upper: bool = False) -> Tensor:
    """torch.cholesky: linalg.cholesky with `upper` positional."""
    return _cholesky(x, upper=upper)


def cholesky_solve(b: Tensor, factor: Tensor, upper: bool = False) -> Tensor:
    """X with A X = B, given A's Cholesky factor (L, or U = L^T with upper=True)."""
    low = mT(factor) if upper else factor
    y = solve_triangular(low, b, upper=False)
    return solve_triangular(mT(low), y, upper=True)


def cholesky_inverse(factor: Tensor, upper: bool = False) -> Tensor:
    """A^-1 from A's Cholesky factor (L, or U with upper=True)."""
    eye = identity_like(factor).expand(*factor.shape)
    return cholesky_solve(eye, factor, upper)


def qr(x: Tensor, some: bool = True) -> QRTuple:
    """torch.qr: (Q, R), reduced with some=True, complete otherwise."""
    q, r = _qr(x, "reduced" if some else "complete")
    return QRTuple(q, r)


def svd(x: Tensor, some: bool = True, compute_uv: bool = True) -> SVDTuple:
    """torch.svd: (U, S, V) with A = U diag(S) V^T (V, not Vh); some=True: reduced.

    compute_uv=False returns zero-filled U and V of the full shapes, as PyTorch does.
    """
    u, s, vh = _svd(x, full_matrices=not some)
    if not compute_uv:
        m, n = x.shape[-2], x.shape[-1]
        batch = tuple(x.shape[:-2])
        u = zeros(*batch, m, m, dtype=x.dtype, device=x.device)
        v = zeros(*batch, n, n, dtype=x.dtype, device=x.device)
        return SVDTuple(u, s, v)
    return SVDTuple(u, s, mT(vh))


def _check(op: str, x: Tensor, ndim: int, what: str) -> None:
    if x.ndim != ndim:
        raise ShapeError(f"{op}: {what} must be {ndim}-D, got shape {x.shape}")


def mv(mat: Tensor, vec: Tensor) -> Tensor:
    """Matrix (n, m) times vector (m,) -> (n,)."""
    _check("mv", mat, 2, "the matrix")
    _check("mv", vec, 1, "the vector")
    return mat @ vec


def _scaled(x: Tensor, factor: Any) -> Tensor:
    return x if factor == 1 else x * factor


def addmv(inp: Tensor, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """beta * inp + alpha * (mat @ vec); beta=0 ignores inp (nan in it does not spread)."""
    product = _scaled(mv(mat, vec), alpha)
    if beta == 0:
        return product + zeros(*inp.shape, dtype=product.dtype, device=product.device)
    return _scaled(inp, beta) + product


def ger(vec1: Tensor, vec2: Tensor) -> Tensor:
    """The outer product of two vectors: (n,), (m,) -> (n, m)."""
    _check("ger", vec1, 1, "vec1")
    _check("ger", vec2, 1, "vec2")
    return vec1.unsqueeze(-1) * vec2.unsqueeze(0)


def addr(inp: Tensor, vec1: Tensor, vec2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """beta * inp + alpha * outer(vec1, vec2)."""
    product = _scaled(ger(vec1, vec2), alpha)
    if beta == 0:
        return product + zeros(*inp.shape, dtype=product.dtype, device=product.device)
    return _scaled(inp, beta) + product


def vdot(a: Tensor, b: Tensor) -> Tensor:
    """The dot product of two 1-D tensors (complex conjugation does not arise here)."""
    _check("vdot", a, 1, "the first input")
    _check("vdot", b, 1, "the second input")
    if a.shape[0] != b.shape[0]:
        raise ShapeError(f"vdot: sizes {a.shape[0]} and {b.shape[0]} differ")
    return (a * b).sum()


def chain_matmul(*matrices: Tensor) -> Tensor:
    """torch.chain_matmul: the product of 2-D matrices (linalg.multi_dot's order)."""
    if len(matrices) == 1:
        return matrices[0]
    mats: Sequence[Tensor] = matrices
    return multi_dot(mats)


#: the names `tinygpt/__init__.py` re-exports from this file, as torch.* has them
TOPLEVEL_NAMES = (
    "addmv",
    "addr",
    "chain_matmul",
    "cholesky",
    "cholesky_inverse",
    "cholesky_solve",
    "det",
    "ger",
    "inverse",
    "logdet",
    "matrix_exp",
    "matrix_power",
    "mv",
    "pinverse",
    "qr",
    "slogdet",
    "svd",
    "vdot",
)

#: the subset that are also Tensor methods (the tensor is the first argument)
TENSOR_METHODS = (
    "addmv",
    "addr",
    "cholesky",
    "cholesky_inverse",
    "cholesky_solve",
    "det",
    "ger",
    "inverse",
    "logdet",
    "matrix_exp",
    "matrix_power",
    "mv",
    "pinverse",
    "qr",
    "slogdet",
    "svd",
    "vdot",
)
