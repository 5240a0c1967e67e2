"""Movement primitives: views that change shape/strides, never data. Their backward moves
the gradient back the opposite way. `Expand` is the one op that broadcasts, so its backward is
the one place that un-broadcasts (sums over the stretched dims)."""

from __future__ import annotations

from .. import array_ops as A
from ..autograd.function import Function
from ..ndarray import NDArray

__all__ = ["Expand", "Reshape", "Permute", "Slice", "Pad", "Cat", "Contiguous", "Clone"]


class Expand(Function):
    def forward(self, x: NDArray, shape: tuple[int, ...] = ()) -> NDArray:
        self.shape = x.shape
        return x.broadcast_to(shape)

    def backward(self, grad: NDArray) -> NDArray:
        return A.unbroadcast(grad, self.shape)


class Reshape(Function):
    def forward(self, x: NDArray, shape: tuple[int, ...] = ()) -> NDArray:
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, grad: NDArray) -> NDArray:
        return grad.reshape(self.shape)


class Permute(Function):
    def forward(self, x: NDArray, axes: tuple[int, ...] = ()) -> NDArray:
        self.axes = axes
        return x.permute(axes)

    def backward(self, grad: NDArray) -> NDArray:
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return grad.permute(tuple(inverse))


class Contiguous(Function):
    def forward(self, x: NDArray) -> NDArray:
        return x.compact()

    def backward(self, grad: NDArray) -> NDArray:
        return grad


class Clone(Function):
    def forward(self, x: NDArray) -> NDArray:
        return NDArray(x.backend, x.backend.copy(x), x.shape, x.dtype)

    def backward(self, grad: NDArray) -> NDArray:
        return grad


class Slice(Function):
    """Basic indexing (ints, slices, None): a view; backward writes into zeros."""

    def forward(self, x: NDArray, items: tuple = ()) -> NDArray:
        self.items = items
        self.shape = x.shape
        return x.slice(items)

    def grad_window(self) -> tuple:
        """The part of the input this slice's gradient lands in (the engine uses it to add
        straight into a gradient it is already summing for the input)."""
        return self.items

    def backward(self, grad: NDArray) -> NDArray:
        out = A.zeros(grad, self.shape)
        window = out.slice(self.items)
        grad.backend.setitem(window, grad.broadcast_to(window.shape))
        return out


class Pad(Function):
    """Constant padding: `pads` is one (before, after) pair per dim, all non-negative."""

    def forward(self, x: NDArray, pads: tuple = (), value: float = 0.0) -> NDArray:
        shape = tuple(d + lo + hi for d, (lo, hi) in zip(x.shape, pads, strict=True))
        self.window = tuple(slice(lo, lo + d) for d, (lo, _) in zip(x.shape, pads, strict=True))
        out = A.full(x, shape, value)
        x.backend.setitem(out.slice(self.window), x)
        return out

    def backward(self, grad: NDArray) -> NDArray:
        return grad.slice(self.window)


class Cat(Function):
    """Concatenate along `axis`; backward slices the gradient back apart."""

    def forward(self, *xs: NDArray, axis: int = 0) -> NDArray:
        self.axis = axis
        self.sizes = [x.shape[axis] for x in xs]
        shape = list(xs[0].shape)
        shape[axis] = sum(self.sizes)
        out = A.zeros(xs[0], tuple(shape))
        for x, window in zip(xs, self._windows(len(shape)), strict=True):
            x.backend.setitem(out.slice(window), x)
        return out

    def _windows(self, ndim: int) -> list[tuple[slice, ...]]:
        windows = []
        start = 0
        for size in self.sizes:
            window = [slice(None)] * ndim
            window[self.axis] = slice(start, start + size)
            windows.append(tuple(window))
            start += size
        return windows

    def backward(self, grad: NDArray) -> tuple[NDArray, ...]:
        return tuple(grad.slice(w) for w in self._windows(grad.ndim))
