"""Attention: the fused `Attention` primitive, `attention` (fused or composed) and PyTorch's
`scaled_dot_product_attention` built on it.

`attention` aligns its causal mask bottom-right, so it serves a KV cache (the last Tq of Tk
positions) as well as training (Tq == Tk). `scaled_dot_product_attention` has PyTorch's
signature and semantics (top-left causal mask, attn_mask, dropout) and takes the fused path
whenever the two agree.

>>> import tinygpt as tg
>>> q = tg.ones(1, 1, 2, 4)
>>> tg.scaled_dot_product_attention(q, q, q, is_causal=True).shape
(1, 1, 2, 4)
"""

from __future__ import annotations

import math

from .. import array_ops as A
from ..autograd.function import Function
from ..creation import arange, rand
from ..dtypes import bool_, statistics_dtype
from ..errors import DTypeError, ShapeError
from ..ndarray import NDArray
from ..tensor import Tensor
from . import autocast
from .activation import softmax
from .comparison import masked_fill, where
from .dispatch import fall_back, use_fused
from .matmul import matmul
from .promotion import check_float, check_same

__all__ = ["Attention", "attention", "scaled_dot_product_attention"]


class Attention(Function):
    """softmax(q @ k^T * scale [+ causal mask]) @ v.  (B, H, Tq, D), (B, H, Tk, D) x2 ->
    (B, H, Tq, D)."""

    def forward(self, q: NDArray, k: NDArray, v: NDArray, causal: bool, scale: float) -> NDArray:
        out, lse = A.fused_call("attention", q, k, v, causal, scale)
        out_arr = A.wrap(q, out, q.shape, q.dtype)
        lse_arr = A.wrap(q, lse, q.shape[:-1], statistics_dtype(q.dtype))  # float16: float32
        self.causal = causal
        self.scale = scale
        self.save_for_backward(q, k, v, out_arr, lse_arr)
        return out_arr

    def backward(self, grad: NDArray) -> tuple[NDArray, NDArray, NDArray]:
        q, k, v, out, lse = self.saved
        dq, dk, dv = A.fused_call(
            "attention_backward", grad, q, k, v, out, lse, self.causal, self.scale
        )
        return (
            A.wrap(q, dq, q.shape, q.dtype),
            A.wrap(k, dk, k.shape, k.dtype),
            A.wrap(v, dv, v.shape, v.dtype),
        )


# ------------------------------------------------------------------ functions
def attention(
    q: Tensor, k: Tensor, v: Tensor, causal: bool = False, scale: float | None = None
) -> Tensor:
    """Scaled dot-product attention; `scale` defaults to 1/sqrt(D).

    q (B, H, Tq, D), k and v (B, H, Tk, D) -> (B, H, Tq, D). With `causal` and Tq < Tk the
    mask is aligned bottom-right: query i sits at position Tk - Tq + i (the KV-cache case).
    """
    check_float("attention", q)
    if q.ndim != 4 or k.shape != v.shape or k.ndim != 4:
        raise ShapeError(
            f"attention: expected q (B, H, Tq, D) and k, v (B, H, Tk, D), got {q.shape}, "
            f"{k.shape}, {v.shape}"
        )
    if q.shape[:2] != k.shape[:2] or q.shape[3] != k.shape[3]:
        raise ShapeError(
            f"attention: q {q.shape} and k {k.shape} differ in batch, heads or head size"
        )
    check_same("attention", q, k)
    check_same("attention", q, v)
    if scale is None:
        scale = _default_scale(q.shape[-1])
    # NOTE: with no keys (Tk = 0) the composite is exact and trivial (zeros, as PyTorch)
    if use_fused("attention", q, "no keys (Tk = 0)" if k.shape[2] == 0 else None):
        return Attention.apply(q, k, v, causal=causal, scale=scale)
    scores = matmul(q, k.mT) * scale  # (B, H, Tq, Tk)
    if causal:
        scores = masked_fill(scores, _future(q, k), float("-inf"))
    return matmul(softmax(scores, -1), v)  # (B, H, Tq, D)


def _default_scale(head_size: int) -> float:
    """1 / sqrt(D); 1 for D = 0, whose scores are all 0 whatever the scale (empty output)."""
    return 1.0 / math.sqrt(head_size) if head_size > 0 else 1.0


def _future(q: Tensor, k: Tensor) -> Tensor:
    """(Tq, Tk) bool, True where key j lies after query i's position Tk - Tq + i."""
    tq = q.shape[-2]
    tk = k.shape[-2]
    rows = arange(tq, device=q.device).reshape(tq, 1) + (tk - tq)
    cols = arange(tk, device=q.device).reshape(1, tk)
    return cols > rows


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
) -> Tensor:
    """Attention of every query over every key: (..., Tq, E), (..., Tk, E), (..., Tk, Ev)
    -> (..., Tq, Ev); `scale` defaults to 1/sqrt(E).

    `attn_mask` broadcasts to (..., Tq, Tk): a bool mask is True where a query MAY attend
    (PyTorch's convention), a float mask is added to the scores. `is_causal` lets query i see
    keys 0..i (top-left aligned, as in PyTorch); for a KV cache, where the queries are the
    last Tq positions, pass a bool `attn_mask` aligned bottom-right.
    `dropout_p` drops attention weights (pass 0.0 at evaluation, as PyTorch asks).
    """
    if autocast.on():  # tg.autocast: in bfloat16 / float16
        query, key, value = autocast.lower(query), autocast.lower(key), autocast.lower(value)
    _check(query, key, value, attn_mask, is_causal)
    tq, tk = query.shape[-2], key.shape[-2]
    if scale is None:
        scale = _default_scale(query.shape[-1])
    reason = _unfusable(query, key, value, attn_mask, dropout_p, is_causal)
    if reason is None:
        return attention(query, key, value, causal=is_causal, scale=scale)
    fall_back("attention", query, reason)  # tg.profile() shows why this call is composed
    scores = (query @ key.mT) * scale  # (..., Tq, Tk)
    if is_causal:
        rows = arange(tq, device=query.device).reshape(tq, 1)
        future = arange(tk, device=query.device).reshape(1, tk) > rows  # (Tq, Tk): j > i
        scores = scores.masked_fill(future, float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype == bool_:
            scores = scores.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            scores = scores + attn_mask
    weights = scores.softmax(-1)
    if is_causal or attn_mask is not None:
        # a query whose every key is masked attends to nothing: zeros, not softmax's nan
        # (0 / 0), as PyTorch's scaled_dot_product_attention
        blind = (scores == float("-inf")).all(-1, keepdim=True)
        weights = weights.masked_fill(blind, 0.0)
    if dropout_p >= 1.0:
        weights = weights * 0.0
    elif dropout_p > 0.0:
        # NOTE: the same draws as nn.functional.dropout, so seeded runs match it
        keep = rand(*weights.shape, dtype=weights.dtype, device=weights.device) >= dropout_p
        weights = where(keep, weights * (1.0 / (1.0 - dropout_p)), 0.0)
    return weights @ value  # (..., Tq, Ev)


def _unfusable(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, dropout_p: float, is_causal: bool
) -> str | None:
    """Why the fused attention kernel cannot run this call (None: it can)."""
    if mask is not None:
        return "attn_mask given (the fused kernel takes is_causal only)"
    if dropout_p > 0.0:
        return "dropout_p > 0 (the fused kernel has no dropout)"
    if q.ndim != 4:
        return f"query is {q.ndim}-D, the fused kernel takes (B, H, T, E)"
    if k.shape != v.shape or k.shape[:2] != q.shape[:2]:
        return "key and value shapes differ, or batch/heads differ from the query's"
    if is_causal and q.shape[-2] != k.shape[-2]:
        return "is_causal with Tq != Tk (PyTorch aligns that mask top-left)"
    return None


def _check(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, is_causal: bool) -> None:
    if q.ndim < 2 or k.ndim != q.ndim or v.ndim != q.ndim:
        raise ShapeError(
            "scaled_dot_product_attention: expected query (..., Tq, E), key (..., Tk, E) and "
            f"value (..., Tk, Ev) of one rank >= 2, got {q.shape}, {k.shape}, {v.shape}"
        )
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ShapeError(
            f"scaled_dot_product_attention: query {q.shape}, key {k.shape} and value "
            f"{v.shape} must share E (query, key) and Tk (key, value)"
        )
    if not q.dtype.is_floating_point or k.dtype != q.dtype or v.dtype != q.dtype:
        raise DTypeError(
            "scaled_dot_product_attention: query, key and value must share one floating "
            f"dtype, got {q.dtype}, {k.dtype}, {v.dtype}"
        )
    if mask is not None and is_causal:
        raise ValueError(
            "scaled_dot_product_attention: pass either attn_mask or is_causal=True, not both "
            "(fold the causal mask into attn_mask)"
        )
