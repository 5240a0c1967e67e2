"""Tokenizers: text <-> token ids. `CharTokenizer` (one id per character) and `BPETokenizer`
(GPT-2 style byte-level BPE), both saved as versioned JSON and read back by `load_tokenizer`."""

from .base import ENDOFTEXT, Tokenizer, TokenizerError, load_tokenizer
from .bpe import BPETokenizer
from .char import CharTokenizer
from .pretokenize import pre_split

__all__ = [
    "BPETokenizer",
    "CharTokenizer",
    "ENDOFTEXT",
    "Tokenizer",
    "TokenizerError",
    "load_tokenizer",
    "pre_split",
]
