"""Reduction primitives. Shape rule: A -> reduced A (the reduced axes removed or kept as 1)."""

from __future__ import annotations

from .. import array_ops as A
from ..autograd.function import Function
from ..ndarray import NDArray

__all__ = ["Sum", "Max", "Min", "Softmax"]


class Sum(Function):
    def forward(self, x: NDArray, axes: tuple[int, ...] = (), keepdim: bool = False) -> NDArray:
        self.axes = axes
        self.shape = x.shape
        return A.reduce("sum", x, axes, keepdim)

    def backward(self, grad: NDArray) -> NDArray:
        # every input element contributed once: broadcast the gradient back
        return A.expand_like(grad, self.axes, self.shape)


class _Extreme(Function):
    """max/min over axes: the gradient is shared equally between tied winners."""

    op = ""

    def forward(self, x: NDArray, axes: tuple[int, ...] = (), keepdim: bool = False) -> NDArray:
        self.axes = axes
        out = A.reduce(self.op, x, axes, keepdim)
        self.save_for_backward(x, out)
        return out

    def backward(self, grad: NDArray) -> NDArray:
        x, out = self.saved
        winners = A.cast(A.binary("eq", x, A.expand_like(out, self.axes, x.shape)), x.dtype)
        count = A.reduce("sum", winners, self.axes, keepdim=True)
        share = A.binary("div", A.expand_like(grad, self.axes, x.shape), count)
        return A.binary("mul", winners, share)


class Max(_Extreme):
    op = "max"


class Min(_Extreme):
    op = "min"


class Softmax(Function):
    """Softmax / log-softmax along one axis through the backend's fused kernel."""

    def forward(self, x: NDArray, axis: int = -1, log: bool = False) -> NDArray:
        self.axis = axis
        self.log = log
        out = NDArray(x.backend, x.backend.softmax(x, axis, log), x.shape, x.dtype)
        self.save_for_backward(out)
        return out

    def backward(self, grad: NDArray) -> NDArray:
        (out,) = self.saved
        axes = (self.axis,)
        if self.log:
            # y = x - lse(x): dx = g - softmax(x) * sum(g)
            total = A.reduce("sum", grad, axes, keepdim=True)
            return A.binary("sub", grad, A.binary("mul", A.unary("exp", out), total))
        # y = softmax(x): dx = y * (g - sum(g * y))
        dot = A.reduce("sum", A.binary("mul", grad, out), axes, keepdim=True)
        return A.binary("mul", out, A.binary("sub", grad, dot))
