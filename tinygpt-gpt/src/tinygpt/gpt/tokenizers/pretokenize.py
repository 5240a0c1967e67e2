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

>>> pre_split("Hello world's 2024 ½!!  ok")
['Hello', ' world', "'s", ' 2024', ' ½', '!!', ' ', ' ok']
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata

__all__ = ["GPT2_PATTERN", "gpt2_pattern", "pre_split"]

#: GPT-2's pattern as written for the `regex` module, for reference and for the saved JSON
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


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
def gpt2_pattern() -> re.Pattern[str]:
    """GPT-2's pre-split pattern, compiled for the standard library's `re` (built once)."""
    other = _other_numbers()
    letter = rf"[^\W\d_{other}]"
    number = rf"[\d{other}]"
    space = f"[{_WHITE_SPACE}]"
    not_space = f"[^{_WHITE_SPACE}]"
    punct = rf"(?:[^{_WHITE_SPACE}\w]|_)"
    contraction = r"'(?:[sdmt]|ll|ve|re)"
    # trailing spaces but the last: that one starts the next word (" world")
    spaces = rf"{space}+(?!{not_space})|{space}+"
    return re.compile(rf"{contraction}| ?{letter}+| ?{number}+| ?{punct}+|{spaces}")


def pre_split(text: str) -> list[str]:
    """Split `text` into GPT-2 pre-tokens; joining them gives `text` back."""
    return gpt2_pattern().findall(text)
