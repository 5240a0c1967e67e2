"""Vector and matrix norms: `vector_norm`, `matrix_norm`, and `norm`, which picks one of the
two by PyTorch's rules. Compositions of abs, sum, amax/amin and sqrt, so autograd derives
their gradients (the spectral norms 2, -2 and 'nuc' go through `svdvals`).

>>> import tinygpt as tg
>>> import tinygpt.linalg as LA
>>> LA.vector_norm(tg.tensor([3.0, -4.0])).item()
5.0
>>> LA.matrix_norm(tg.tensor([[1.0, -2.0], [3.0, 4.0]]), ord=1).item()
6.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..dtypes import as_dtype
from ..errors import ShapeError
from ..ops import norms as _norms
from ..ops.promotion import cast
from ..tensor import Tensor
from ._common import check_float
from .svd import svdvals

__all__ = ["vector_norm", "matrix_norm", "norm"]

Ord = float | int | str | None


def vector_norm(
    x: Tensor,
    ord: float = 2,  # noqa: A002 - PyTorch's name
    dim: int | Sequence[int] | None = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,
) -> Tensor:
    """The ord-norm of x over `dim` (all elements when None), as a vector.

    ord: 2, 1, inf (largest |x|), -inf (smallest |x|), 0 (number of nonzeros) or any p:
    sum(|x|**p) ** (1/p). The gradient of the 2-norm at 0 is 0, as in PyTorch.
    """
    if isinstance(ord, str):
        raise ValueError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    x = cast(x, as_dtype(dtype)) if dtype is not None else x
    check_float("vector_norm", x)
    if isinstance(dim, Sequence) and len(dim) == 0:
        dim = None  # PyTorch: dim=() means every dim
    return _norms.norm(x, p=float(ord), dim=dim, keepdim=keepdim)


def _pair(op: str, dim: Sequence[int], ndim: int) -> tuple[int, int]:
    if len(dim) != 2:
        raise ShapeError(f"linalg.{op}: dim must be a pair of dims, got {tuple(dim)}")
    if ndim < 2:
        raise ShapeError(f"linalg.{op}: expected a tensor with >= 2 dims, got {ndim} dims")
    rows, cols = (d % ndim if -ndim <= d < ndim else None for d in dim)
    if rows is None or cols is None:
        raise IndexError(f"linalg.{op}: dim {tuple(dim)} out of range for {ndim} dims")
    if rows == cols:
        raise ValueError(f"linalg.{op}: the two dims must differ, got {tuple(dim)}")
    return rows, cols


def matrix_norm(
    x: Tensor,
    ord: float | str = "fro",  # noqa: A002 - PyTorch's name
    dim: Sequence[int] = (-2, -1),
    keepdim: bool = False,
    *,
    dtype: Any = None,
) -> Tensor:
    """A matrix norm of the (dim[0], dim[1]) matrices of x.

    ord: 'fro' (sqrt of the sum of squares), 'nuc' (sum of singular values), 1 / -1 (largest
    / smallest column sum of |x|), inf / -inf (largest / smallest row sum), 2 / -2 (largest /
    smallest singular value).
    """
    x = cast(x, as_dtype(dtype)) if dtype is not None else x
    check_float("matrix_norm", x)
    rows, cols = _pair("matrix_norm", dim, x.ndim)
    if ord == "fro":
        return _norms.norm(x, p=2.0, dim=(rows, cols), keepdim=keepdim)
    if ord in ("nuc", 2, -2):
        return _spectral(x, ord, rows, cols, keepdim)
    if ord in (1, -1):
        return _line_sums(x, rows, cols, keepdim, largest=ord == 1)
    if ord in (math.inf, -math.inf):
        return _line_sums(x, cols, rows, keepdim, largest=ord == math.inf)
    raise ValueError(
        f"linalg.matrix_norm: ord must be 'fro', 'nuc', 1, -1, 2, -2, inf or -inf, got {ord!r}"
    )


def _line_sums(x: Tensor, summed: int, extreme: int, keepdim: bool, largest: bool) -> Tensor:
    """max (or min) over dim `extreme` of the sums of |x| over dim `summed`."""
    sums = x.abs().sum(summed, keepdim=True)
    out = sums.amax(extreme, keepdim=True) if largest else sums.amin(extreme, keepdim=True)
    if keepdim:
        return out
    return out.squeeze((summed, extreme))


def _spectral(x: Tensor, ord: float | str, rows: int, cols: int, keepdim: bool) -> Tensor:
    rest = [d for d in range(x.ndim) if d not in (rows, cols)]
    s = svdvals(x.permute(*rest, rows, cols))  # (..., k), descending
    if ord == "nuc" or s.shape[-1] == 0:  # NOTE: an empty matrix's norms are all 0
        out = s.sum(-1)
    elif ord == 2:
        out = s.amax(-1)
    else:
        out = s.amin(-1)
    if keepdim:
        for d in sorted((rows, cols)):
            out = out.unsqueeze(d)
    return out


def norm(
    x: Tensor,
    ord: Ord = None,  # noqa: A002 - PyTorch's name
    dim: int | Sequence[int] | None = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,
) -> Tensor:
    """A vector or a matrix norm, chosen as PyTorch chooses.

    dim an int (or 1 dim): vector norm; dim a pair: matrix norm; dim None and ord None: the
    2-norm of all elements; dim None and ord given: x must be 1-D (vector) or 2-D (matrix).
    """
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if len(dims) == 1:
            return vector_norm(x, _vector_ord(ord), dims, keepdim, dtype=dtype)
        if len(dims) == 2:
            return matrix_norm(x, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
        raise ValueError(f"linalg.norm: dim must be an int or a pair, got {dim!r}")
    if ord is None:
        return vector_norm(x, 2, None, keepdim, dtype=dtype)
    if x.ndim == 1:
        return vector_norm(x, _vector_ord(ord), None, keepdim, dtype=dtype)
    if x.ndim == 2:
        return matrix_norm(x, ord, (-2, -1), keepdim, dtype=dtype)
    raise ShapeError(
        f"linalg.norm: with ord={ord!r} and dim=None the input must be 1-D or 2-D, got shape "
        f"{x.shape}; pass dim= (an int for a vector norm, a pair for a matrix norm)"
    )


def _vector_ord(ord: Ord) -> float:
    if ord is None:
        return 2.0
    if isinstance(ord, str):
        raise ValueError(
            f"linalg.norm: ord={ord!r} is a matrix norm, but dim names a single dim; "
            "pass a pair of dims"
        )
    return float(ord)
