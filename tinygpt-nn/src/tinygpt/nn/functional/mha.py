"""multi_head_attention_forward: PyTorch's functional multi-head attention (what
nn.MultiheadAttention calls), on sequence-first inputs (L, N, E) or unbatched (L, E).

Steps: project q, k, v (one packed (3E, E) weight or three separate ones); optionally append
the learned bias_k / bias_v and a zero key/value; split into heads; scores = q k^T / sqrt(d)
plus the masks (bool True = blocked, or additive floats); softmax; dropout; weighted sum of
v; merge heads; output projection. Returns (output, weights or None); the weights are
averaged over heads unless average_attn_weights=False.

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> E = 4
>>> x = tg.randn(3, 2, E)
>>> out, w = F.multi_head_attention_forward(x, x, x, E, 2, tg.randn(3 * E, E), tg.zeros(3 * E),
...     None, None, False, 0.0, tg.randn(E, E), tg.zeros(E))
>>> out.shape, w.shape
((3, 2, 4), (2, 3, 3))
"""

from __future__ import annotations

import math

import tinygpt as tg
from tinygpt import ShapeError, Tensor

from .linear import dropout as _dropout

__all__ = ["multi_head_attention_forward"]


def _additive(mask: Tensor, like: Tensor) -> Tensor:
    """A bool mask (True = blocked) as 0 / -inf, a float mask as it is."""
    if mask.dtype == tg.bool:
        return tg.zeros(mask.shape, dtype=like.dtype, device=like.device).masked_fill(
            mask, float("-inf")
        )
    return mask.to(like.dtype)


def _pad_last(mask: Tensor | None, count: int) -> Tensor | None:
    """Let `count` appended keys through: pad the last dim with zeros (or False)."""
    if mask is None:
        return None
    pad = tg.zeros(*mask.shape[:-1], count, dtype=mask.dtype, device=mask.device)
    return tg.cat([mask, pad], -1)


def multi_head_attention_forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight: Tensor | None,
    in_proj_bias: Tensor | None,
    bias_k: Tensor | None,
    bias_v: Tensor | None,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    training: bool = True,
    key_padding_mask: Tensor | None = None,
    need_weights: bool = True,
    attn_mask: Tensor | None = None,
    use_separate_proj_weight: bool = False,
    q_proj_weight: Tensor | None = None,
    k_proj_weight: Tensor | None = None,
    v_proj_weight: Tensor | None = None,
    static_k: Tensor | None = None,
    static_v: Tensor | None = None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """query (L, N, E), key / value (S, N, E) -> (output (L, N, E), weights (N, L, S))."""
    op = "multi_head_attention_forward"
    if static_k is not None or static_v is not None:
        raise NotImplementedError(f"{op}: static_k / static_v are not supported")
    unbatched = query.ndim == 2
    if unbatched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed = query.shape
    if embed != embed_dim_to_check or embed % num_heads:
        raise ShapeError(
            f"{op}: query {query.shape} must have embed_dim {embed_dim_to_check}, divisible by "
            f"num_heads={num_heads}"
        )
    head_dim = embed // num_heads
    if use_separate_proj_weight:
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise ValueError(f"{op}: use_separate_proj_weight needs q/k/v_proj_weight")
        weights = (q_proj_weight, k_proj_weight, v_proj_weight)
    else:
        if in_proj_weight is None:
            raise ValueError(f"{op}: in_proj_weight is required")
        weights = tuple(in_proj_weight.chunk(3, 0))  # type: ignore[assignment]
    biases: tuple[Tensor | None, ...] = (
        (None, None, None) if in_proj_bias is None else tuple(in_proj_bias.chunk(3, 0))
    )
    q = tg.linear(query, weights[0], biases[0])
    k = tg.linear(key, weights[1], biases[1])
    v = tg.linear(value, weights[2], biases[2])
    if is_causal and attn_mask is None:
        # NOTE: as in PyTorch, is_causal is only a hint about the mask that is passed
        raise RuntimeError(f"{op}: is_causal=True needs attn_mask (the causal mask) as well")
    if attn_mask is not None:
        attn_mask = _additive(attn_mask, q)
        if attn_mask.ndim == 2:
            attn_mask = attn_mask.unsqueeze(0)  # (1, L, S)
    if bias_k is not None and bias_v is not None:
        k = tg.cat([k, bias_k.reshape(1, 1, embed).expand(1, bsz, embed)], 0)
        v = tg.cat([v, bias_v.reshape(1, 1, embed).expand(1, bsz, embed)], 0)
        attn_mask = _pad_last(attn_mask, 1)
        key_padding_mask = _pad_last(key_padding_mask, 1)
    # heads: (L, N, E) -> (N * H, L, d)
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = k.reshape(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    v = v.reshape(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    if add_zero_attn:
        zeros = tg.zeros(bsz * num_heads, 1, head_dim, dtype=k.dtype, device=k.device)
        k = tg.cat([k, zeros], 1)
        v = tg.cat([v, zeros], 1)
        attn_mask = _pad_last(attn_mask, 1)
        key_padding_mask = _pad_last(key_padding_mask, 1)
    src_len = k.shape[1]
    scores = (q * (1.0 / math.sqrt(head_dim))) @ k.transpose(1, 2)  # (N * H, L, S)
    if attn_mask is not None:
        scores = scores + attn_mask
    if key_padding_mask is not None:
        padding = _additive(key_padding_mask, q).reshape(bsz, 1, 1, src_len)
        scores = (scores.reshape(bsz, num_heads, tgt_len, src_len) + padding).reshape(
            bsz * num_heads, tgt_len, src_len
        )
    attn = scores.softmax(-1)
    if dropout_p > 0.0 and training:
        attn = _dropout(attn, dropout_p)
    out = attn @ v  # (N * H, L, d)
    out = out.transpose(0, 1).reshape(tgt_len, bsz, embed)
    out = tg.linear(out, out_proj_weight, out_proj_bias)
    weights_out = None
    if need_weights:
        per_head = attn.reshape(bsz, num_heads, tgt_len, src_len)
        weights_out = per_head.mean(1) if average_attn_weights else per_head
        if unbatched:
            weights_out = weights_out[0]
    if unbatched:
        out = out[:, 0]
    return out, weights_out
