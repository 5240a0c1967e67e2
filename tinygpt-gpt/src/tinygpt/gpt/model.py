"""GPT: a decoder-only transformer, laid out like nanoGPT so GPT-2 checkpoints' names fit.

    idx (B, T) int64
      -> wte(idx) + wpe(0..T-1)                     token + learned position embeddings
      -> n_layer x Block:  x + attn(ln_1(x));  x + mlp(ln_2(x))      pre-LayerNorm residuals
      -> ln_f -> lm_head (tied to wte)               logits (B, T, vocab_size)

Parameter names are nanoGPT's / GPT-2's: `transformer.wte.weight`, `transformer.h.0.ln_1`,
`transformer.h.0.attn.c_attn`, `...attn.c_proj`, `...mlp.c_fc`, `...mlp.c_proj`,
`transformer.ln_f`, `lm_head.weight` (the same Parameter as `transformer.wte.weight`).

Attention, layer norm, GELU and cross-entropy go through `tinygpt.nn.functional`, which runs a
backend's fused kernel when it has one (core decides, in `tinygpt/ops/dispatch.py`).

>>> import tinygpt as tg
>>> from tinygpt.gpt import GPT, GPTConfig
>>> _ = tg.manual_seed(0)
>>> model = GPT(GPTConfig.preset("nano", vocab_size=11))
>>> logits, loss = model(tg.tensor([[1, 2, 3]]), targets=tg.tensor([[2, 3, 4]]))
>>> logits.shape, loss.shape
((1, 3, 11), ())
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any

import tinygpt as tg
import tinygpt.nn.functional as F
from tinygpt import Tensor, nn

from .config import GPTConfig
from .nanogpt_api import NanoGPTMethods

if TYPE_CHECKING:
    from .kv_cache import KVCache, LayerCache

__all__ = ["GPT", "Block", "CausalSelfAttention", "MLP"]


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where position t sees positions 0..t only."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.dropout = config.dropout
        # one matmul makes q, k and v for every head: (B, T, C) -> (B, T, 3C)
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x: Tensor, cache: LayerCache | None = None, start: int = 0) -> Tensor:
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)  # 3 x (B, T, C)
        q = q.reshape(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = k.reshape(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        v = v.reshape(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        if cache is not None:
            # the keys and values of every earlier position, kept from previous calls
            k, v = cache.update(k, v, start)  # (B, nh, start + T, hs)
        p = self.dropout if self.training else 0.0
        y = _causal_attention(q, k, v, p)  # (B, nh, T, hs)
        y = y.transpose(1, 2).reshape(B, T, C)  # re-assemble the heads side by side
        return self.resid_dropout(self.c_proj(y))


def _causal_attention(q: Tensor, k: Tensor, v: Tensor, dropout_p: float) -> Tensor:
    """Each query sees its own position and the ones before it.  (B, nh, T, hs) queries,
    (B, nh, Tk, hs) keys and values -> (B, nh, T, hs).

    subtle: with a cache, T queries meet Tk = start + T keys and query i sits at position
    start + i. PyTorch's `is_causal` aligns the mask top-left, which is right only when
    T == Tk; one new token (T == 1) sees every key, and a longer chunk needs the mask aligned
    bottom-right, passed explicitly.
    """
    T, Tk = q.shape[2], k.shape[2]
    if T == Tk or T == 1:
        return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=T > 1)
    rows = tg.arange(T, device=q.device).reshape(T, 1) + (Tk - T)
    allowed = tg.arange(Tk, device=q.device).reshape(1, Tk) <= rows  # (T, Tk)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, dropout_p=dropout_p)


class MLP(nn.Module):
    """Position-wise feed-forward: expand 4x, GELU, project back.  (B, T, C) -> (B, T, C)."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        # GPT-2's own GELU is the tanh approximation (HF's "gelu_new"); nanoGPT trains with
        # the exact erf form. A checkpoint reproduces only under the form it was trained with.
        if config.gelu == "exact":
            self.gelu = nn.GELU()
        else:
            self.gelu = nn.GELU(approximate="tanh")
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """One transformer layer: attention then MLP, each on a LayerNorm'd copy, added back."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: Tensor, cache: LayerCache | None = None, start: int = 0) -> Tensor:
        x = x + self.attn(self.ln_1(x), cache, start)
        return x + self.mlp(self.ln_2(x))


class GPT(NanoGPTMethods, nn.Module):
    """The GPT language model: `logits, loss = model(idx, targets=None)`.

    Also has nanoGPT's `configure_optimizers`, `crop_block_size`, `get_num_params` and
    `estimate_mfu` (see nanogpt_api.py)."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(config.vocab_size, config.n_embd),
                wpe=nn.Embedding(config.block_size, config.n_embd),
                drop=nn.Dropout(config.dropout),
                h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                ln_f=nn.LayerNorm(config.n_embd, bias=config.bias),
            )
        )
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        # weight tying: reading a token in and writing it out use one matrix (Press & Wolf,
        # 2017); it saves vocab_size * n_embd parameters and trains better on small data
        self.lm_head.weight = self.transformer.wte.weight
        self.apply(self._init_weights)
        # GPT-2's scaled init: each block adds two projections into the residual stream, so
        # their std is divided by sqrt(2 * n_layer) to keep the stream's variance ~constant
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_params(self, non_embedding: bool = True) -> int:
        """Parameter count; by default without the position embeddings (as nanoGPT reports).

        The token embeddings stay in: they are the LM head's weights too.
        """
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n -= self.transformer.wpe.weight.numel()
        return n

    def forward(
        self,
        idx: Tensor,
        targets: Tensor | None = None,
        *,
        kv_cache: KVCache | None = None,
        last_only: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """idx (B, T) int64 -> logits (B, T, vocab_size), and the mean cross-entropy against
        `targets` (B, T) when given (targets of -1 are ignored).

        `kv_cache` continues from the positions it holds (generation); `last_only` computes
        logits for the last position only, which is all sampling needs.
        """
        B, T = idx.shape
        start = 0 if kv_cache is None else kv_cache.length
        if start + T > self.config.block_size:
            raise ValueError(
                f"GPT: a sequence of {start + T} tokens is longer than block_size="
                f"{self.config.block_size}; crop the input to its last {self.config.block_size}"
            )
        pos = tg.arange(start, start + T, dtype=tg.int64, device=idx.device)  # (T,)
        tok_emb = self.transformer.wte(idx)  # (B, T, C)
        pos_emb = self.transformer.wpe(pos)  # (T, C), broadcast over the batch
        x = self.transformer.drop(tok_emb + pos_emb)
        for i, block in enumerate(self.transformer.h):
            layer_cache = None if kv_cache is None else kv_cache.layers[i]
            x = block(x, layer_cache, start)
        if kv_cache is not None:
            kv_cache.length = start + T
        x = self.transformer.ln_f(x)
        if last_only:
            x = x[:, T - 1 :, :]  # (B, 1, C)
        logits = self.lm_head(x)  # (B, T, vocab_size)
        if targets is None:
            return logits, None
        V = logits.shape[-1]
        loss = F.cross_entropy(logits.reshape(B * T, V), targets.reshape(B * T), ignore_index=-1)
        return logits, loss

    @classmethod
    def from_pretrained(
        cls, path: str | os.PathLike[str], *, device: Any = None, dropout: float = 0.0
    ) -> GPT:
        """A GPT-2 checkpoint in the Hugging Face layout, from the local folder `path`
        (`config.json` + `model.safetensors`); see `pretrained.py`. Nothing is downloaded.

        The model comes back in eval mode, with GPT-2's tanh GELU (or the exact one when
        config.json says "gelu"); `dropout` is for fine-tuning.
        """
        from .pretrained import load_gpt2

        return load_gpt2(path, device=device, dropout=dropout)

    def generate(self, idx: Tensor, max_new_tokens: int, **options: Any) -> Tensor:
        """Continue `idx` (B, T) by `max_new_tokens` sampled tokens; see `generate.generate`
        for the options (temperature, top_k, top_p, stop_token, seed, use_cache)."""
        from .generate import generate

        return generate(self, idx, max_new_tokens, **options)
