"""Differentiable backward formulas of convolution, unfold and max pooling (see
`autograd/differentiable.py`).

The backward of unfold (im2col) is fold (col2im), which has no forward op of its own: it
gets the small primitive `Fold` here, whose own backward is unfold again. Convolution's
formula is its backward written as unfold + matmul + fold on tensors.
"""

from __future__ import annotations

from ..autograd.differentiable import formula
from ..autograd.function import Function
from ..creation import arange, zeros_like
from ..ndarray import NDArray
from ..tensor import Tensor
from .comparison import Where
from .convolution import Conv, Unfold, Window, fold_array, unfold_array
from .movement import expand
from .pooling import MaxPool
from .promotion import detached

__all__ = ["Fold"]

Grad = Tensor | None


class Fold(Function):
    """col2im: cols (N, C, kh, kw, Ho, Wo) -> (N, C, H, W), overlaps summed."""

    def forward(
        self, cols: NDArray, window: Window | None = None, shape: tuple[int, ...] = ()
    ) -> NDArray:
        assert window is not None
        self.window = window
        return fold_array(cols.compact(), window, shape)

    def backward(self, grad: NDArray) -> NDArray:
        return unfold_array(grad, self.window)


@formula(Fold, reads_inputs=False)
def _fold(node: Fold, g: Tensor) -> Tensor:
    return Unfold.apply(g, window=node.window)


@formula(Unfold, reads_inputs=False)
def _unfold(node: Unfold, g: Tensor) -> Tensor:
    return Fold.apply(g, window=node.window, shape=node.shape)


@formula(Conv)
def _conv(node: Conv, g: Tensor) -> tuple[Grad, Grad]:
    x, weight = node.parents
    groups = node.groups
    n, c = x.shape[0], x.shape[1]
    o, ho, wo = g.shape[1], g.shape[2], g.shape[3]
    kh, kw = node.window.kernel
    kernels = weight.reshape(groups, o // groups, -1)  # (G, O/G, C/G*kh*kw)
    grads = g.reshape(n, groups, o // groups, ho * wo)  # (N, G, O/G, L)
    dx = dw = None
    if node.needs_grad[1]:
        cols = Unfold.apply(x, window=node.window)  # (N, C, kh, kw, Ho, Wo)
        cols = cols.reshape(n, groups, c // groups * kh * kw, ho * wo)  # (N, G, CKK/G, L)
        dw = (grads @ cols.mT).sum(0).reshape(*weight.shape)
    if node.needs_grad[0]:
        dcols = kernels.mT @ grads  # (N, G, CKK/G, L)
        dcols = dcols.reshape(n, c, kh, kw, ho, wo)
        dx = Fold.apply(dcols, window=node.window, shape=x.shape)
    return dx, dw


@formula(MaxPool)
def _max_pool(node: MaxPool, g: Tensor) -> Tensor:
    (winner,) = node.saved  # (N, C, Ho, Wo) int64: a constant of the graph
    n, c, ho, wo = g.shape
    kh, kw = node.window.kernel
    slots = arange(kh * kw, device=g.device).reshape(1, 1, kh * kw, 1, 1)
    shape = (n, c, kh * kw, ho, wo)
    hit = expand(slots, *shape) == expand(detached(winner).unsqueeze(2), *shape)
    spread = expand(g.unsqueeze(2), *shape)
    routed = Where.apply(hit, spread, zeros_like(spread))  # (N, C, kh*kw, Ho, Wo)
    return Fold.apply(routed.reshape(n, c, kh, kw, ho, wo), window=node.window, shape=node.shape)
