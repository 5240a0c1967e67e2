"""2-D max and average pooling over (N, C, H, W), built on the im2col view of `convolution.py`.

Each window becomes a column of kh*kw values; pooling reduces that column. Max pooling is a
primitive so its backward can send each gradient to exactly one element, the first maximum
of its window (what PyTorch does), keeping only the int64 argmax for it. Average pooling is
a mean over the unfolded windows and needs no backward of its own.

>>> import tinygpt as tg
>>> tg.max_pool2d(tg.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
[[[[5.0, 7.0], [13.0, 15.0]]]]
"""

from __future__ import annotations

from .. import array_ops as A
from ..autograd.function import Function
from ..creation import arange, ones
from ..errors import ShapeError
from ..ndarray import NDArray
from ..tensor import Tensor
from .convolution import IntPair, Unfold, Window, fold_array, unfold_array
from .promotion import detached

__all__ = ["MaxPool", "max_pool2d", "avg_pool2d"]


class MaxPool(Function):
    """x (N, C, H, W) -> (N, C, Ho, Wo): the max of each window (padding counts as -inf)."""

    def forward(self, x: NDArray, window: Window | None = None) -> NDArray:
        assert window is not None
        self.window = window
        self.shape = x.shape
        cols = unfold_array(x, window, float("-inf"))  # (N, C, kh, kw, Ho, Wo)
        n, c, kh, kw, ho, wo = cols.shape
        cols = cols.reshape((n, c, kh * kw, ho, wo))
        # NOTE: argmax takes the first of tied maxima, so ties send the gradient to one element
        winner = A.arg_reduce("argmax", cols, 2)  # (N, C, Ho, Wo) int64
        self.save_for_backward(winner)
        return A.reduce("max", cols, (2,))

    def backward(self, grad: NDArray) -> NDArray:
        (winner,) = self.saved
        n, c, ho, wo = grad.shape
        kh, kw = self.window.kernel
        # one-hot along the window: column slot k gets the gradient where k is the argmax
        slots = arange(kh * kw, device=grad.device)._data.reshape((1, 1, kh * kw, 1, 1))
        shape = (n, c, kh * kw, ho, wo)
        hit = A.binary("eq", slots.broadcast_to(shape), winner.unsqueeze(2).broadcast_to(shape))
        routed = A.where(hit, grad.unsqueeze(2), A.zeros(grad, ()))  # (N, C, kh*kw, Ho, Wo)
        return fold_array(routed.reshape((n, c, kh, kw, ho, wo)), self.window, self.shape)


def _pool_window(
    op: str, x: Tensor, kernel_size: IntPair, stride: IntPair | None, padding: IntPair
) -> Window:
    if x.ndim != 4:
        raise ShapeError(f"{op}: expected input (N, C, H, W) or (C, H, W), got {x.shape}")
    window = Window.make(op, kernel_size, kernel_size if stride is None else stride, padding, 1)
    for (pad, _), k in zip(window.padding, window.kernel, strict=True):
        # a window made only of padding would have no maximum (and an average of nothing)
        if pad > k // 2:
            raise ValueError(
                f"{op}: padding {pad} must be at most half the kernel size {window.kernel}"
            )
    return window


def max_pool2d(
    input: Tensor,  # noqa: A002 - the PyTorch name
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
) -> Tensor:
    """Max over each kh x kw window: (N, C, H, W) -> (N, C, Ho, Wo); stride defaults to kernel.

    Ho = (H + 2 * padding - kh) // stride + 1. A 3-D input (C, H, W) is one unbatched image.
    """
    if input.ndim == 3:
        return max_pool2d(input.unsqueeze(0), kernel_size, stride, padding).squeeze(0)
    window = _pool_window("max_pool2d", input, kernel_size, stride, padding)
    return MaxPool.apply(input, window=window)


def avg_pool2d(
    input: Tensor,  # noqa: A002 - the PyTorch name
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    count_include_pad: bool = True,
) -> Tensor:
    """Mean over each kh x kw window: (N, C, H, W) -> (N, C, Ho, Wo); stride defaults to kernel.

    With `count_include_pad` (PyTorch's default) the zero padding counts in every mean;
    without it, each window divides by the number of real pixels it covers.
    """
    if input.ndim == 3:
        out = avg_pool2d(input.unsqueeze(0), kernel_size, stride, padding, count_include_pad)
        return out.squeeze(0)
    window = _pool_window("avg_pool2d", input, kernel_size, stride, padding)
    cols = Unfold.apply(input, window=window)  # (N, C, kh, kw, Ho, Wo)
    if count_include_pad or window.padding == ((0, 0), (0, 0)):
        return cols.mean(dim=(2, 3))
    return cols.sum(dim=(2, 3)) / _real_pixels(input, window)


def _real_pixels(x: Tensor, window: Window) -> Tensor:
    """(Ho, Wo): how many non-padding pixels each window covers."""
    plane = ones(1, 1, x.shape[2], x.shape[3], dtype=x.dtype, device=x.device)
    counts = detached(unfold_array(plane._data, window))  # (1, 1, kh, kw, Ho, Wo)
    return counts.sum(dim=(0, 1, 2, 3))
