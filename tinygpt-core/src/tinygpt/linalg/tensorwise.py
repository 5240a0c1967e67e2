"""`tensorinv` and `tensorsolve`: inv and solve for tensors seen as matrices, by reshaping.
Compositions of reshape and the solvers, so they are differentiable.

>>> import tinygpt as tg
>>> import tinygpt.linalg as LA
>>> a = tg.eye(6).reshape(6, 2, 3)
>>> LA.tensorinv(a, ind=1).shape
(2, 3, 6)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..errors import ShapeError
from ..tensor import Tensor
from .solvers import inv, solve

__all__ = ["tensorinv", "tensorsolve"]


def tensorinv(a: Tensor, ind: int = 2) -> Tensor:
    """The inverse of `a` as a map from its last dims to its first `ind` dims:
    a (*rows, *cols) with prod(rows) == prod(cols) -> (*cols, *rows)."""
    if ind <= 0:
        raise ValueError(f"linalg.tensorinv: ind must be a positive int, got {ind}")
    rows, cols = tuple(a.shape[:ind]), tuple(a.shape[ind:])
    if math.prod(rows) != math.prod(cols):
        raise ShapeError(
            f"linalg.tensorinv: the product of the first {ind} dims {rows} must equal the "
            f"product of the rest {cols}"
        )
    square = a.reshape(math.prod(rows), math.prod(cols))
    return inv(square).reshape(*cols, *rows)


def tensorsolve(a: Tensor, b: Tensor, dims: Sequence[int] | None = None) -> Tensor:
    """X with tensordot(a, X, X.ndim) = b: a (*b.shape, *x_shape) -> X (*x_shape).

    `dims` names dims of a to move to the end first (they become X's dims)."""
    if dims is not None:
        moved = [d % a.ndim for d in dims]
        kept = [d for d in range(a.ndim) if d not in moved]
        a = a.permute(*kept, *moved)
    lead = tuple(a.shape[: b.ndim])
    if lead != tuple(b.shape):
        raise ShapeError(
            f"linalg.tensorsolve: A {tuple(a.shape)} must start with B's shape {tuple(b.shape)}"
        )
    x_shape = tuple(a.shape[b.ndim :])
    rows, cols = math.prod(lead), math.prod(x_shape)
    if rows != cols:
        raise ShapeError(
            f"linalg.tensorsolve: A {tuple(a.shape)} is not square as a matrix: B's "
            f"{rows} elements against X's {cols}"
        )
    return solve(a.reshape(rows, cols), b.reshape(rows)).reshape(*x_shape)
