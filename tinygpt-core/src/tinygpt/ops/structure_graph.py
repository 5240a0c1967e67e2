"""Differentiable backward formulas of movement, reduction, matmul, indexing, normalization,
attention and loss primitives (see `autograd/differentiable.py` and `elementwise_graph.py`).

Two backward steps have no forward op of their own to be written with, so they get small
primitives here: `SliceScatter` (a gradient written into zeros at a slice, the adjoint of
slicing) and `GatherBackward` (scatter-add, the adjoint of gather). Each is differentiable
again: their own backward is slicing / gathering.
"""

from __future__ import annotations

from .. import array_ops as A
from ..autograd.differentiable import formula
from ..autograd.function import Function
from ..creation import arange, zeros, zeros_like
from ..ndarray import NDArray
from ..tensor import Tensor
from .activation import softmax
from .attention import Attention, _future
from .comparison import Where, masked_fill
from .indexing import Gather, SetSlice
from .inplace import WriteView, _last_position, _memory_positions
from .loss import CrossEntropy
from .matmul import Linear, Matmul
from .movement import (
    Cat,
    Clone,
    Contiguous,
    Expand,
    Pad,
    Permute,
    Reshape,
    Slice,
    Split,
    ToDevice,
    expand,
    to,
)
from .normalization import LayerNorm
from .promotion import cast, detached
from .reductions import Sum, _Extreme
from .scatter import ScatterAdd

__all__ = ["SliceScatter", "GatherBackward"]

Grad = Tensor | None


class SliceScatter(Function):
    """Zeros of `shape` with x written at the basic index `items`.  window -> shape."""

    def forward(self, x: NDArray, shape: tuple[int, ...] = (), items: tuple = ()) -> NDArray:
        self.items = items
        out = A.zeros(x, shape)
        A.write(out.slice(items), x)
        return out

    def backward(self, grad: NDArray) -> NDArray:
        return grad.slice(self.items)


class GatherBackward(Function):
    """Zeros of `shape` with x added at `index` along `axis` (scatter-add).  I -> shape."""

    def forward(self, x: NDArray, index: NDArray, shape: tuple = (), axis: int = 0) -> NDArray:
        self.axis = axis
        self.save_for_backward(index)
        return A.scatter_add(shape, axis, index, x.compact())

    def backward(self, grad: NDArray) -> tuple[NDArray, None]:
        (index,) = self.saved
        return A.gather(grad, self.axis, index), None


@formula(SliceScatter, reads_inputs=False)
def _slice_scatter(node: SliceScatter, g: Tensor) -> Tensor:
    return Slice.apply(g, items=node.items)


@formula(GatherBackward)
def _gather_backward(node: GatherBackward, g: Tensor) -> tuple[Grad, None]:
    return Gather.apply(g, node.parents[1], axis=node.axis), None


def _unbroadcast(g: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Sum `g` down to `shape`: the adjoint of expand."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, d in enumerate(shape) if d == 1 and g.shape[lead + i] != 1
    )
    return Sum.apply(g, axes=axes, keepdim=False).reshape(*shape)


def _expand_back(g: Tensor, axes: tuple[int, ...], shape: tuple[int, ...]) -> Tensor:
    """Put reduced `axes` back as size 1 and broadcast to `shape`: the adjoint of a sum."""
    kept = tuple(1 if i in axes else d for i, d in enumerate(shape))
    return expand(g.reshape(*kept), *shape)


# ------------------------------------------------------------------ movement
@formula(Expand, reads_inputs=False)
def _expand(node: Expand, g: Tensor) -> Tensor:
    return _unbroadcast(g, node.shape)


@formula(Reshape, reads_inputs=False)
def _reshape(node: Reshape, g: Tensor) -> Tensor:
    return g.reshape(*node.shape)


@formula(Permute, reads_inputs=False)
def _permute(node: Permute, g: Tensor) -> Tensor:
    inverse = [0] * len(node.axes)
    for i, a in enumerate(node.axes):
        inverse[a] = i
    return g.permute(*inverse)


@formula(Contiguous, reads_inputs=False)
@formula(Clone, reads_inputs=False)
def _identity(node: Clone, g: Tensor) -> Tensor:
    return g


@formula(Slice, reads_inputs=False)
def _slice(node: Slice, g: Tensor) -> Tensor:
    return SliceScatter.apply(g, shape=node.shape, items=node.items)


@formula(Pad, reads_inputs=False)
def _pad(node: Pad, g: Tensor) -> Tensor:
    return Slice.apply(g, items=node.window)


@formula(Cat, reads_inputs=False)
def _cat(node: Cat, g: Tensor) -> tuple[Tensor, ...]:
    return tuple(Slice.apply(g, items=w) for w in node.windows)


@formula(Split, reads_inputs=False)
def _split(node: Split, *grads: Grad) -> Tensor:
    first = next(g for g in grads if g is not None)
    out = zeros(*node.shape, dtype=first.dtype, device=first.device)
    for window, g in zip(node.windows, grads, strict=True):
        if g is not None:
            out = out + SliceScatter.apply(g, shape=node.shape, items=window)
    return out


@formula(ToDevice, reads_inputs=False)
def _to_device(node: ToDevice, g: Tensor) -> Tensor:
    return to(g, device=node.source.device)


# ---------------------------------------------------------------- reductions
@formula(Sum, reads_inputs=False)
def _sum(node: Sum, g: Tensor) -> Tensor:
    return _expand_back(g, node.axes, node.shape)


@formula(_Extreme)
def _extreme(node: _Extreme, g: Tensor) -> Tensor:
    (x,) = node.parents
    held = x.detach()
    best = type(node).apply(held, axes=node.axes, keepdim=True)
    winners = cast(held == best, g.dtype)  # a constant: ties share the gradient
    count = Sum.apply(winners, axes=node.axes, keepdim=True)
    return winners * _expand_back(g, node.axes, x.shape) / count


# -------------------------------------------------------------------- matmul
@formula(Matmul)
def _matmul(node: Matmul, g: Tensor) -> tuple[Grad, Grad]:
    a, b = node.parents
    da = Matmul.apply(g, b.mT) if node.needs_grad[0] else None
    db = Matmul.apply(a.mT, g) if node.needs_grad[1] else None
    return da, db


@formula(Linear)
def _linear(node: Linear, g: Tensor) -> tuple[Grad, ...]:
    x, weight = node.parents[:2]
    flat_g = g.reshape(-1, g.shape[-1])  # (N, out)
    dx = (flat_g @ weight).reshape(*x.shape) if node.needs_grad[0] else None
    dw = flat_g.mT @ x.reshape(-1, x.shape[-1]) if node.needs_grad[1] else None
    if len(node.parents) == 2:
        return dx, dw
    return dx, dw, flat_g.sum(0)


# ------------------------------------------------------------------ indexing
@formula(Gather)
def _gather(node: Gather, g: Tensor) -> tuple[Grad, None]:
    index = node.parents[1]
    return GatherBackward.apply(g, index, shape=node.shape, axis=node.axis), None


@formula(SetSlice, reads_inputs=False)
def _set_slice(node: SetSlice, g: Tensor) -> tuple[Grad, Grad]:
    window = Slice.apply(g, items=node.items)
    dx = SetSlice.apply(g, zeros_like(window), items=node.items)
    return dx, _unbroadcast(window, node.value_shape)


@formula(ScatterAdd)
def _scatter_add(node: ScatterAdd, g: Tensor) -> tuple[Grad, None]:
    return Gather.apply(g, node.parents[1], axis=0), None


@formula(WriteView, reads_inputs=False)
def _write_view(node: WriteView, g: Tensor) -> tuple[Grad, Grad]:
    """The same routing as WriteView.backward: the written window's gradient goes to the
    value, the rest to the base; the routing (which base element each view element is) is a
    constant computed from the two memory layouts."""
    base_at = _memory_positions(g._data, *node.base)  # (base.size,) int64
    view_at = _memory_positions(g._data, *node.view)  # (view.size,)
    extent = 1 + max(_last_position(*node.base), _last_position(*node.view))
    ids = arange(base_at.size, device=g.device)._data
    index_of = A.scatter_add((extent,), 0, base_at, ids)  # memory position -> base index
    which = detached(A.gather(index_of, 0, view_at))  # the base element under each view one
    flat = g.contiguous().reshape(-1)
    dvalue = Gather.apply(flat, which, axis=0)
    routed = GatherBackward.apply(dvalue, which, shape=(flat.numel(),), axis=0)
    return (flat - routed).reshape(*g.shape), dvalue.reshape(*node.view[0])


# -------------------------------------------------- fused kernels, re-derived
@formula(LayerNorm)
def _layer_norm(node: LayerNorm, g: Tensor) -> tuple[Grad, ...]:
    x = node.parents[0]
    weight = node.parents[1] if node.has_weight else None
    mu = x.mean(-1, keepdim=True)
    centered = x - mu
    rstd = ((centered * centered).mean(-1, keepdim=True) + node.eps).rsqrt()
    xhat = centered * rstd
    dxhat = g if weight is None else g * weight
    # dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat))
    dx = rstd * (dxhat - dxhat.mean(-1, keepdim=True) - xhat * (dxhat * xhat).mean(-1, True))
    grads: list[Grad] = [dx]
    flat_g = g.reshape(-1, g.shape[-1])
    if node.has_weight:
        grads.append((flat_g * xhat.reshape(-1, x.shape[-1])).sum(0))
    if node.has_bias:
        grads.append(flat_g.sum(0))
    return tuple(grads)


@formula(Attention)
def _attention(node: Attention, g: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    q, k, v = node.parents
    scores = (q @ k.mT) * node.scale  # (B, H, Tq, Tk)
    if node.causal:
        scores = masked_fill(scores, _future(q, k), float("-inf"))
    p = softmax(scores, -1)
    dv = p.mT @ g
    dp = g @ v.mT
    ds = p * (dp - (dp * p).sum(-1, keepdim=True))
    return (ds @ k) * node.scale, (ds.mT @ q) * node.scale, dv


@formula(CrossEntropy)
def _cross_entropy(node: CrossEntropy, g: Tensor) -> tuple[Tensor, None]:
    logits, targets = node.parents
    classes = arange(logits.shape[1], device=logits.device)
    onehot = cast(targets.reshape(-1, 1) == classes.reshape(1, -1), logits.dtype)  # (N, C)
    valid = (targets != node.ignore_index).reshape(-1, 1)
    rows = (softmax(logits, -1) - onehot) * g.reshape(-1, 1)
    return Where.apply(expand(valid, *rows.shape), rows, zeros_like(rows)), None
