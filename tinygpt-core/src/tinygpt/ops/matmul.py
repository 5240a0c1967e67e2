"""Matrix products: `Matmul` (batched, broadcasting) and `Linear` (x @ W.T + b in one node).

Shapes: (..., M, K) @ (..., K, N) -> (..., M, N). Transposed operands reach the backend as
views (swapped strides), never as copies: `x @ w.T` and the backward's `grad @ b.T` read
their operands in place.

>>> import tinygpt as tg
>>> (tg.ones(2, 3) @ tg.ones(3, 4)).shape
(2, 4)
"""

from __future__ import annotations

from .. import array_ops as A
from .. import fast_paths
from ..autograd.function import Function
from ..dtypes import bool_
from ..errors import DTypeError, ShapeError
from ..ndarray import NDArray, broadcast_shapes
from ..tensor import Tensor
from . import autocast
from .movement import expand, squeeze, unsqueeze
from .promotion import as_tensor_like, promote

__all__ = ["Matmul", "Linear", "matmul", "linear"]


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


# ------------------------------------------------------------------ functions
def _check_not_bool(op: str, x: Tensor, shapes: str) -> None:
    """bool has no product (PyTorch raises too): say so before a kernel sees bytes as floats."""
    if x.dtype is bool_:
        raise DTypeError(
            f"{op}: {shapes}: not implemented for bool; cast both operands first, with "
            ".float() (or .long() to count the matches as integers)"
        )


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """NumPy-style matmul: 1-D operands are promoted and squeezed, batch dims broadcast."""
    if autocast.on() and isinstance(b, Tensor):  # tg.autocast: in bfloat16 / float16
        a, b = autocast.lower(a), autocast.lower(b)
    if fast_paths.enabled and isinstance(b, Tensor):
        # the common case checked cheaply (per-op overhead): floating operands of one dtype
        # and device, >= 2 dims, the same batch dims, inner dims that agree
        x = a._data
        y = b._data
        xs = x.shape
        ys = y.shape
        if (
            x.dtype is y.dtype
            and x.backend is y.backend
            and x.dtype.kind == "f"
            and len(xs) == len(ys) >= 2
            and xs[-1] == ys[-2]
            and (len(xs) == 2 or xs[:-2] == ys[:-2])
        ):
            return Matmul.apply(a, b)
    b = as_tensor_like(b, a)
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: both operands need >= 1 dim, got {a.shape} @ {b.shape}")
    a, b = promote("matmul", a, b)
    _check_not_bool("matmul", a, f"{a.shape} @ {b.shape}")
    a2 = unsqueeze(a, 0) if a.ndim == 1 else a
    b2 = unsqueeze(b, -1) if b.ndim == 1 else b
    if a2.shape[-1] != b2.shape[-2]:
        raise ShapeError(
            f"matmul: {a.shape} @ {b.shape}: inner dimensions {a2.shape[-1]} and "
            f"{b2.shape[-2]} differ"
        )
    try:
        batch = broadcast_shapes("matmul", a2.shape[:-2], b2.shape[:-2])
    except ShapeError:
        raise ShapeError(
            f"matmul: {a.shape} @ {b.shape}: batch dimensions {a2.shape[:-2]} and "
            f"{b2.shape[:-2]} do not broadcast"
        ) from None
    if a2.shape[:-2] != batch:
        a2 = expand(a2, *(batch + a2.shape[-2:]))
    if b2.shape[:-2] != batch:
        b2 = expand(b2, *(batch + b2.shape[-2:]))
    out = Matmul.apply(a2, b2)
    if a.ndim == 1:
        out = squeeze(out, -2)
    if b.ndim == 1:
        out = squeeze(out, -1)
    return out


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None, op: str = "linear") -> Tensor:
    """x @ weight.T + bias.  x (..., in), weight (out, in), bias (out,) -> (..., out).

    `weight.T` is a strided view: the backend reads it in place, nothing is copied.
    `op` names the caller in error messages (the Linear layer passes its own description).
    """
    if autocast.on():  # tg.autocast: in bfloat16 / float16
        x, weight, bias = autocast.lower(x), autocast.lower(weight), autocast.lower(bias)
    if weight.ndim != 2:
        raise ShapeError(f"{op}: weight must be (out_features, in_features), got {weight.shape}")
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ShapeError(
            f"{op}: input {x.shape} does not fit weight {weight.shape}: the input's last dim "
            f"must be in_features={weight.shape[1]}"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ShapeError(f"{op}: bias {bias.shape} must be ({weight.shape[0]},)")
    params = (weight,) if bias is None else (weight, bias)
    if weight.dtype is bool_:  # (a float x promotes a bool weight, as in matmul)
        _check_not_bool(op, x, f"input {x.shape}, weight {weight.shape}")
    if any(p.dtype != x.dtype or p.device != x.device for p in params):
        # mixed dtypes or devices: the composed ops promote, or raise their clear errors
        out = matmul(x, weight.T)
        return out if bias is None else out + bias
    # NOTE: one graph node; (..., in) -> (N, in) makes one big 2-D matmul instead of a batch
    # of small ones that would broadcast weight.T over the batch
    return Linear.apply(x, *params)
