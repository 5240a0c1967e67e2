"""Sampling text from a GPT, one token per model step, with a key/value cache.

Without a cache, each new token re-runs the model over the whole context: N tokens cost
O(N) full passes. With one, each layer keeps the keys and values it computed for earlier
positions (they never change: attention is causal), so each step runs the model on the
newest token only and attends over the cached keys.

When the text outgrows `block_size` (the model has no position embedding past it), the
cache restarts from the last `block_size // 2` tokens: one re-read of half a block every
half block keeps the cost linear. (nanoGPT instead re-reads the last full block at every
step.) Within the first `block_size` tokens, cached and uncached sampling agree exactly.

A stock GPT runs through its `DecodeStep` (kv_cache.py): the prompt and each restart are one
prefill, each new token one step, on kernels recorded once and replayed; the step is kept
with the model between calls, and each sampling loop borrows a cache of its own.

Sampling is done on the host from float64 probabilities with a numpy generator, so a seed
gives the same text on every backend that computes the same logits.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

import tinygpt as tg
from tinygpt import Tensor

from .kv_cache import DecodeStep, KVCache, LayerCache

if TYPE_CHECKING:
    from .model import GPT

__all__ = ["KVCache", "LayerCache", "generate", "generate_stream", "sample_next"]


def sample_next(
    logits: np.ndarray,
    rng: np.random.Generator,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
) -> np.ndarray:
    """One token id per row of `logits` (B, V): (B,) int64.

    temperature 0 is greedy (argmax); top_k keeps the k most likely tokens; top_p keeps the
    smallest set of most likely tokens whose probability adds up to at least top_p.

    >>> rng = np.random.default_rng(0)
    >>> sample_next(np.array([[0.0, 5.0, 1.0]]), rng, temperature=0).tolist()
    [1]
    """
    logits = np.asarray(logits, dtype=np.float64)
    if temperature == 0:
        return logits.argmax(axis=-1).astype(np.int64)
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = np.sort(logits, axis=-1)[:, -top_k][:, None]  # (B, 1): the k-th largest
        logits = np.where(logits < kth, -np.inf, logits)
    # subtract the max before exp so that large logits cannot overflow
    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    if top_p is not None and top_p < 1.0:
        probs = _nucleus(probs, top_p)
    # inverse-CDF sampling: one uniform number per row, so a seed fixes the whole text
    cdf = probs.cumsum(axis=-1)
    u = rng.random((probs.shape[0], 1)) * cdf[:, -1:]
    return np.minimum((cdf < u).sum(axis=-1), probs.shape[-1] - 1).astype(np.int64)


def _nucleus(probs: np.ndarray, top_p: float) -> np.ndarray:
    """Zero the unlikely tail outside the top_p nucleus and renormalize.  (B, V) -> (B, V)."""
    order = np.argsort(-probs, axis=-1, kind="stable")
    sorted_probs = np.take_along_axis(probs, order, axis=-1)
    # a token is dropped when the tokens before it already hold top_p of the mass;
    # the most likely token is therefore always kept
    before = sorted_probs.cumsum(axis=-1) - sorted_probs
    sorted_probs = np.where(before >= top_p, 0.0, sorted_probs)
    kept = np.zeros_like(probs)
    np.put_along_axis(kept, order, sorted_probs, axis=-1)
    return kept / kept.sum(axis=-1, keepdims=True)


def generate_stream(
    model: GPT,
    idx: Tensor,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    stop_token: int | None = None,
    seed: int | None = None,
    use_cache: bool = True,
) -> Iterator[np.ndarray]:
    """Yield the next token of every row, (B,) int64 arrays, up to `max_new_tokens` times.

    Stops early once every row has produced `stop_token` (a finished row repeats it).
    The model is put in eval mode while sampling and restored afterwards.
    """
    if idx.ndim != 2 or idx.shape[1] == 0:
        raise ValueError(f"generate: idx must be (B, T) with T >= 1, got {idx.shape}")
    # no seed: draw one from tg's generator, so tg.manual_seed fixes the text too
    rng = np.random.default_rng(tg.next_seed() if seed is None else seed)
    block_size = model.config.block_size
    tokens = idx.numpy().astype(np.int64)  # (B, T): the host copy that decides the context
    finished = np.zeros(tokens.shape[0], dtype=bool)
    was_training = model.training
    model.eval()
    step = None
    try:
        # NOTE: no `with tg.no_grad():` around this loop: a generator suspended at `yield`
        # would leave gradients off for its caller (and two loops at once would restore
        # each other's mode); each model call turns them off itself (`_Stepper`)
        step = _Stepper(model, idx.device, tokens.shape[0], use_cache)
        logits = step.restart(tokens[:, -block_size:])
        for count in range(1, max_new_tokens + 1):
            ids, next_ids = _pick(logits, rng, temperature, top_k, top_p)
            if stop_token is not None:
                next_ids = np.where(finished, stop_token, next_ids)
                finished |= next_ids == stop_token
                ids = None  # the device copy may differ now: make a fresh one
            tokens = np.concatenate([tokens, next_ids[:, None]], axis=1)
            yield next_ids
            if finished.all() or count == max_new_tokens:
                return  # (no model step for a token nobody will sample)
            if not use_cache or step.cache_full():
                logits = step.restart(tokens[:, -_context(block_size, use_cache) :])
            else:
                logits = step.advance(next_ids, ids)
    finally:
        if step is not None:
            step.close()
        model.train(was_training)


def _context(block_size: int, use_cache: bool) -> int:
    # uncached: the last full block, as nanoGPT; cached: half a block, see the module docstring
    return block_size if not use_cache else max(block_size // 2, 1)


def _pick(
    logits: Tensor, rng: np.random.Generator, temperature: float, top_k: Any, top_p: Any
) -> tuple[Tensor | None, np.ndarray]:
    """The next ids from logits (B, V) on the device: (device ids or None, host ids (B,)).

    Greedy picks on the device and reads back only the ids (the same first-maximum argmax
    as on the host); sampling reads the logits back and draws on the host, in float64.
    """
    if temperature == 0:
        ids = logits.argmax(-1)  # (B,) int64
        return ids, ids.numpy().astype(np.int64)
    return None, sample_next(logits.numpy(), rng, temperature, top_k, top_p)


class _Stepper:
    """Runs the model for sampling: a fresh context (`restart`) or one more token (`advance`),
    each giving the logits of the last position, (B, V) on the device."""

    def __init__(self, model: GPT, device: Any, batch: int, use_cache: bool) -> None:
        self.model = model
        self.device = device
        dtype = model.transformer.wte.weight.dtype
        self.fast = DecodeStep.of(model) if use_cache else None
        self.cache: KVCache | None = None
        if self.fast is not None:
            self.cache = self.fast.borrow(batch, device, dtype)
        elif use_cache:
            self.cache = KVCache(model.config, batch, device, dtype)

    def close(self) -> None:
        """The loop is over: its cache may serve the next one."""
        if self.fast is not None and self.cache is not None:
            self.fast.give_back(self.cache)
            self.cache = None

    def cache_full(self) -> bool:
        return self.cache is not None and self.cache.length >= self.model.config.block_size

    def restart(self, context: np.ndarray) -> Tensor:
        with tg.no_grad():
            if self.cache is None:
                return self._run(context)
            self.cache.length = 0
            if self.fast is None:
                return self._run(context)
            ids = tg.tensor(context, dtype=tg.int64, device=self.device)  # (B, T)
            return self.fast.prefill(ids, self.cache)  # (B, V)

    def advance(self, next_ids: np.ndarray, on_device: Tensor | None = None) -> Tensor:
        with tg.no_grad():
            if self.fast is None or self.cache is None:
                return self._run(next_ids[:, None])
            if on_device is None:
                on_device = tg.tensor(next_ids, dtype=tg.int64, device=self.device)
            return self.fast(on_device, self.cache)  # (B, V)

    def _run(self, ids: np.ndarray) -> Tensor:
        x = tg.tensor(ids, dtype=tg.int64, device=self.device)  # (B, T)
        logits, _ = self.model(x, kv_cache=self.cache, last_only=True)  # (B, 1, V)
        return logits[:, 0, :]  # (B, V)


def generate(model: GPT, idx: Tensor, max_new_tokens: int, **options: Any) -> Tensor:
    """`idx` (B, T) followed by up to `max_new_tokens` sampled tokens: (B, T + n) int64.

    Options: temperature (1.0; 0 = greedy), top_k, top_p, stop_token, seed, use_cache (True).

    >>> import tinygpt as tg
    >>> from tinygpt.gpt import GPT, GPTConfig
    >>> model = GPT(GPTConfig.preset("nano", vocab_size=10))
    >>> model.generate(tg.tensor([[1, 2]]), 5, seed=0).shape
    (1, 7)
    """
    new = list(generate_stream(model, idx, max_new_tokens, **options))
    if not new:
        return idx
    columns = tg.tensor(np.stack(new, axis=1), dtype=tg.int64, device=idx.device)  # (B, n)
    return tg.cat([idx.to(tg.int64), columns], dim=1)
