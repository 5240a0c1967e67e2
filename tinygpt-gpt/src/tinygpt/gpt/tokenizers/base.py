"""What every tokenizer shares: special tokens, the versioned JSON file, `load_tokenizer`.

A tokenizer file is one JSON object:

    {"format": "tinygpt-tokenizer", "version": 1, "type": "bpe", "special_tokens": {...}, ...}

`type` picks the class; the rest is that class's own fields. A file from a newer version is
refused with a message instead of being half-read.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

from .._files import write_text_atomic

__all__ = ["Tokenizer", "TokenizerError", "load_tokenizer", "ENDOFTEXT", "FORMAT", "VERSION"]

#: GPT-2's document separator
ENDOFTEXT = "<|endoftext|>"
FORMAT = "tinygpt-tokenizer"
#: the newest format version this code reads. A file is written with the lowest version that
#: holds it (`_format_version`), so files that need no new feature stay readable by older
#: tinygpt; version 2 adds a BPE tokenizer's byte order and pre-split pattern name.
VERSION = 2

AllowedSpecial = Literal["all", "none"] | Iterable[str]


class TokenizerError(ValueError):
    """A tokenizer file or an encode/decode argument that cannot be used."""


class Tokenizer:
    """Base class: text <-> token ids, with special tokens and JSON save/load.

    Subclasses implement `_encode_ordinary` (text with no special tokens -> ids),
    `_decode_bytes_or_text` and `_fields` / `_from_fields` for the file.
    """

    type_name: ClassVar[str] = ""
    _registry: ClassVar[dict[str, type[Tokenizer]]] = {}

    def __init__(self, special_tokens: Sequence[str] = ()) -> None:
        self.special_names: tuple[str, ...] = tuple(dict.fromkeys(special_tokens))
        self.special_tokens: dict[str, int] = {}  # filled by _assign_special_ids

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.type_name:
            Tokenizer._registry[cls.type_name] = cls

    # ------------------------------------------------------------------ vocabulary
    @property
    def base_vocab_size(self) -> int:
        """How many ids the ordinary (non-special) tokens use: ids 0 .. base_vocab_size-1."""
        raise NotImplementedError

    @property
    def vocab_size(self) -> int:
        return self.base_vocab_size + len(self.special_tokens)

    @property
    def eot_id(self) -> int | None:
        """The id of `<|endoftext|>`, or None when this tokenizer has no such token."""
        return self.special_tokens.get(ENDOFTEXT)

    def _assign_special_ids(self) -> None:
        # special tokens come right after the ordinary ones, in the order given
        first = self.base_vocab_size
        self.special_tokens = {name: first + i for i, name in enumerate(self.special_names)}
        self._special_by_id = {i: name for name, i in self.special_tokens.items()}
        names = sorted(self.special_tokens, key=len, reverse=True)  # longest match first
        self._special_split = (
            re.compile("(" + "|".join(re.escape(n) for n in names) + ")") if names else None
        )

    # ------------------------------------------------------------------ encode / decode
    def encode(self, text: str, allowed_special: AllowedSpecial = "none") -> list[int]:
        """Text -> token ids.

        `allowed_special="all"` turns special-token strings (`<|endoftext|>`) into their ids;
        with "none" (the default) they are encoded as ordinary text, so user text can never
        smuggle in a control token. A set of names allows just those.
        """
        allowed = self._allowed(allowed_special)
        if not allowed:
            return self._encode_ordinary(text)
        assert self._special_split is not None
        ids: list[int] = []
        for i, part in enumerate(self._special_split.split(text)):
            # re.split with one group: odd parts are the separators (special tokens)
            if i % 2 == 1 and part in allowed:
                ids.append(self.special_tokens[part])
            elif part:
                ids.extend(self._encode_ordinary(part))
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """Token ids -> text. Unknown ids raise TokenizerError."""
        raise NotImplementedError

    def _allowed(self, allowed_special: AllowedSpecial) -> set[str]:
        if allowed_special == "none":
            return set()
        if allowed_special == "all":
            return set(self.special_tokens)
        allowed = set(allowed_special)
        unknown = allowed - set(self.special_tokens)
        if unknown:
            raise TokenizerError(
                f"encode: unknown special tokens {sorted(unknown)}; "
                f"this tokenizer has {sorted(self.special_tokens)}"
            )
        return allowed

    def _encode_ordinary(self, text: str) -> list[int]:
        raise NotImplementedError

    def _check_id(self, i: int) -> None:
        if not 0 <= i < self.vocab_size:
            raise TokenizerError(
                f"decode: token id {i} is outside the vocabulary 0..{self.vocab_size - 1}"
            )

    # ------------------------------------------------------------------ files
    def _fields(self) -> dict[str, Any]:
        raise NotImplementedError

    def _format_version(self) -> int:
        """The lowest file format version that can hold this tokenizer."""
        return 1

    @classmethod
    def _from_fields(cls, fields: dict[str, Any], special_tokens: list[str]) -> Tokenizer:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """Everything needed to rebuild this tokenizer, as JSON-ready data."""
        return {
            "format": FORMAT,
            "version": self._format_version(),
            "type": self.type_name,
            "special_tokens": self.special_tokens,
            **self._fields(),
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the tokenizer as JSON, atomically (temp file + rename)."""
        write_text_atomic(Path(path), json.dumps(self.to_dict(), ensure_ascii=False))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Tokenizer:
        """Read a tokenizer saved by `save` (any subclass; `cls` only checks the type)."""
        tokenizer = load_tokenizer(path)
        if not isinstance(tokenizer, cls):
            raise TokenizerError(
                f"{path} holds a {tokenizer.type_name} tokenizer, not {cls.__name__}"
            )
        return tokenizer

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocab_size={self.vocab_size}, special={self.special_names})"


def from_dict(data: dict[str, Any], where: str = "tokenizer") -> Tokenizer:
    """Rebuild a tokenizer from `Tokenizer.to_dict()` data."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise TokenizerError(f"{where} is not a tinygpt tokenizer file (no format {FORMAT!r})")
    version = data.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise TokenizerError(
            f"{where} has tokenizer format version {version!r}; this tinygpt reads up to "
            f"{VERSION}: upgrade tinygpt-gpt"
        )
    cls = Tokenizer._registry.get(data.get("type", ""))
    if cls is None:
        known = ", ".join(sorted(Tokenizer._registry))
        raise TokenizerError(f"{where}: unknown tokenizer type {data.get('type')!r} ({known})")
    specials = sorted(data.get("special_tokens", {}).items(), key=lambda item: item[1])
    tokenizer = cls._from_fields(data, [name for name, _ in specials])
    if tokenizer.special_tokens != dict(specials):
        raise TokenizerError(f"{where}: special token ids do not match the vocabulary")
    return tokenizer


def load_tokenizer(path: str | os.PathLike[str]) -> Tokenizer:
    """Read a tokenizer JSON file written by `Tokenizer.save`, whatever its type."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise TokenizerError(f"{path} is not valid JSON: {error}") from error
    return from_dict(data, where=str(path))
