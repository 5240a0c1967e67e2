"""BPETokenizer: GPT-2 style byte-level byte-pair encoding.

Text is cut into pre-tokens by GPT-2's pattern (or GPT-4's: `pattern="gpt4"`, see
`pretokenize.py`), each pre-token is turned into its UTF-8 bytes (ids 0..255), and learned
merges fuse adjacent ids into new ones (merge i makes id 256 + i), lowest-numbered merge
first, exactly as they were learned. Because every string is bytes, any text encodes and
decodes back unchanged: there is no unknown token. Special tokens (`<|endoftext|>`) take the
ids after the merges.

A trained tokenizer gives byte b the id b. GPT-2's own files number the 256 bytes in another
order (printable characters first); `byte_ids` holds that order, and `from_gpt2` reads it
with the merges from `vocab.json` and `merges.txt` (`gpt2_files.py`), so ids match GPT-2's.

>>> tok = BPETokenizer().train("low lower lowest " * 20, vocab_size=260)
>>> tok.vocab_size, tok.decode(tok.encode("lowest"))
(260, 'lowest')
>>> tok.encode("<|endoftext|>", allowed_special="all")
[259]
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .base import ENDOFTEXT, Tokenizer, TokenizerError
from .bpe_train import Pair, learn_merges, merge_pair
from .gpt2_files import read_gpt2_files
from .pretokenize import PATTERNS, compiled_pattern, pre_split

__all__ = ["BPETokenizer"]

_BYTES = 256
_IDENTITY = tuple(range(_BYTES))


class BPETokenizer(Tokenizer):
    """Byte-level BPE with GPT-2 pre-splitting. `train(text, vocab_size)` learns the merges.

    `pattern` picks the pre-split rule: "gpt2" (the default) or "gpt4" (tiktoken's
    cl100k_base). `byte_ids[b]` is the id of byte b (default: b itself), a permutation of
    0..255.
    """

    type_name = "bpe"

    def __init__(
        self,
        merges: Sequence[Pair] = (),
        special_tokens: Sequence[str] = (ENDOFTEXT,),
        *,
        pattern: str = "gpt2",
        byte_ids: Sequence[int] | None = None,
    ) -> None:
        super().__init__(special_tokens)
        if pattern not in PATTERNS:
            raise TokenizerError(
                f"BPETokenizer: unknown pattern {pattern!r}; choose one of {', '.join(PATTERNS)}"
            )
        self.pattern = pattern
        self._pattern_re = compiled_pattern(pattern)
        self._set_merges(merges, byte_ids)

    @classmethod
    def from_gpt2(cls, path: str | os.PathLike[str]) -> BPETokenizer:
        """GPT-2's tokenizer from a folder holding its `vocab.json` and `merges.txt`.

        Token ids, pre-splitting and merges are GPT-2's, so `encode` gives the ids GPT-2's
        own tokenizer gives; `<|endoftext|>` is a special token (id 50256 for GPT-2).
        Nothing is downloaded: the files must be on disk.
        """
        byte_ids, merges, special_tokens = read_gpt2_files(path)
        return cls(merges, special_tokens, byte_ids=byte_ids)

    def _set_merges(self, merges: Sequence[Pair], byte_ids: Sequence[int] | None = None) -> None:
        self.byte_ids = _checked_byte_ids(byte_ids)
        # bytes.translate maps every byte of a pre-token to its id in one C call
        self._byte_table = bytes(self.byte_ids)
        self.merges: list[Pair] = [(int(a), int(b)) for a, b in merges]
        self.ranks: dict[Pair, int] = {}
        self.vocab: list[bytes] = [b""] * _BYTES
        for byte, token_id in enumerate(self.byte_ids):
            self.vocab[token_id] = bytes([byte])
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
        Training starts from the plain byte order (byte b has id b) and keeps the pattern.
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
            words.update(pre_split(part, self.pattern))
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
        for chunk in self._pattern_re.findall(text):
            cached = cache.get(chunk)
            if cached is None:
                cached = self._encode_chunk(chunk.encode("utf-8", "surrogatepass"))
                if len(cache) < 1_000_000:  # NOTE: bounds memory on endless novel text
                    cache[chunk] = cached
            ids.extend(cached)
        return ids

    def _encode_chunk(self, data: bytes) -> list[int]:
        """Apply the merges to one pre-token, the earliest-learned pair first."""
        ids = list(data.translate(self._byte_table))
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
        # the pattern is stored as its `regex` source, which other tools can read
        fields: dict[str, Any] = {"pattern": PATTERNS[self.pattern]}
        if self.byte_ids != _IDENTITY:
            fields["byte_ids"] = list(self.byte_ids)
        fields["merges"] = [list(pair) for pair in self.merges]
        return fields

    def _format_version(self) -> int:
        # NOTE: version 1 readers ignore "byte_ids" and know only GPT-2's pattern, so a file
        # that uses either must be refused by them, not misread
        return 1 if self.byte_ids == _IDENTITY and self.pattern == "gpt2" else 2

    @classmethod
    def _from_fields(cls, fields: dict[str, Any], special_tokens: list[str]) -> BPETokenizer:
        source = fields.get("pattern", PATTERNS["gpt2"])
        names = [name for name, known in PATTERNS.items() if known == source]
        if not names:
            raise TokenizerError(
                f"this tokenizer file uses a pre-split pattern tinygpt does not know "
                f"({source!r}); known: {', '.join(PATTERNS)}"
            )
        merges = [tuple(pair) for pair in fields.get("merges", [])]
        byte_ids = fields.get("byte_ids")
        return cls(merges, special_tokens, pattern=names[0], byte_ids=byte_ids)

    def __repr__(self) -> str:
        size, special = self.vocab_size, self.special_names
        return f"BPETokenizer(vocab_size={size}, pattern={self.pattern!r}, special={special})"


def _checked_byte_ids(byte_ids: Sequence[int] | None) -> tuple[int, ...]:
    """`byte_ids` as a tuple, checked to number the 256 bytes 0..255 once each."""
    if byte_ids is None:
        return _IDENTITY
    ids = tuple(int(i) for i in byte_ids)
    if sorted(ids) != list(_IDENTITY):
        raise TokenizerError(
            f"BPETokenizer: byte_ids must give the 256 bytes the ids 0..255, each once; "
            f"got {len(ids)} ids from {min(ids, default=None)} to {max(ids, default=None)}"
        )
    return ids


def _decode_utf8(data: bytes) -> str:
    # subtle: "surrogatepass" first, so lone surrogates that encode() let through come back
    # unchanged; bytes that are not UTF-8 at all (a sequence cut mid-character) get U+FFFD
    try:
        return data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace")
