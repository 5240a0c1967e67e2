"""Reading GPT-2's tokenizer files: `vocab.json` (token string -> id) and `merges.txt`.

GPT-2 writes byte-level tokens as printable text. Each of the 256 bytes stands for one
character: bytes that are printable Latin-1 characters stand for themselves ("a" is b"a"),
and the other 68 (control bytes, space, 0x7F-0xA0, 0xAD) stand for the characters
U+0100, U+0101, ... in byte order, so the space byte is "Ġ" and a newline is "Ċ". A token is
the string of its bytes' characters: " the" is "Ġthe".

`merges.txt` lists one merge per line, "left right" (a "#version" line may come first);
line i (counting from 0) makes the token `left + right`, which `vocab.json` gives id 256 + i.
The 256 byte tokens take ids 0..255 in GPT-2's own order (printable characters first), and
special tokens (`<|endoftext|>`) the ids after the last merge. tiktoken's GPT-2 encoding
rests on the same rule. A file that breaks it is refused with the line at fault.

>>> byte_to_unicode()[ord(" ")], byte_to_unicode()[ord("\\n")], byte_to_unicode()[ord("a")]
('Ġ', 'Ċ', 'a')
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

from .base import TokenizerError

__all__ = ["byte_to_unicode", "read_gpt2_files"]

Pair = tuple[int, int]

_FIRST_MERGE_ID = 256


@functools.cache
def byte_to_unicode() -> dict[int, str]:
    """Byte -> the character GPT-2's files write for it (printable Latin-1 stays itself)."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    mapping = {byte: chr(byte) for byte in printable}
    # the bytes left over, in byte order, take the characters after Latin-1
    extra = 0
    for byte in range(256):
        if byte not in mapping:
            mapping[byte] = chr(256 + extra)
            extra += 1
    return mapping


def read_gpt2_files(path: str | os.PathLike[str]) -> tuple[list[int], list[Pair], list[str]]:
    """The folder's `vocab.json` and `merges.txt` as (byte ids, merges as id pairs, special
    token names in id order), checked to follow GPT-2's numbering."""
    folder = Path(path)
    vocab_file, merges_file = _files(folder)
    vocab = _read_vocab(vocab_file)
    merges = _read_merges(merges_file)
    byte_ids = _byte_ids(vocab, vocab_file)
    pairs = _merge_ids(vocab, merges, merges_file)
    first_special = _FIRST_MERGE_ID + len(pairs)
    by_id = sorted(vocab.items(), key=lambda item: item[1])
    specials = [token for token, token_id in by_id if token_id >= first_special]
    return byte_ids, pairs, specials


def _files(folder: Path) -> tuple[Path, Path]:
    if not folder.is_dir():
        raise FileNotFoundError(
            f"BPETokenizer.from_gpt2: {folder} is not a folder; pass the folder that holds "
            "GPT-2's vocab.json and merges.txt"
        )
    vocab_file, merges_file = folder / "vocab.json", folder / "merges.txt"
    missing = [f.name for f in (vocab_file, merges_file) if not f.is_file()]
    if missing:
        present = sorted(p.name for p in folder.iterdir())
        raise FileNotFoundError(
            f"BPETokenizer.from_gpt2: {folder} has no {' or '.join(missing)} (it holds "
            f"{present or 'nothing'}); put GPT-2's vocab.json and merges.txt there (tinygpt "
            "downloads nothing)"
        )
    return vocab_file, merges_file


def _read_vocab(vocab_file: Path) -> dict[str, int]:
    try:
        vocab = json.loads(vocab_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise TokenizerError(f"{vocab_file} is not a JSON file: {error}") from error
    if not isinstance(vocab, dict):
        raise TokenizerError(f"{vocab_file} must hold one JSON object {{token: id}}")
    for token, token_id in vocab.items():
        # NOTE: bool is an int in Python, and `true` must not pass for an id
        if not isinstance(token_id, int) or isinstance(token_id, bool):
            raise TokenizerError(f"{vocab_file}: token {token!r} has id {token_id!r}, not an int")
    # every id 0..n-1 exactly once: an id that two tokens share, or a gap, is a broken file
    if sorted(vocab.values()) != list(range(len(vocab))):
        raise TokenizerError(f"{vocab_file}: the ids are not 0..{len(vocab) - 1}, each once")
    return vocab


def _read_merges(merges_file: Path) -> list[tuple[str, str]]:
    text = merges_file.read_text(encoding="utf-8")
    merges = []
    # NOTE: split on "\n" only: str.splitlines() would also cut at characters such as U+2028
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line or (number == 1 and line.startswith("#version")):
            continue
        parts = line.split(" ")
        if len(parts) != 2 or not all(parts):
            raise TokenizerError(
                f"{merges_file}, line {number}: {line!r} is not two tokens separated by one space"
            )
        merges.append((parts[0], parts[1]))
    return merges


def _byte_ids(vocab: dict[str, int], vocab_file: Path) -> list[int]:
    """The id of every byte's token; GPT-2 gives the 256 bytes the ids 0..255."""
    byte_ids = []
    chars = byte_to_unicode()
    for byte in range(256):
        char = chars[byte]
        token_id = vocab.get(char)
        if token_id is None:
            raise TokenizerError(
                f"{vocab_file} has no token for byte {byte} ({char!r}): not a byte-level BPE "
                "vocabulary in GPT-2's layout"
            )
        byte_ids.append(token_id)
    if sorted(byte_ids) != list(range(256)):
        raise TokenizerError(
            f"{vocab_file}: the 256 byte tokens must have the ids 0..255 (GPT-2's layout)"
        )
    return byte_ids


def _merge_ids(
    vocab: dict[str, int], merges: list[tuple[str, str]], merges_file: Path
) -> list[Pair]:
    """Each merge as a pair of ids, checked to make the token with id 256 + its rank."""
    pairs = []
    for rank, (left, right) in enumerate(merges):
        new_id = _FIRST_MERGE_ID + rank
        ids = [vocab.get(token) for token in (left, right, left + right)]
        if None in ids:
            unknown = [t for t, i in zip((left, right, left + right), ids) if i is None]
            raise TokenizerError(
                f"{merges_file}: merge {rank} ({left!r} {right!r}) uses tokens that vocab.json "
                f"lacks: {unknown}; the two files do not belong together"
            )
        a, b, merged = ids
        if merged != new_id:
            raise TokenizerError(
                f"{merges_file}: merge {rank} ({left!r} {right!r}) makes {left + right!r}, "
                f"which vocab.json numbers {merged}; GPT-2's layout numbers it {new_id} "
                "(256 + the merge's line): the files are not in GPT-2's layout"
            )
        pairs.append((a, b))
    return pairs
