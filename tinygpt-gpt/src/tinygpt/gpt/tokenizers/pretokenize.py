"""GPT-2's pre-split: cut text into words, numbers, punctuation runs and spaces before BPE.

BPE merges never cross these boundaries, so " dog" and "dog." share the token for " dog"
instead of learning one token per punctuation variant. GPT-2 writes the rule with the
third-party `regex` module's Unicode classes:

    's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+

The standard library's `re` has no `\\p{...}`, so this file builds the same classes from
what `re` has. `\\w` is exactly letters (L*), numbers (N*) and `_`, and `\\d` is the decimal
digits (Nd), so:

- a letter `\\p{L}` is `[^\\W\\d_]` minus the other numbers (No: "½", "²"; Nl: "Ⅻ"),
- a number `\\p{N}` is `\\d` plus those other numbers,
- "anything else" `[^\\s\\p{L}\\p{N}]` is `[^\\s\\w]` plus `_`,
- and whitespace is spelled out: `re`'s `\\s` also matches the separators U+001C..U+001F,
  which are not Unicode White_Space and so not `\\s` for `regex`.

The No/Nl characters are listed from `unicodedata` on first use, so the split matches the
`regex` module's wherever both use the same Unicode version (a test checks this).

GPT-4's pattern (tiktoken's "cl100k_base") is built from the same classes: it also splits
case-insensitive contractions, lets one punctuation character lead a word, cuts numbers into
runs of at most three digits and keeps line breaks apart from the spaces before them. Its
possessive quantifiers change nothing here (no branch could backtrack into a different
match), so it is written without them and runs on Python 3.10 as well.

>>> pre_split("Hello world's 2024 ½!!  ok")
['Hello', ' world', "'s", ' 2024', ' ½', '!!', ' ', ' ok']
>>> pre_split("Hello WORLD'S 2024!!  ok", pattern="gpt4")
['Hello', ' WORLD', "'S", ' ', '202', '4', '!!', ' ', ' ok']
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata

__all__ = [
    "GPT2_PATTERN",
    "GPT4_PATTERN",
    "PATTERNS",
    "compiled_pattern",
    "gpt2_pattern",
    "gpt4_pattern",
    "pre_split",
]

#: GPT-2's pattern as written for the `regex` module, for reference and for the saved JSON
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

#: GPT-4's pattern (tiktoken's cl100k_base), as written for the `regex` module
GPT4_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)

#: pattern name -> its `regex`-module source; a tokenizer file stores the source
PATTERNS = {"gpt2": GPT2_PATTERN, "gpt4": GPT4_PATTERN}


#: Unicode's White_Space property (what `regex` means by \s), as a character-class body
_WHITE_SPACE = r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


def _other_numbers() -> str:
    """A character-class body listing every code point of category No or Nl, as ranges."""
    ranges: list[tuple[int, int]] = []
    for code in range(sys.maxunicode + 1):
        if unicodedata.category(chr(code)) not in ("No", "Nl"):
            continue
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    parts = []
    for first, last in ranges:
        # NOTE: escape every character: some of these code points are regex metacharacters
        # only by accident of the escaping rules, and escaping costs nothing
        parts.append(re.escape(chr(first)) + ("-" + re.escape(chr(last)) if last > first else ""))
    return "".join(parts)


@functools.cache
def _classes() -> dict[str, str]:
    """The `regex` module's classes that the patterns use, spelled for `re` (built once)."""
    other = _other_numbers()
    return {
        "letter": rf"[^\W\d_{other}]",  # \p{L}
        "number": rf"[\d{other}]",  # \p{N}
        "space": f"[{_WHITE_SPACE}]",  # \s
        "not_space": f"[^{_WHITE_SPACE}]",  # \S
        "punct": rf"(?:[^{_WHITE_SPACE}\w]|_)",  # [^\s\p{L}\p{N}]
        "not_word": r"(?:[^\r\n\w]|_)",  # [^\r\n\p{L}\p{N}]
    }


@functools.cache
def gpt2_pattern() -> re.Pattern[str]:
    """GPT-2's pre-split pattern, compiled for the standard library's `re` (built once)."""
    c = _classes()
    contraction = r"'(?:[sdmt]|ll|ve|re)"
    # trailing spaces but the last: that one starts the next word (" world")
    spaces = rf"{c['space']}+(?!{c['not_space']})|{c['space']}+"
    words = rf" ?{c['letter']}+| ?{c['number']}+| ?{c['punct']}+"
    return re.compile(rf"{contraction}|{words}|{spaces}")


@functools.cache
def gpt4_pattern() -> re.Pattern[str]:
    """GPT-4's (cl100k) pre-split pattern, compiled for the standard library's `re`."""
    c = _classes()
    space = c["space"]
    contraction = r"'(?i:[sdmt]|ll|ve|re)"
    word = rf"{c['not_word']}?{c['letter']}+"  # one leading non-letter may join: "(word"
    digits = rf"{c['number']}{{1,3}}"  # numbers in runs of at most three digits
    punct = rf" ?{c['punct']}+[\r\n]*"
    # spaces at the very end; spaces that end in a line break; then GPT-2's two space rules
    spaces = rf"{space}+$|{space}*[\r\n]|{space}+(?!{c['not_space']})|{space}"
    return re.compile(rf"{contraction}|{word}|{digits}|{punct}|{spaces}")


def compiled_pattern(name: str) -> re.Pattern[str]:
    """The compiled pattern called `name` ("gpt2" or "gpt4"); ValueError for another."""
    if name == "gpt2":
        return gpt2_pattern()
    if name == "gpt4":
        return gpt4_pattern()
    raise ValueError(f"unknown pre-split pattern {name!r}; choose one of {', '.join(PATTERNS)}")


def pre_split(text: str, pattern: str = "gpt2") -> list[str]:
    """Split `text` into pre-tokens by GPT-2's (or GPT-4's) rule; joining them gives `text`."""
    return compiled_pattern(pattern).findall(text)
