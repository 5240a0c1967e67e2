"""Matmul primitive: (..., M, K) @ (..., K, N) -> (..., M, N), batch dims already broadcast.

Transposed operands reach the backend as views (swapped strides), never as copies.
"""

from __future__ import annotations

from .. import array_ops as A
from ..autograd.function import Function
from ..ndarray import NDArray

__all__ = ["Matmul", "Linear", "Gather"]


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


class Linear(Function):
    """x @ weight.T (+ bias) over the last dim, as one graph node: (..., in), (out, in)
    [, (out,)] -> (..., out).

    Composed from reshape, transpose, matmul and a broadcast add it would be five nodes
    forward and five backward; one node does the same kernels with less Python per layer.
    The leading dims are flattened into one 2-D matmul (a view when x allows it).
    """

    def forward(self, x: NDArray, weight: NDArray, *bias: NDArray) -> NDArray:
        flat = x.reshape((-1, x.shape[-1]))
        out = A.matmul(flat, weight.transpose(0, 1))  # (N, out): weight.T is a view
        if bias:
            out = A.binary("add", out, bias[0])
        self.lead = x.shape[:-1]
        self.save_for_backward(flat, weight)
        return out.reshape(self.lead + (weight.shape[0],))

    def backward(self, grad: NDArray) -> tuple[NDArray | None, ...]:
        flat, weight = self.saved
        g = grad.reshape((-1, grad.shape[-1]))  # (N, out)
        dx = None
        if self.needs_grad[0]:
            dx = A.matmul(g, weight).reshape(self.lead + (flat.shape[1],))
        dw = A.matmul(g.transpose(0, 1), flat) if self.needs_grad[1] else None
        if len(self.needs_grad) == 2:
            return dx, dw
        db = A.reduce("sum", g, (0,)) if self.needs_grad[2] else None
        return dx, dw, db


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
