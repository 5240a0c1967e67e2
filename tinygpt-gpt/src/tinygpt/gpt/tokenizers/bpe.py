"""BPETokenizer: GPT-2 style byte-level byte-pair encoding.

Text is cut into pre-tokens by GPT-2's pattern (`pretokenize.py`), each pre-token is turned
into its UTF-8 bytes (ids 0..255), and learned merges fuse adjacent ids into new ones
(merge i makes id 256 + i), lowest-numbered merge first, exactly as they were learned.
Because every string is bytes, any text encodes and decodes back unchanged: there is no
unknown token. Special tokens (`<|endoftext|>`) take the ids after the merges.

>>> tok = BPETokenizer().train("low lower lowest " * 20, vocab_size=260)
>>> tok.vocab_size, tok.decode(tok.encode("lowest"))
(260, 'lowest')
>>> tok.encode("<|endoftext|>", allowed_special="all")
[259]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .base import ENDOFTEXT, Tokenizer, TokenizerError
from .bpe_train import Pair, learn_merges, merge_pair
from .pretokenize import GPT2_PATTERN, pre_split

__all__ = ["BPETokenizer"]

_BYTES = 256


class BPETokenizer(Tokenizer):
    """Byte-level BPE with GPT-2 pre-splitting. `train(text, vocab_size)` learns the merges."""

    type_name = "bpe"

    def __init__(
        self, merges: Sequence[Pair] = (), special_tokens: Sequence[str] = (ENDOFTEXT,)
    ) -> None:
        super().__init__(special_tokens)
        self._set_merges(merges)

    def _set_merges(self, merges: Sequence[Pair]) -> None:
        self.merges: list[Pair] = [(int(a), int(b)) for a, b in merges]
        self.ranks: dict[Pair, int] = {}
        self.vocab: list[bytes] = [bytes([i]) for i in range(_BYTES)]
        for rank, (a, b) in enumerate(self.merges):
            if not (0 <= a < len(self.vocab) and 0 <= b < len(self.vocab)):
                raise TokenizerError(f"merge {rank} = ({a}, {b}) uses an id not defined before it")
            self.ranks[(a, b)] = rank
            self.vocab.append(self.vocab[a] + self.vocab[b])
        self._cache: dict[str, list[int]] = {}
        self._assign_special_ids()

    @property
    def base_vocab_size(self) -> int:
        return len(self.vocab)

    # ------------------------------------------------------------------ training
    def train(
        self,
        text: str,
        vocab_size: int,
        verbose: bool = False,
        progress: Callable[[int, Pair, int], None] | None = None,
    ) -> BPETokenizer:
        """Learn `vocab_size - 256 - len(special tokens)` merges from `text`; returns self.

        Special-token strings in `text` are cut out first, so they never take part in a merge.
        Stops early (with a smaller vocabulary) if the text runs out of pairs to merge.
        """
        num_merges = vocab_size - _BYTES - len(self.special_names)
        if num_merges < 0:
            raise TokenizerError(
                f"BPETokenizer.train: vocab_size={vocab_size} is smaller than the 256 byte "
                f"tokens plus {len(self.special_names)} special token(s)"
            )
        self._set_merges([])  # also resets the special-token split used just below
        words: Counter[str] = Counter()
        for part in self._split_special(text):
            words.update(pre_split(part))
        if verbose and progress is None:
            progress = self._print_merge
        self._set_merges(learn_merges(words, num_merges, _BYTES, progress))
        return self

    def _split_special(self, text: str) -> list[str]:
        if self._special_split is None:
            return [text]
        return self._special_split.split(text)[0::2]  # even parts are the ordinary text

    def _print_merge(self, rank: int, pair: Pair, count: int) -> None:
        merged = self.vocab[pair[0]] + self.vocab[pair[1]]
        print(f"merge {rank + 1}: {pair} -> {_BYTES + rank} {merged!r} ({count} occurrences)")

    # ------------------------------------------------------------------ encode / decode
    def _encode_ordinary(self, text: str) -> list[int]:
        ids: list[int] = []
        cache = self._cache
        for chunk in pre_split(text):
            cached = cache.get(chunk)
            if cached is None:
                cached = self._encode_chunk(chunk.encode("utf-8", "surrogatepass"))
                if len(cache) < 1_000_000:  # NOTE: bounds memory on endless novel text
                    cache[chunk] = cached
            ids.extend(cached)
        return ids

    def _encode_chunk(self, data: bytes) -> list[int]:
        """Apply the merges to one pre-token, the earliest-learned pair first."""
        ids = list(data)
        ranks = self.ranks
        while len(ids) >= 2:
            best_rank = -1
            for pair in zip(ids, ids[1:]):
                rank = ranks.get(pair, -1)
                if rank >= 0 and (best_rank < 0 or rank < best_rank):
                    best_rank = rank
            if best_rank < 0:
                break  # no pair of this pre-token was ever merged
            ids = merge_pair(ids, self.merges[best_rank], _BYTES + best_rank)
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """Ids -> text. A cut in the middle of a UTF-8 character decodes to U+FFFD."""
        return _decode_utf8(self.decode_bytes(ids))

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        """Ids -> the raw bytes they stand for (special tokens as their UTF-8 text)."""
        parts = []
        vocab = self.vocab
        for i in ids:
            i = int(i)
            if 0 <= i < len(vocab):
                parts.append(vocab[i])
            else:
                self._check_id(i)
                parts.append(self._special_by_id[i].encode("utf-8"))
        return b"".join(parts)

    # ------------------------------------------------------------------ files
    def _fields(self) -> dict[str, Any]:
        # the pattern is informational: this version always splits with GPT-2's rule
        return {"pattern": GPT2_PATTERN, "merges": [list(pair) for pair in self.merges]}

    @classmethod
    def _from_fields(cls, fields: dict[str, Any], special_tokens: list[str]) -> BPETokenizer:
        if fields.get("pattern", GPT2_PATTERN) != GPT2_PATTERN:
            raise TokenizerError("this tokenizer file uses a pre-split pattern other than GPT-2's")
        return cls([tuple(pair) for pair in fields.get("merges", [])], special_tokens)


def _decode_utf8(data: bytes) -> str:
    # subtle: "surrogatepass" first, so lone surrogates that encode() let through come back
    # unchanged; bytes that are not UTF-8 at all (a sequence cut mid-character) get U+FFFD
    try:
        return data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace")
