"""The key/value cache of a GPT, and `DecodeStep`: one new token per call, on replayed kernels.

Each layer keeps its keys and values in one preallocated buffer (B, 2 * nh, block_size, hs),
filled left to right in place: a new token costs one write, never a concatenation.

`DecodeStep` runs the model on one new token per row (the sampling loop's common case). It is
the model's forward written out for T = 1 with the parameters fetched once: no module calls,
logits for the one position only, q/k/v taken as views of the c_attn output (with T = 1 the
heads need no transpose), the new key and value written into the cache by one `copy_`,
and one attention query over the cached keys (no mask: the newest token sees every key).
`DecodeStep.prefill` does the same for the T tokens that start a cache (a prompt, a restart).

Both run through `tg.kernel_replay`: the first call runs op by op and records the backend
kernels, later calls run those kernels alone (for a small model the Python of some sixty
ops costs several times their kernels). Everything that moves with the position (the
position's embedding, the cache's views) is made outside and passed in, so every step runs
the same kernels. `DecodeStep.of(model)` keeps a model's step, recordings included, between
sampling loops, and lends each loop a cache of its own.

The step computes what `GPT.forward(idx, kv_cache=cache, last_only=True)` computes (equal
within float32 rounding), and is only used for the stock GPT built from stock layers, with
no module hooks (`DecodeStep.supports`); anything else goes through the modules.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

import tinygpt as tg
import tinygpt.nn.functional as F
from tinygpt import Tensor, nn

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
        self._views: list[tuple[Tensor, Tensor, Tensor] | None] = [None] * T

    def step_views(self, position: int) -> tuple[Tensor, Tensor, Tensor]:
        """(slot, k, v) for one new token at `position`: the (B, 2 nh, 1, hs) slot its key
        and value go to, and the keys and values of positions 0..position.

        Made once per position and kept: after a restart (past block_size) decoding revisits
        the same positions, and three views cost as much as a small op each.
        """
        views = self._views[position]
        if views is None:
            end = position + 1
            slot = self.kv.narrow(2, position, 1)
            views = (slot, self.k.narrow(2, 0, end), self.v.narrow(2, 0, end))
            self._views[position] = views
        return views

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
        self.key = (batch_size, device, dtype)  # what `DecodeStep.borrow` matches
        self._views: list[tuple[Tensor, ...] | None] = [None] * config.block_size
        self._prefill_views: dict[int, tuple[Tensor, ...]] = {}

    def step_views(self, position: int) -> tuple[Tensor, ...]:
        """Every layer's (slot, k, v) for one new token at `position`, in one flat tuple
        (kept per position, as `LayerCache.step_views` keeps its own)."""
        views = self._views[position]
        if views is None:
            views = tuple(t for layer in self.layers for t in layer.step_views(position))
            self._views[position] = views
        return views

    def prefill_views(self, length: int) -> tuple[Tensor, ...]:
        """Every layer's (B, 2 nh, length, hs) slot for positions 0..length-1 (kept)."""
        views = self._prefill_views.get(length)
        if views is None:
            views = tuple(layer.kv.narrow(2, 0, length) for layer in self.layers)
            self._prefill_views[length] = views
        return views


class DecodeStep:
    """`step(ids, cache)`: logits (B, V) for one new token per row, ids (B,) int64 on the
    model's device; appends the token's keys and values to `cache`."""

    def __init__(self, model: GPT) -> None:
        self.config = model.config
        self.reads = _reads(model)
        self.n_head, self.n_embd, self.block_size = self.reads[:3]
        self.wte, self.wpe, self.ln_f, self.lm_head, self.layers = self.reads[3:]
        # the kernels of one step, recorded on the first call and replayed after (the
        # Python of some sixty ops on small tensors costs several times their kernels);
        # watched: a parameter given other memory (`p.data = ...`) records again
        self._params = [t for t in _flat(self.reads) if isinstance(t, Tensor)]
        # the keys and values (inputs 3 + 3i and 4 + 3i) grow by one position per step
        grow = [3 + 3 * i + j for i in range(len(self.layers)) for j in (0, 1)]
        self._replay = tg.kernel_replay(self._forward, watch=self._params, free_sizes=grow)
        #: per ids shape (B, T): its replay, or None for a shape seen once
        self._prefills: dict[tuple[int, ...], tg.KernelReplay | None] = {}
        self._spare: list[KVCache] = []  # caches of finished loops, to lend again

    @classmethod
    def of(cls, model: GPT) -> DecodeStep | None:
        """The model's step, kept between sampling loops (its recordings with it), or None
        when the model needs the module path (`supports`).

        A step is kept while the model reads the same parameter tensors and settings; one
        built from a model whose layers or parameters were replaced since is rebuilt."""
        if not cls.supports(model):
            return None
        step = _STEPS.get(model)
        if step is None or not _same(step.reads, _reads(model)):
            step = _STEPS[model] = cls(model)
        return step

    def borrow(self, batch: int, device: Any, dtype: Any) -> KVCache:
        """An empty cache for one sampling loop: a finished loop's, or a new one. Give it
        back with `give_back` (two loops at once each get their own)."""
        for i, cache in enumerate(self._spare):
            if cache.key == (batch, device, dtype):
                cache.length = 0
                return self._spare.pop(i)
        return KVCache(self.config, batch, device, dtype)

    def give_back(self, cache: KVCache) -> None:
        """Keep a finished loop's cache (and the views it made) for the next loop: one, as
        a big model's cache is big."""
        if not self._spare:
            self._spare.append(cache)

    @staticmethod
    def supports(model: GPT) -> bool:
        """True for the stock GPT in eval mode, built from the stock layers, without module
        hooks: then the step computes what the modules would. A subclassed or swapped layer
        (say a LoRA Linear) has a forward of its own, which only the module path runs."""
        from .model import GPT, MLP, Block, CausalSelfAttention

        if type(model) is not GPT or model.training:
            return False
        t = model.transformer
        expected: list[tuple[Any, type]] = [
            (t.wte, nn.Embedding),
            (t.wpe, nn.Embedding),
            (t.ln_f, nn.LayerNorm),
            (model.lm_head, nn.Linear),
            (t.drop, nn.Dropout),  # (identities in eval mode: the step skips them)
        ]
        for b in t.h:
            expected += [(b, Block), (b.ln_1, nn.LayerNorm), (b.ln_2, nn.LayerNorm)]
            expected += [(b.attn, CausalSelfAttention), (b.mlp, MLP), (b.mlp.gelu, nn.GELU)]
            expected += [(b.attn.resid_dropout, nn.Dropout), (b.mlp.dropout, nn.Dropout)]
            linears = (b.attn.c_attn, b.attn.c_proj, b.mlp.c_fc, b.mlp.c_proj)
            expected += [(m, nn.Linear) for m in linears]
        if any(type(module) is not kind for module, kind in expected):
            return False
        return not any(getattr(m, "_module_hooks", None) for m in model.modules())

    def __call__(self, ids: Tensor, cache: KVCache) -> Tensor:
        start = cache.length
        if start >= self.block_size:
            raise ValueError(
                f"GPT: a sequence of {start + 1} tokens is longer than block_size="
                f"{self.block_size}; restart the cache from the last tokens"
            )
        # NOTE: everything that depends on the position is made here and passed in, so that
        # every call of `_forward` runs the same kernels: the replay runs them alone
        logits = self._replay(ids, self.wpe[start], *cache.step_views(start))
        cache.length = start + 1
        return logits

    def prefill(self, ids: Tensor, cache: KVCache) -> Tensor:
        """Logits (B, V) of the last of T tokens ids (B, T) that fill the cache from position
        0 (a prompt, or a restart from the last tokens); the cache then holds T positions.

        Restarts repeat the same T, so their kernels are replayed too (recorded the second
        time a shape comes). The T keys and values are attended as computed, then stored."""
        T = ids.shape[1]
        if T > self.block_size:
            raise ValueError(f"GPT: {T} tokens are more than block_size={self.block_size}")
        inputs = (ids, self.wpe.narrow(0, 0, T), *cache.prefill_views(T))
        shape = tuple(ids.shape)
        if shape not in self._prefills:
            # a shape seen once (a prompt's, say) runs op by op: recording costs more, and
            # only a shape seen again (a restart's) is likely to come back
            if len(self._prefills) >= 64:
                self._prefills.clear()
            self._prefills[shape] = None
            logits = self._prefill_forward(*inputs)
        else:
            replay = self._prefills[shape]
            if replay is None:
                replay = tg.kernel_replay(self._prefill_forward, watch=self._params)
                self._prefills[shape] = replay
            logits = replay(*inputs)
        cache.length = T
        return logits

    def _prefill_forward(self, ids: Tensor, pos: Tensor, *slots: Tensor) -> Tensor:
        """The model on T tokens from position 0: ids (B, T), pos (T, C) their position
        embeddings, each layer's (B, 2 nh, T, hs) slot of its cache (`prefill_views`)."""
        (B, T), C, nh = ids.shape, self.n_embd, self.n_head
        hs = C // nh
        x = F.embedding(ids, self.wte) + pos  # (B, T, C)
        for layer, slot in zip(self.layers, slots):
            ln_1, attn, proj, ln_2, fc, approximate, mlp_proj = layer
            qkv = F.linear(F.layer_norm(x, C, *ln_1), *attn)  # (B, T, 3C)
            heads = qkv.reshape(B, T, 3 * nh, hs).transpose(1, 2)  # (B, 3 nh, T, hs), a view
            slot.copy_(heads.narrow(1, nh, 2 * nh))  # keys and values, in place
            q, k, v = heads.split(nh, dim=1)  # 3 x (B, nh, T, hs)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, nh, T, hs)
            x = x + F.linear(y.transpose(1, 2).reshape(B, T, C), *proj)
            h = F.gelu(F.linear(F.layer_norm(x, C, *ln_2), *fc), approximate=approximate)
            x = x + F.linear(h, *mlp_proj)
        last = x.narrow(1, T - 1, 1).reshape(B, C)  # (B, C): only the last position's logits
        return F.linear(F.layer_norm(last, C, *self.ln_f), self.lm_head)  # (B, V)

    def _forward(self, ids: Tensor, pos: Tensor, *views: Tensor) -> Tensor:
        """The model for one new token per row: ids (B,), pos (C,) its position's embedding,
        and each layer's (slot, k, v) views of its cache (`LayerCache.step_views`)."""
        B, C, nh = ids.shape[0], self.n_embd, self.n_head
        hs = C // nh
        x = F.embedding(ids, self.wte) + pos  # (B, C)
        for i, layer in enumerate(self.layers):
            ln_1, attn, proj, ln_2, fc, approximate, mlp_proj = layer
            slot, k, v = views[3 * i : 3 * i + 3]
            qkv = F.linear(F.layer_norm(x, C, *ln_1), *attn).reshape(B, 3 * nh, 1, hs)
            slot.copy_(qkv.narrow(1, nh, 2 * nh))  # the new key and value: one write, in place
            y = F.scaled_dot_product_attention(qkv.narrow(1, 0, nh), k, v)  # (B, nh, 1, hs)
            x = x + F.linear(y.reshape(B, C), *proj)  # (B, nh, 1, hs) is (B, C) in memory
            h = F.gelu(F.linear(F.layer_norm(x, C, *ln_2), *fc), approximate=approximate)
            x = x + F.linear(h, *mlp_proj)
        return F.linear(F.layer_norm(x, C, *self.ln_f), self.lm_head)  # (B, V)


#: each model's DecodeStep, while the model lives (`DecodeStep.of`)
_STEPS: weakref.WeakKeyDictionary[Any, DecodeStep] = weakref.WeakKeyDictionary()


def _reads(model: GPT) -> tuple[Any, ...]:
    """Everything the step reads of a model: sizes, parameters and settings, as
    (n_head, n_embd, block_size, wte, wpe, ln_f, lm_head, layers)."""
    cfg = model.config
    t = model.transformer
    # per layer, every parameter the step reads, fetched once (module attribute lookups
    # cost as much as a small op)
    layers = [
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
    head = (cfg.n_head, cfg.n_embd, cfg.block_size, t.wte.weight, t.wpe.weight)
    return (*head, _norm(t.ln_f), model.lm_head.weight, layers)


def _flat(value: Any) -> list[Any]:
    """The leaves of nested tuples and lists."""
    if isinstance(value, (tuple, list)):
        return [leaf for item in value for leaf in _flat(item)]
    return [value]


def _same(a: Any, b: Any) -> bool:
    """Whether two `_reads` name the same tensors (by identity) and the same settings."""
    left, right = _flat(a), _flat(b)
    if len(left) != len(right):
        return False
    for x, y in zip(left, right):
        if isinstance(x, Tensor) or isinstance(y, Tensor):
            if x is not y:
                return False
        elif x != y:
            return False
    return True


def _norm(ln: Any) -> tuple[Tensor | None, Tensor | None, float]:
    """A LayerNorm's (weight, bias, eps), as F.layer_norm takes them."""
    return (ln.weight, ln.bias, ln.eps)
