"""Matmul primitive: (..., M, K) @ (..., K, N) -> (..., M, N), batch dims already broadcast.

Transposed operands reach the backend as views (swapped strides), never as copies.
"""

from __future__ import annotations

from .. import array_ops as A
from ..autograd.function import Function
from ..ndarray import NDArray

__all__ = ["Matmul", "Gather"]


class Matmul(Function):
    def forward(self, a: NDArray, b: NDArray) -> NDArray:
        self.save_for_backward(a, b)
        return A.matmul(a, b)

    def backward(self, grad: NDArray) -> tuple[NDArray | None, NDArray | None]:
        a, b = self.saved
        last = a.ndim - 1
        da = A.matmul(grad, b.transpose(last - 1, last)) if self.needs_grad[0] else None
        db = A.matmul(a.transpose(last - 1, last), grad) if self.needs_grad[1] else None
        return da, db


class Gather(Function):
    """x picked along `axis` by an int64 index array; backward scatters-adds the gradient."""

    def forward(self, x: NDArray, index: NDArray, axis: int = 0) -> NDArray:
        self.axis = axis
        self.shape = x.shape
        self.save_for_backward(index)
        return A.gather(x, axis, index)

    def backward(self, grad: NDArray) -> tuple[NDArray, None]:
        (index,) = self.saved
        return A.scatter_add(self.shape, self.axis, index, grad.compact()), None
