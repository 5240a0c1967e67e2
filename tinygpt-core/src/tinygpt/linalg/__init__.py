"""tinygpt.linalg: PyTorch's `torch.linalg` for tinygpt, batched over leading dims.

Everything takes (..., m, n) float32 or float64 tensors and is differentiable. The
factorizations (LU, Cholesky, QR, Jacobi eigh and SVD) are primitives whose forward runs a
loop of tensor ops without a graph and whose backward is the textbook formula; the rest is
composed of differentiable ops. A singular or non-positive-definite input raises
`LinAlgError` (a RuntimeError), naming the op and the batch element.

Reading order: `_common.py` (LinAlgError, TensorFunction) -> `norms.py` -> `products.py` ->
`_kernels.py` (the LU and substitution loops) -> `solvers.py` -> `cholesky.py` -> `lu.py` ->
`qr.py` -> `_jacobi.py` -> `eigen.py` -> `svd.py` -> `spectral.py` -> `tensorwise.py` ->
`toplevel.py` (the
torch.* names, wired into `tinygpt` itself).

>>> import tinygpt as tg
>>> import tinygpt.linalg as LA
>>> a = tg.tensor([[4.0, 1.0], [1.0, 3.0]])
>>> x = LA.solve(a, tg.tensor([1.0, 2.0]))
>>> [round(v, 4) for v in (a @ x).tolist()]
[1.0, 2.0]
"""

from __future__ import annotations

from ._common import LinAlgError
from .cholesky import cholesky, cholesky_ex
from .eigen import eigh, eigvalsh
from .lu import lu, lu_factor, lu_factor_ex, lu_solve
from .norms import matrix_norm, norm, vector_norm
from .products import cross, diagonal, matmul, matrix_exp, matrix_power, multi_dot, vander, vecdot
from .qr import qr
from .solvers import det, inv, inv_ex, slogdet, solve, solve_ex, solve_triangular
from .spectral import cond, lstsq, matrix_rank, pinv
from .svd import svd, svdvals
from .tensorwise import tensorinv, tensorsolve

__all__ = [
    "LinAlgError",
    "cholesky",
    "cholesky_ex",
    "cond",
    "cross",
    "det",
    "diagonal",
    "eigh",
    "eigvalsh",
    "inv",
    "inv_ex",
    "lstsq",
    "lu",
    "lu_factor",
    "lu_factor_ex",
    "lu_solve",
    "matmul",
    "matrix_exp",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "multi_dot",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "solve_ex",
    "solve_triangular",
    "svd",
    "svdvals",
    "tensorinv",
    "tensorsolve",
    "vander",
    "vecdot",
    "vector_norm",
]
