"""The key/value cache of a GPT, and `DecodeStep`: one new token per call, with few ops.

Each layer keeps its keys and values in one preallocated buffer (B, 2, nh, block_size, hs),
filled left to right in place: a new token costs one write, never a concatenation.

`DecodeStep` runs the model on one new token per row (the sampling loop's common case). It is
the model's forward written out for T = 1 with the parameters fetched once: no module calls,
logits for the one position only, q/k/v taken as views of the c_attn output (with T = 1 the
heads need no transpose), the new key and value written into the cache by one assignment,
and one attention query over the cached keys (no mask: the newest token sees every key).
It computes what `GPT.forward(idx, kv_cache=cache, last_only=True)` computes, op for op in
float32, and is only used for the stock GPT classes with no module hooks
(`DecodeStep.supports`); anything else goes through the modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import tinygpt as tg
import tinygpt.nn.functional as F
from tinygpt import Tensor

from .config import GPTConfig

if TYPE_CHECKING:
    from .model import GPT

__all__ = ["DecodeStep", "KVCache", "LayerCache"]


class LayerCache:
    """One layer's keys and values: `k` and `v` are (B, nh, block_size, hs) views of one
    buffer `kv` (B, 2 * nh, block_size, hs), keys' heads first, filled left to right.

    subtle: that is the head order of c_attn's output for one token viewed as
    (B, 3 * nh, 1, hs) past the queries, so `DecodeStep` stores both with one copy."""

    def __init__(self, shape: tuple[int, int, int, int], device: Any, dtype: Any) -> None:
        B, nh, T, hs = shape
        self.kv = tg.zeros(B, 2 * nh, T, hs, device=device, dtype=dtype)
        self.k = self.kv.narrow(1, 0, nh)
        self.v = self.kv.narrow(1, nh, nh)

    def update(self, k: Tensor, v: Tensor, start: int) -> tuple[Tensor, Tensor]:
        """Store k, v (B, nh, T, hs) at positions start..start+T-1; return every position so
        far, (B, nh, start + T, hs) views of the buffers."""
        end = start + k.shape[2]
        self.k[:, :, start:end] = k
        self.v[:, :, start:end] = v
        return self.k[:, :, :end], self.v[:, :, :end]


class KVCache:
    """The cache of every layer, and how many positions it holds (`length`)."""

    def __init__(self, config: GPTConfig, batch_size: int, device: Any = None, dtype: Any = None):
        hs = config.n_embd // config.n_head
        shape = (batch_size, config.n_head, config.block_size, hs)
        self.layers = [LayerCache(shape, device, dtype) for _ in range(config.n_layer)]
        self.length = 0


class DecodeStep:
    """`step(ids, cache)`: logits (B, V) for one new token per row, ids (B,) int64 on the
    model's device; appends the token's keys and values to `cache`."""

    def __init__(self, model: GPT) -> None:
        cfg = model.config
        self.n_head, self.n_embd, self.block_size = cfg.n_head, cfg.n_embd, cfg.block_size
        t = model.transformer
        self.wte, self.wpe = t.wte.weight, t.wpe.weight
        self.ln_f = _norm(t.ln_f)
        self.lm_head = model.lm_head.weight
        # per layer, every parameter the step reads, fetched once (module attribute lookups
        # cost as much as a small op)
        self.layers = [
            (
                _norm(b.ln_1),
                (b.attn.c_attn.weight, b.attn.c_attn.bias),
                (b.attn.c_proj.weight, b.attn.c_proj.bias),
                _norm(b.ln_2),
                (b.mlp.c_fc.weight, b.mlp.c_fc.bias),
                b.mlp.gelu.approximate,
                (b.mlp.c_proj.weight, b.mlp.c_proj.bias),
            )
            for b in t.h
        ]

    @staticmethod
    def supports(model: GPT) -> bool:
        """True for the stock GPT in eval mode without module hooks: then the step computes
        exactly what the modules would."""
        from .model import GPT, MLP, Block, CausalSelfAttention

        if type(model) is not GPT or model.training:
            return False
        stock = {GPT, Block, CausalSelfAttention, MLP}
        for module in model.modules():
            if getattr(module, "_module_hooks", None):
                return False
            if isinstance(module, (Block, CausalSelfAttention, MLP)) and type(module) not in stock:
                return False
        return all(type(b) is Block for b in model.transformer.h)

    def __call__(self, ids: Tensor, cache: KVCache) -> Tensor:
        start = cache.length
        if start >= self.block_size:
            raise ValueError(
                f"GPT: a sequence of {start + 1} tokens is longer than block_size="
                f"{self.block_size}; restart the cache from the last tokens"
            )
        B, C, nh = ids.shape[0], self.n_embd, self.n_head
        hs, end = C // nh, start + 1
        x = F.embedding(ids, self.wte) + self.wpe[start]  # (B, C)
        # NOTE: narrow, not indexing: the same views with less argument parsing per call
        for layer, lc in zip(self.layers, cache.layers):
            ln_1, attn, proj, ln_2, fc, approximate, mlp_proj = layer
            qkv = F.linear(F.layer_norm(x, C, *ln_1), *attn).reshape(B, 3 * nh, 1, hs)
            # the new key and value go to position `start`: one write into the cache buffer
            lc.kv.narrow(2, start, 1).copy_(qkv.narrow(1, nh, 2 * nh))
            q, k, v = qkv.narrow(1, 0, nh), lc.k.narrow(2, 0, end), lc.v.narrow(2, 0, end)
            y = F.scaled_dot_product_attention(q, k, v)  # (B, nh, 1, hs)
            x = x + F.linear(y.reshape(B, C), *proj)  # (B, nh, 1, hs) is (B, C) in memory
            h = F.gelu(F.linear(F.layer_norm(x, C, *ln_2), *fc), approximate=approximate)
            x = x + F.linear(h, *mlp_proj)
        cache.length = end
        return F.linear(F.layer_norm(x, C, *self.ln_f), self.lm_head)  # (B, V)


def _norm(ln: Any) -> tuple[Tensor | None, Tensor | None, float]:
    """A LayerNorm's (weight, bias, eps), as F.layer_norm takes them."""
    return (ln.weight, ln.bias, ln.eps)
