"""CharTokenizer: one token per character, the vocabulary being the characters of the text.

The ids are the sorted characters, as in nanoGPT's `shakespeare_char` (65 tokens for tiny
Shakespeare), followed by any special tokens.

>>> tok = CharTokenizer().train("hello world")
>>> tok.vocab_size, tok.encode("hello")
(8, [3, 2, 4, 4, 5])
>>> tok.decode(tok.encode("low"))
'low'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .base import Tokenizer, TokenizerError

__all__ = ["CharTokenizer"]


class CharTokenizer(Tokenizer):
    """Character-level tokenizer: `train(text)` takes the text's distinct characters."""

    type_name = "char"

    def __init__(self, chars: str = "", special_tokens: Sequence[str] = ()) -> None:
        super().__init__(special_tokens)
        self._set_chars(chars)

    def _set_chars(self, chars: str) -> None:
        self.chars = "".join(sorted(set(chars)))
        self.stoi = {c: i for i, c in enumerate(self.chars)}
        self._assign_special_ids()

    @property
    def base_vocab_size(self) -> int:
        return len(self.chars)

    def train(self, text: str, vocab_size: int | None = None) -> CharTokenizer:
        """Take the vocabulary from `text`; `vocab_size`, if given, is only checked."""
        self._set_chars(text)
        if vocab_size is not None and vocab_size != self.vocab_size:
            raise TokenizerError(
                f"CharTokenizer.train: the text has {self.vocab_size} distinct tokens, "
                f"not vocab_size={vocab_size}; leave vocab_size out for character tokenizers"
            )
        return self

    def _encode_ordinary(self, text: str) -> list[int]:
        try:
            return [self.stoi[c] for c in text]
        except KeyError:
            missing = sorted(set(text) - set(self.stoi))
            shown = "".join(missing[:20])
            raise TokenizerError(
                f"encode: {len(missing)} character(s) are not in this character vocabulary: "
                f"{shown!r}; a character tokenizer knows only the characters it was trained on"
            ) from None

    def decode(self, ids: Iterable[int]) -> str:
        out = []
        for i in ids:
            i = int(i)
            if i < len(self.chars) and i >= 0:
                out.append(self.chars[i])
            else:
                self._check_id(i)
                out.append(self._special_by_id[i])
        return "".join(out)

    def _fields(self) -> dict[str, Any]:
        return {"chars": self.chars}

    @classmethod
    def _from_fields(cls, fields: dict[str, Any], special_tokens: list[str]) -> CharTokenizer:
        return cls(str(fields.get("chars", "")), special_tokens)
