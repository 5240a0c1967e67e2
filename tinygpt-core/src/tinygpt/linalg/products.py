"""Products and structured matrices: `vecdot`, `multi_dot`, `matmul`, `diagonal`, `cross`,
`vander`, `matrix_power` and `matrix_exp`. All compositions of differentiable ops (matmul,
mul, sum, index_select), so autograd derives the gradients.

>>> import tinygpt as tg
>>> import tinygpt.linalg as LA
>>> LA.cross(tg.tensor([1.0, 0.0, 0.0]), tg.tensor([0.0, 1.0, 0.0])).tolist()
[0.0, 0.0, 1.0]
>>> LA.matrix_power(tg.tensor([[1.0, 1.0], [0.0, 1.0]]), 3).tolist()
[[1.0, 3.0], [0.0, 1.0]]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..creation import ones
from ..errors import ShapeError
from ..ops.extras_linalg import diagonal as _diagonal
from ..ops.matmul import matmul as _matmul
from ..ops.movement import cat, stack
from ..tensor import Tensor
from ._common import check_float, check_square, identity_like
from .solvers import inv

__all__ = [
    "vecdot",
    "multi_dot",
    "matmul",
    "diagonal",
    "cross",
    "vander",
    "matrix_power",
    "matrix_exp",
]


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """Dot products along `dim` (broadcasting the rest): sum(x * y, dim)."""
    if x.shape[dim] != y.shape[dim]:
        raise ShapeError(
            f"linalg.vecdot: {x.shape} and {y.shape}: sizes {x.shape[dim]} and "
            f"{y.shape[dim]} along dim {dim} differ"
        )
    return (x * y).sum(dim)


def matmul(x: Tensor, y: Tensor) -> Tensor:
    """The matrix product, as `tinygpt.matmul` (torch.linalg.matmul is torch.matmul)."""
    return _matmul(x, y)


def diagonal(x: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """The diagonals of the (dim1, dim2) matrices, as a last dim (defaults: the last two)."""
    return _diagonal(x, offset, dim1, dim2)


def multi_dot(tensors: Sequence[Tensor]) -> Tensor:
    """The product of a chain of matrices, multiplied in the cheapest order.

    The first may be 1-D (a row vector) and the last 1-D (a column vector); the middle ones
    must be 2-D. The order is found by the classic dynamic programme over the chain.
    """
    mats = list(tensors)
    if len(mats) < 2:
        raise ValueError(f"linalg.multi_dot: expected at least 2 tensors, got {len(mats)}")
    first_vec = mats[0].ndim == 1
    last_vec = mats[-1].ndim == 1
    if first_vec:
        mats[0] = mats[0].unsqueeze(0)
    if last_vec:
        mats[-1] = mats[-1].unsqueeze(-1)
    for i, m in enumerate(mats):
        if m.ndim != 2:
            raise ShapeError(
                f"linalg.multi_dot: tensor {i} must be 2-D (the first and last may be 1-D), "
                f"got shape {tensors[i].shape}"
            )
    for i in range(len(mats) - 1):
        if mats[i].shape[1] != mats[i + 1].shape[0]:
            raise ShapeError(
                f"linalg.multi_dot: tensors {i} and {i + 1} cannot be multiplied: "
                f"{mats[i].shape} @ {mats[i + 1].shape}"
            )
    dims = [mats[0].shape[0]] + [m.shape[1] for m in mats]
    split = _chain_order(dims)
    out = _chain(mats, split, 0, len(mats) - 1)
    if first_vec:
        out = out.squeeze(0)
    if last_vec:
        out = out.squeeze(-1)
    return out


def _chain_order(dims: list[int]) -> list[list[int]]:
    """split[i][j]: where to split the product of matrices i..j (minimum flops)."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            best = -1
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if best < 0 or c < best:
                    best = c
                    split[i][j] = k
            cost[i][j] = best
    return split


def _chain(mats: list[Tensor], split: list[list[int]], i: int, j: int) -> Tensor:
    if i == j:
        return mats[i]
    k = split[i][j]
    return _chain(mats, split, i, k) @ _chain(mats, split, k + 1, j)


def cross(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """The cross product of 3-vectors along `dim` of the broadcast shape (the other dims
    broadcast)."""
    ndim = max(x.ndim, y.ndim)
    if not -ndim <= dim < ndim:
        raise IndexError(f"linalg.cross: dim {dim} is out of range for {ndim} dims")
    axis = dim % ndim
    # both with ndim dims, so that `axis` means the same dim in each
    x = x.reshape(*([1] * (ndim - x.ndim)), *x.shape)
    y = y.reshape(*([1] * (ndim - y.ndim)), *y.shape)
    if x.shape[axis] != 3 or y.shape[axis] != 3:
        raise ShapeError(
            f"linalg.cross: dim {dim} must have size 3 in both inputs, got {x.shape} and {y.shape}"
        )

    def part(t: Tensor, i: int) -> Tensor:
        return t.narrow(axis, i, 1)

    x0, x1, x2 = part(x, 0), part(x, 1), part(x, 2)
    y0, y1, y2 = part(y, 0), part(y, 1), part(y, 2)
    return cat([x1 * y2 - x2 * y1, x2 * y0 - x0 * y2, x0 * y1 - x1 * y0], axis)


def vander(x: Tensor, *, N: int | None = None) -> Tensor:  # noqa: N803 - PyTorch's name
    """(..., n) -> (..., n, N): the powers x**0, x**1, ..., x**(N-1) (N defaults to n).

    Built by repeated products, not pow, so the gradient at x = 0 is finite.
    """
    if x.ndim < 1:
        raise ShapeError("linalg.vander: expected a tensor with >= 1 dim, got a 0-d tensor")
    count = x.shape[-1] if N is None else N
    if count < 1:
        raise ValueError(f"linalg.vander: N must be >= 1, got {count}")
    columns = [ones(*x.shape, dtype=x.dtype, device=x.device)]
    for _ in range(count - 1):
        columns.append(columns[-1] * x)
    return stack(columns, -1)


def matrix_power(x: Tensor, n: int) -> Tensor:
    """x @ x @ ... (n times) by repeated squaring; n = 0 gives the identity and n < 0 the
    power of the inverse."""
    if not isinstance(n, int):
        raise TypeError(f"linalg.matrix_power: n must be an int, got {type(n).__name__}")
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ShapeError(f"linalg.matrix_power: expected square matrices, got shape {x.shape}")
    if n == 0:
        return identity_like(x).expand(*x.shape).contiguous()
    if n < 0:
        x = inv(x)
        n = -n
    result: Tensor | None = None
    base = x
    while n > 0:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n > 0:
            base = base @ base
    assert result is not None
    return result


#: Taylor degree for ||X||_1 <= 1: the remainder is below 1 / 19! ~ 8e-18 (float64 eps / 27)
_TAYLOR_DEGREE = 18


def matrix_exp(x: Tensor) -> Tensor:
    """exp(x) = sum x**k / k!, by scaling and squaring: exp(x) = exp(x / 2**s) ** (2**s).

    x is scaled until its 1-norm is at most 1, where a degree-18 Taylor polynomial (Horner's
    rule) is accurate to float64 rounding, then squared s times. One s for the whole batch
    (the largest needed), which costs nothing in accuracy for the others.
    """
    check_square("matrix_exp", x)
    check_float("matrix_exp", x)
    if x.numel() == 0:
        return x.clone()
    size = x.detach().abs().sum(-2).amax(-1).amax().item()  # the largest 1-norm
    squarings = 0
    if size > 1.0:
        squarings = int(math.ceil(math.log2(size)))
    scaled = x / float(2**squarings) if squarings else x
    eye = identity_like(x)
    result = eye + scaled / _TAYLOR_DEGREE
    for k in range(_TAYLOR_DEGREE - 1, 0, -1):
        result = eye + (scaled @ result) / k
    for _ in range(squarings):
        result = result @ result
    return result
