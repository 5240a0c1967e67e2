"""Token streams and batches: the corpus encoded once, random windows cut from it.

A batch is `batch_size` windows of `block_size + 1` consecutive tokens at random offsets:
`x` is each window without its last token, `y` without its first, so the model learns to
predict every next token at once. Offsets come from a generator seeded by (seed, step,
micro-step), never from a running random state: a resumed run draws exactly the batches the
uninterrupted run would have drawn, whatever happened in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import tinygpt as tg

from .corpus import Corpus, CorpusError, split
from .tokenizers import BPETokenizer, CharTokenizer, Tokenizer

__all__ = ["TokenData", "batch_offsets", "eval_offsets", "get_batch", "make_tokenizer"]

#: BPE is trained on at most this many characters: merges are learned from the frequent
#: words, which a few megabytes already show; more text only makes training slower
BPE_TRAIN_CHARS = 2_000_000


@dataclass
class TokenData:
    """The train and validation token ids (int64 numpy arrays) of a corpus."""

    train: np.ndarray
    val: np.ndarray

    @classmethod
    def encode(cls, corpus: Corpus, tokenizer: Tokenizer, val_fraction: float) -> TokenData:
        train_text, val_text = split(corpus.text, val_fraction)
        # "all": a corpus may separate its documents with <|endoftext|>
        train = np.array(tokenizer.encode(train_text, allowed_special="all"), dtype=np.int64)
        val = np.array(tokenizer.encode(val_text, allowed_special="all"), dtype=np.int64)
        return cls(train, val)

    def check_block_size(self, block_size: int, name: str) -> None:
        """Each split needs at least one window of block_size + 1 tokens."""
        # NOTE: the hint fits the shorter split, so the block size it names works first time
        fits = min(len(self.train), len(self.val)) - 1
        fix = f"use more text or --block-size {fits} or less" if fits >= 1 else "use more text"
        for label, ids in (("training", self.train), ("validation", self.val)):
            if len(ids) < block_size + 1:
                raise CorpusError(
                    f"block size {block_size} is larger than the corpus: the {label} split of "
                    f"{name} has only {len(ids)} tokens; {fix}"
                )


def make_tokenizer(kind: str, corpus: Corpus, val_fraction: float, vocab_size: int) -> Tokenizer:
    """A new tokenizer for `corpus`: "char" or "bpe" (with `vocab_size`).

    NOTE: a character vocabulary is taken from the whole text: a character that only the
    validation split uses would otherwise make it unencodable. BPE learns its merges from the
    training split only; being byte-level, it can encode any validation text anyway.
    """
    if kind == "char":
        return CharTokenizer().train(corpus.text)
    train_text, _ = split(corpus.text, val_fraction)
    return BPETokenizer().train(train_text[:BPE_TRAIN_CHARS], vocab_size)


def batch_offsets(n_tokens: int, block_size: int, batch_size: int, seed: Any) -> np.ndarray:
    """`batch_size` random window starts in [0, n_tokens - block_size - 1], from `seed`.

    `seed` is anything numpy accepts as a seed sequence, e.g. [seed, step, micro_step].
    """
    rng = np.random.default_rng(seed)
    return rng.integers(0, n_tokens - block_size, size=batch_size)


def eval_offsets(n_tokens: int, block_size: int, count: int) -> np.ndarray:
    """`count` window starts spread evenly over the split: the same windows at every
    evaluation, so validation losses are comparable from one eval to the next."""
    last = n_tokens - block_size - 1
    return np.linspace(0, last, num=count).round().astype(np.int64)


def get_batch(
    ids: np.ndarray, offsets: np.ndarray, block_size: int, device: Any = None
) -> tuple[tg.Tensor, tg.Tensor]:
    """(x, y) int64 tensors of shape (len(offsets), block_size); y is x shifted by one."""
    windows = np.stack([ids[o : o + block_size + 1] for o in offsets])  # (B, T+1)
    x = tg.tensor(windows[:, :-1], dtype=tg.int64, device=device)  # (B, T)
    y = tg.tensor(windows[:, 1:], dtype=tg.int64, device=device)  # (B, T)
    return x, y
