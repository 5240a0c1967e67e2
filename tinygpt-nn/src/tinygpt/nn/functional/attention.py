"""Scaled dot-product attention, PyTorch's `F.scaled_dot_product_attention`.

    out = softmax(q @ k^T * scale + mask) @ v

Without a mask or dropout this is one call to `tinygpt.ops.fused.attention`, which runs the
backend's fused kernel when it has one. A mask or attention dropout needs the full (Tq, Tk)
score matrix, so those cases are composed from ordinary tensor ops.

>>> import tinygpt as tg
>>> from tinygpt.nn.functional import scaled_dot_product_attention
>>> q = k = v = tg.ones(1, 2, 3, 4)  # (B, nh, T, hs)
>>> scaled_dot_product_attention(q, k, v, is_causal=True).shape
(1, 2, 3, 4)
"""

from __future__ import annotations

import math

import tinygpt as tg
from tinygpt import DTypeError, ShapeError, Tensor
from tinygpt.ops import fused

from .linear import dropout

__all__ = ["scaled_dot_product_attention"]


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
    last Tq positions, use `tinygpt.ops.fused.attention`, whose causal mask is bottom-right.
    `dropout_p` drops attention weights (pass 0.0 at evaluation, as PyTorch asks).
    """
    _check(query, key, value, attn_mask, is_causal)
    tq, tk = query.shape[-2], key.shape[-2]
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1])
    fusable = query.ndim == 4 and key.shape == value.shape and key.shape[:2] == query.shape[:2]
    if attn_mask is None and dropout_p == 0.0 and fusable and (tq == tk or not is_causal):
        return fused.attention(query, key, value, causal=is_causal, scale=scale)
    scores = (query @ key.mT) * scale  # (..., Tq, Tk)
    if is_causal:
        rows = tg.arange(tq, device=query.device).reshape(tq, 1)
        future = tg.arange(tk, device=query.device).reshape(1, tk) > rows  # (Tq, Tk): j > i
        scores = scores.masked_fill(future, float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype == tg.bool:
            scores = scores.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            scores = scores + attn_mask
    weights = scores.softmax(-1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p)
    return weights @ value  # (..., Tq, Ev)


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
