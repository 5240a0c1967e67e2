"""MultiheadAttention, with PyTorch's parameters (in_proj_weight, in_proj_bias, out_proj) and
mask conventions, so a torch state dict loads key by key.

Queries, keys and values are projected by one stacked (3E, E) weight, split into `num_heads`
heads of size E / num_heads, attended with `F.scaled_dot_product_attention` (one fused kernel
when there is no mask), merged back and projected by `out_proj`.

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> mha = nn.MultiheadAttention(embed_dim=16, num_heads=4, batch_first=True)
>>> x = tg.randn(2, 5, 16)  # (B, T, E)
>>> out, weights = mha(x, x, x, is_causal=True)
>>> out.shape, weights
((2, 5, 16), None)
"""

from __future__ import annotations

import math
from typing import Any

import tinygpt as tg
from tinygpt import ShapeError, Tensor

from .. import functional as F
from .. import init
from ..functional.attention import scaled_dot_product_attention
from ..module import Module
from ..parameter import Parameter
from .linear import Linear

__all__ = ["MultiheadAttention"]


class MultiheadAttention(Module):
    """Multi-head attention: query (L, B, E), key and value (S, B, E) -> (L, B, E), or
    (B, L, E) / (B, S, E) with `batch_first`, or unbatched (L, E) / (S, E).

    Masks follow PyTorch: in `key_padding_mask` (B, S) and a bool `attn_mask` (L, S) or
    (B * num_heads, L, S), True means "may NOT attend"; a float mask is added to the scores.
    `dropout` drops attention weights in training.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        batch_first: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if num_heads < 1 or embed_dim % num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim={embed_dim} must be divisible by "
                f"num_heads={num_heads}"
            )
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        factory = {"device": device, "dtype": dtype}
        self.in_proj_weight = Parameter(tg.empty(3 * embed_dim, embed_dim, **factory))
        if bias:
            self.in_proj_bias = Parameter(tg.empty(3 * embed_dim, **factory))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, **factory)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's init: xavier-uniform in_proj_weight, zero biases; out_proj.weight keeps
        Linear's default."""
        init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = False,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """(attention output, weights or None); PyTorch's argument order.

        NOTE: `need_weights` defaults to False (PyTorch: True) so the fast fused path is the
        default; with True the weights come back averaged over heads, (B, L, S), or per head,
        (B, num_heads, L, S), when `average_attn_weights` is False. `is_causal` without an
        `attn_mask` applies the causal mask itself (query i sees keys 0..i).
        """
        self._check(query, key, value)
        unbatched = query.ndim == 2
        if unbatched:
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif not self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        q, k, v = self._project(query, key, value)  # (B, nh, L|S, hs) each
        mask = self._merge_masks(q, k, key_padding_mask, attn_mask, is_causal)
        causal = is_causal and mask is None
        p = self.dropout if self.training else 0.0
        weights = None
        if need_weights:
            weights = self._weights(q, k, mask, causal)  # (B, nh, L, S)
            out = F.dropout(weights, p) @ v
            if average_attn_weights:
                weights = weights.mean(dim=1)
            if unbatched:
                weights = weights.squeeze(0)
        else:
            out = scaled_dot_product_attention(q, k, v, mask, p, causal)  # (B, nh, L, hs)
        batch, length = out.shape[0], out.shape[2]
        out = out.transpose(1, 2).reshape(batch, length, self.embed_dim)  # heads side by side
        out = self.out_proj(out)  # (B, L, E)
        if unbatched:
            out = out.squeeze(0)
        elif not self.batch_first:
            out = out.transpose(0, 1)
        return out, weights

    def _project(self, query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, ...]:
        """(B, L, E), (B, S, E), (B, S, E) -> q (B, nh, L, hs), k and v (B, nh, S, hs)."""
        w = self.in_proj_weight
        b = self.in_proj_bias
        e = self.embed_dim
        if query is key and key is value:
            # self-attention: one (E -> 3E) matmul instead of three
            q, k, v = F.linear(query, w, b).split(e, dim=-1)
        else:
            biases = (None, None, None) if b is None else b.split(e)
            q, k, v = (
                F.linear(x, w_part, b_part)
                for x, w_part, b_part in zip((query, key, value), w.split(e), biases, strict=True)
            )
        return tuple(self._heads(t) for t in (q, k, v))

    def _heads(self, x: Tensor) -> Tensor:
        batch, length = x.shape[0], x.shape[1]
        x = x.reshape(batch, length, self.num_heads, self.head_dim)
        return x.transpose(1, 2)  # (B, nh, T, hs)

    def _merge_masks(
        self, q: Tensor, k: Tensor, padding: Tensor | None, attn: Tensor | None, causal: bool
    ) -> Tensor | None:
        """All masks as one additive float mask (B | 1, nh | 1, L, S), or None if no mask."""
        batch, heads, length, source = q.shape[0], q.shape[1], q.shape[2], k.shape[2]
        if padding is None and attn is None:
            return None
        mask = tg.zeros(1, 1, length, source, dtype=q.dtype, device=q.device)
        if attn is not None:
            if attn.ndim == 3:
                attn = attn.reshape(batch, heads, length, source)
            mask = mask + _additive(attn, q)
        elif causal:
            mask = mask.masked_fill(_future(length, source, q), float("-inf"))
        if padding is not None:
            mask = mask + _additive(padding, q).reshape(batch, 1, 1, source)
        return mask

    def _weights(self, q: Tensor, k: Tensor, mask: Tensor | None, causal: bool) -> Tensor:
        """softmax(q @ k^T / sqrt(hs) + mask): (B, nh, L, S)."""
        scores = (q @ k.mT) * (1.0 / math.sqrt(self.head_dim))
        if causal:
            scores = scores.masked_fill(_future(q.shape[2], k.shape[2], q), float("-inf"))
        if mask is not None:
            scores = scores + mask
        return scores.softmax(-1)

    def _check(self, query: Tensor, key: Tensor, value: Tensor) -> None:
        e = self.embed_dim
        ranks_ok = query.ndim in (2, 3) and key.ndim == query.ndim and value.ndim == query.ndim
        if not ranks_ok or e != query.shape[-1] or e != key.shape[-1] or e != value.shape[-1]:
            layout = "(B, T, E)" if self.batch_first else "(T, B, E)"
            raise ShapeError(
                f"MultiheadAttention(embed_dim={e}, num_heads={self.num_heads}): expected "
                f"query, key, value {layout} or (T, E) with E = {e}, got {query.shape}, "
                f"{key.shape}, {value.shape}"
            )
        if key.shape[:-1] != value.shape[:-1]:
            raise ShapeError(
                f"MultiheadAttention: key {key.shape} and value {value.shape} must have the "
                "same batch and length"
            )

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}"


def _additive(mask: Tensor, like: Tensor) -> Tensor:
    """A bool mask (True = blocked) as 0 / -inf, or a float mask as it is, in like's dtype."""
    if mask.dtype == tg.bool:
        zeros = tg.zeros(*mask.shape, dtype=like.dtype, device=like.device)
        return zeros.masked_fill(mask, float("-inf"))
    return mask.to(like.dtype)


def _future(length: int, source: int, like: Tensor) -> Tensor:
    """(L, S) bool, True where key j comes after query i (j > i): what causal attention hides."""
    rows = tg.arange(length, device=like.device).reshape(length, 1)
    return tg.arange(source, device=like.device).reshape(1, source) > rows
