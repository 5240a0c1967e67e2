"""Fused ops: layer norm, cross-entropy, attention and GELU, one kernel when the backend has it.

A backend lists the kernels it implements in `backend.fused_ops` (see `backend/protocol.py`).
For each op, `layer_norm` / `cross_entropy` / `attention` below (and `tg.gelu`, through
`Gelu`) call the fused primitive when the backend lists it, and otherwise compose the same
maths from ordinary Tensor ops, whose gradients autograd derives. Both paths give the same
numbers (tests compare them).

>>> import tinygpt as tg
>>> from tinygpt.ops.fused import layer_norm
>>> y = layer_norm(tg.tensor([[1.0, 2.0, 3.0]]), None, None, 1e-5)
>>> [round(v, 4) for v in y[0].tolist()]
[-1.2247, 0.0, 1.2247]
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..autograd.function import Function
from ..dtypes import int64
from ..errors import DTypeError, ShapeError
from ..ndarray import NDArray
from . import math as M
from . import reductions as R
from . import shape as S

if TYPE_CHECKING:
    from ..tensor import Tensor

__all__ = [
    "LayerNorm",
    "CrossEntropy",
    "Attention",
    "Gelu",
    "layer_norm",
    "cross_entropy",
    "attention",
    "has_fused",
]


def has_fused(x: Tensor, name: str) -> bool:
    """True when the backend of `x` offers the fused kernel `name` (from FUSED_OPS)."""
    return name in x.data.backend.fused_ops


# ------------------------------------------------------------------------ layer norm
class LayerNorm(Function):
    """y = (x - mean) * rstd * weight + bias over the last axis.  (..., C) -> (..., C).

    The parents are x, then weight (C,) if `has_weight`, then bias (C,) if `has_bias`.
    """

    def forward(
        self, x: NDArray, *params: NDArray, eps: float, has_weight: bool, has_bias: bool
    ) -> NDArray:
        weight = params[0] if has_weight else None
        bias = params[-1] if has_bias else None
        y, mean, rstd = x.backend.layer_norm(x, weight, bias, eps)
        rows = x.shape[:-1]
        mean_arr = NDArray(x.backend, mean, rows, x.dtype)
        rstd_arr = NDArray(x.backend, rstd, rows, x.dtype)
        self.has_weight = has_weight
        self.has_bias = has_bias
        self.save_for_backward(x, weight, mean_arr, rstd_arr)
        return NDArray(x.backend, y, x.shape, x.dtype)

    def backward(self, grad: NDArray) -> tuple[NDArray | None, ...]:
        x, weight, mean, rstd = self.saved
        dx, dweight, dbias = x.backend.layer_norm_backward(grad, x, weight, mean, rstd)
        channels = (x.shape[-1],)
        grads: list[NDArray | None] = [NDArray(x.backend, dx, x.shape, x.dtype)]
        if self.has_weight:
            grads.append(NDArray(x.backend, dweight, channels, x.dtype))
        if self.has_bias:
            grads.append(NDArray(x.backend, dbias, channels, x.dtype))
        return tuple(grads)


def layer_norm(
    x: Tensor, weight: Tensor | None = None, bias: Tensor | None = None, eps: float = 1e-5
) -> Tensor:
    """Normalize over the last dim (biased variance, like PyTorch), then scale and shift.

    x (..., C), weight and bias (C,) or None -> (..., C).
    """
    _check_float("layer_norm", x)
    if x.ndim == 0:
        raise ShapeError("layer_norm: needs at least 1 dim, got a 0-d tensor")
    channels = x.shape[-1]
    for name, p in (("weight", weight), ("bias", bias)):
        if p is None:
            continue
        if p.shape != (channels,):
            raise ShapeError(
                f"layer_norm: {name} has shape {p.shape}, expected ({channels},) for input "
                f"{x.shape}"
            )
        _check_same("layer_norm", x, p)
    if has_fused(x, "layer_norm"):
        params = [p for p in (weight, bias) if p is not None]
        return LayerNorm.apply(
            x, *params, eps=eps, has_weight=weight is not None, has_bias=bias is not None
        )
    mean = R.mean(x, -1, keepdim=True)
    centered = x - mean
    var = R.mean(centered * centered, -1, keepdim=True)
    y = centered * M.rsqrt(var + eps)  # NOTE: eps inside the root keeps constant rows finite
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


# --------------------------------------------------------------------- cross-entropy
class CrossEntropy(Function):
    """Per-row loss logsumexp(logits) - logits[target].  (N, C), (N,) int64 -> (N,)."""

    def forward(self, logits: NDArray, targets: NDArray, ignore_index: int) -> NDArray:
        loss, lse = logits.backend.cross_entropy(logits, targets, ignore_index)
        rows = logits.shape[:1]
        lse_arr = NDArray(logits.backend, lse, rows, logits.dtype)
        self.ignore_index = ignore_index
        self.save_for_backward(logits, targets, lse_arr)
        return NDArray(logits.backend, loss, rows, logits.dtype)

    def backward(self, grad: NDArray) -> tuple[NDArray, None]:
        logits, targets, lse = self.saved
        backend = logits.backend
        dlogits = backend.cross_entropy_backward(grad, logits, targets, lse, self.ignore_index)
        return NDArray(backend, dlogits, logits.shape, logits.dtype), None


def cross_entropy(logits: Tensor, targets: Tensor, ignore_index: int = -100) -> Tensor:
    """Per-row cross-entropy; rows whose target is `ignore_index` get loss 0.

    logits (N, C) floating, targets (N,) int64 with values in [0, C) -> losses (N,).
    """
    _check_float("cross_entropy", logits)
    if logits.ndim != 2 or targets.shape != logits.shape[:1]:
        raise ShapeError(
            f"cross_entropy: expected logits (N, C) and targets (N,), got {logits.shape} and "
            f"{targets.shape}"
        )
    if targets.dtype.kind != "i":
        raise DTypeError(
            f"cross_entropy: targets must be class indices (int64), got {targets.dtype}; "
            "use .long() on integer-valued targets"
        )
    M._check_devices("cross_entropy", logits, targets)
    targets = M.cast(targets, int64)
    _check_targets(targets, logits.shape[1], ignore_index)
    if has_fused(logits, "cross_entropy"):
        return CrossEntropy.apply(logits, targets, ignore_index=ignore_index)
    from ..creation import arange

    valid = targets != ignore_index
    safe = M.where(valid, targets, 0)  # an ignored row may hold any value, e.g. -100
    rows = arange(logits.shape[0], device=logits.device)
    picked = logits[rows, safe]  # (N,)
    loss = R.logsumexp(logits, 1) - picked  # logsumexp subtracts the row max: no overflow
    return M.where(valid, loss, 0.0)


def _check_targets(targets: Tensor, classes: int, ignore_index: int) -> None:
    """Out-of-range targets raise here (NOTE: one host read), not deep inside a kernel."""
    if targets.numel() == 0:
        return
    outside = (targets < 0) | (targets >= classes)
    bad = outside & (targets != ignore_index)
    if not bool(bad.any()):
        return
    first = int(R.argmax(M.cast(bad, int64)).item())
    value = int(targets[first].item())
    raise IndexError(
        f"cross_entropy: target {value} (row {first}) is out of range for {classes} classes; "
        f"targets must be in [0, {classes}) or equal ignore_index={ignore_index}"
    )


# ------------------------------------------------------------------------- attention
class Attention(Function):
    """softmax(q @ k^T * scale [+ causal mask]) @ v.  (B, H, Tq, D), (B, H, Tk, D) x2 ->
    (B, H, Tq, D)."""

    def forward(self, q: NDArray, k: NDArray, v: NDArray, causal: bool, scale: float) -> NDArray:
        out, lse = q.backend.attention(q, k, v, causal, scale)
        out_arr = NDArray(q.backend, out, q.shape, q.dtype)
        lse_arr = NDArray(q.backend, lse, q.shape[:-1], q.dtype)
        self.causal = causal
        self.scale = scale
        self.save_for_backward(q, k, v, out_arr, lse_arr)
        return out_arr

    def backward(self, grad: NDArray) -> tuple[NDArray, NDArray, NDArray]:
        q, k, v, out, lse = self.saved
        backend = q.backend
        dq, dk, dv = backend.attention_backward(grad, q, k, v, out, lse, self.causal, self.scale)
        return (
            NDArray(backend, dq, q.shape, q.dtype),
            NDArray(backend, dk, k.shape, k.dtype),
            NDArray(backend, dv, v.shape, v.dtype),
        )


def attention(
    q: Tensor, k: Tensor, v: Tensor, causal: bool = False, scale: float | None = None
) -> Tensor:
    """Scaled dot-product attention; `scale` defaults to 1/sqrt(D).

    q (B, H, Tq, D), k and v (B, H, Tk, D) -> (B, H, Tq, D). With `causal` and Tq < Tk the
    mask is aligned bottom-right: query i sits at position Tk - Tq + i (the KV-cache case).
    """
    _check_float("attention", q)
    if q.ndim != 4 or k.shape != v.shape or k.ndim != 4:
        raise ShapeError(
            f"attention: expected q (B, H, Tq, D) and k, v (B, H, Tk, D), got {q.shape}, "
            f"{k.shape}, {v.shape}"
        )
    if q.shape[:2] != k.shape[:2] or q.shape[3] != k.shape[3]:
        raise ShapeError(
            f"attention: q {q.shape} and k {k.shape} differ in batch, heads or head size"
        )
    _check_same("attention", q, k)
    _check_same("attention", q, v)
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    if has_fused(q, "attention"):
        return Attention.apply(q, k, v, causal=causal, scale=scale)
    scores = S.matmul(q, S.transpose(k, -2, -1)) * scale  # (B, H, Tq, Tk)
    if causal:
        scores = M.masked_fill(scores, _future(q, k), float("-inf"))
    return S.matmul(R.softmax(scores, -1), v)  # (B, H, Tq, D)


def _future(q: Tensor, k: Tensor) -> Tensor:
    """(Tq, Tk) bool, True where key j lies after query i's position Tk - Tq + i."""
    from ..creation import arange

    tq = q.shape[-2]
    tk = k.shape[-2]
    rows = arange(tq, device=q.device).reshape(tq, 1) + (tk - tq)
    cols = arange(tk, device=q.device).reshape(1, tk)
    return cols > rows


# ------------------------------------------------------------------------------ gelu
class Gelu(Function):
    """GELU in one pass each way (`tg.gelu` calls it when the backend lists "gelu").  A -> A."""

    def forward(self, x: NDArray, approximate: str) -> NDArray:
        self.approximate = approximate
        self.save_for_backward(x)
        return NDArray(x.backend, x.backend.gelu(x, approximate), x.shape, x.dtype)

    def backward(self, grad: NDArray) -> tuple[NDArray]:
        (x,) = self.saved
        dx = x.backend.gelu_backward(grad, x, self.approximate)
        return (NDArray(x.backend, dx, x.shape, x.dtype),)


# --------------------------------------------------------------------------- checks
def _check_float(op: str, x: Tensor) -> None:
    if not x.dtype.is_floating_point:
        raise DTypeError(f"{op}: expected a floating input, got {x.dtype}; use .float()")


def _check_same(op: str, x: Tensor, other: Tensor) -> None:
    M._check_devices(op, x, other)
    if other.dtype != x.dtype:
        raise DTypeError(
            f"{op}: input is {x.dtype} but another operand is {other.dtype}; "
            f"convert with .to({x.dtype})"
        )
