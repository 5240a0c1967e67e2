"""Text to train on: built-in corpora, named downloads, or any file or folder.

`load_corpus(source)` accepts

- None: the default built-in corpus, `python-stdlib`;
- a built-in name: text that every Python installation already has, so `tinygpt train` works
  on a fresh machine with no network:
    - `python-stdlib`: the standard library's own top-level `.py` sources (about 4-5 MB);
    - `python-docs`: the reference documentation in `pydoc_data.topics` (about 0.5 MB);
- a download name (`shakespeare`): fetched once over HTTPS, checked against a SHA-256 and
  cached; a local copy can be used instead (see `Download`);
- a path: a text file, or a folder whose UTF-8 text files are read in sorted order.

`split(text)` cuts the text into train and validation parts deterministically: the last
10% is validation, as in nanoGPT.
"""

from __future__ import annotations

import hashlib
import os
import sysconfig
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BUILTIN",
    "DEFAULT_CORPUS",
    "DOWNLOADS",
    "Corpus",
    "CorpusError",
    "Download",
    "cache_dir",
    "corpus_names",
    "load_corpus",
    "split",
]

DEFAULT_CORPUS = "python-stdlib"


class CorpusError(ValueError):
    """A corpus that cannot be read: a missing file, an empty text, a failed download."""


@dataclass(frozen=True)
class Corpus:
    """A named text: `name` says where it came from (a corpus name or a path)."""

    name: str
    text: str
    files: int = 1


@dataclass(frozen=True)
class Download:
    """A corpus fetched from `url`, cached as `filename`, checked against `sha256`.

    NOTE: `sha256` is None when tinygpt pins no checksum for the file. Then nothing is
    downloaded unless the user supplies the checksum (`--data-sha256`) from a source they
    trust, or puts a copy of the file in the cache folder (or passes its path to `--data`).
    """

    url: str
    filename: str
    sha256: str | None
    description: str


BUILTIN = {
    "python-stdlib": "the Python standard library's top-level .py sources (no download)",
    "python-docs": "Python's reference documentation from pydoc_data.topics (no download)",
}

DOWNLOADS = {
    "shakespeare": Download(
        url="https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
        filename="tinyshakespeare.txt",
        sha256=None,
        description="tiny Shakespeare, about 1.1 MB (karpathy/char-rnn)",
    ),
}


def corpus_names() -> list[str]:
    return [*BUILTIN, *DOWNLOADS]


def cache_dir() -> Path:
    """Where downloads are kept: $TINYGPT_CACHE, else $XDG_CACHE_HOME/tinygpt, else
    ~/.cache/tinygpt. (The environment is read here and nowhere else in tinygpt.gpt.)"""
    explicit = os.environ.get("TINYGPT_CACHE", "").strip()
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "tinygpt"


def load_corpus(source: str | os.PathLike[str] | None = None, sha256: str | None = None) -> Corpus:
    """The text named by `source` (see the module docstring). Raises CorpusError."""
    if source is None:
        source = DEFAULT_CORPUS
    path = Path(source)
    if path.exists():
        corpus = _read_path(path)
    elif str(source) == "python-stdlib":
        corpus = _python_stdlib()
    elif str(source) == "python-docs":
        corpus = _python_docs()
    elif str(source) in DOWNLOADS:
        corpus = _download(str(source), DOWNLOADS[str(source)], sha256)
    else:
        names = ", ".join(corpus_names())
        raise CorpusError(f"no such file or folder: {source} (named corpora: {names})")
    if not corpus.text.strip():
        raise CorpusError(f"the corpus {corpus.name} is empty: there is no text to train on")
    return corpus


def split(text: str, val_fraction: float = 0.1) -> tuple[str, str]:
    """(train, validation): the last `val_fraction` of the text is the validation part.

    >>> split("abcdefghij")
    ('abcdefghi', 'j')
    """
    if not 0.0 < val_fraction < 1.0:
        raise CorpusError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    cut = round(len(text) * (1.0 - val_fraction))
    return text[:cut], text[cut:]


# ---------------------------------------------------------------------- sources
def _read_path(path: Path) -> Corpus:
    if path.is_file():
        return Corpus(str(path), _read_text_file(path))
    files = sorted(p for p in path.rglob("*") if p.is_file() and not _hidden(p, path))
    texts = []
    for file in files:
        try:
            texts.append(_read_text_file(file))
        except CorpusError:
            continue  # a folder may hold images or archives: keep only its text files
    if not texts:
        raise CorpusError(f"the folder {path} holds no UTF-8 text files")
    return Corpus(str(path), _join(texts), files=len(texts))


def _hidden(file: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in file.relative_to(root).parts)


def _read_text_file(path: Path) -> str:
    data = path.read_bytes()
    if b"\x00" in data:
        raise CorpusError(f"{path} is a binary file, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        reason = f"{error.reason} at byte {error.start}"
        raise CorpusError(f"{path} is not UTF-8 text ({reason})") from None


def _join(texts: list[str]) -> str:
    # one blank line between documents, so one file's end never runs into the next's start
    return "\n\n".join(text.rstrip("\n") for text in texts) + "\n"


def _python_stdlib() -> Corpus:
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(root.glob("*.py"))
    if not files:
        raise CorpusError(
            f"this Python has no standard-library sources in {root} (only compiled files); "
            "use --data python-docs or --data PATH"
        )
    texts = [f.read_text(encoding="utf-8", errors="replace") for f in files]
    return Corpus("python-stdlib", _join(texts), files=len(files))


def _python_docs() -> Corpus:
    try:
        from pydoc_data.topics import topics
    except ImportError as error:
        raise CorpusError(
            "this Python has no pydoc_data; use --data python-stdlib or --data PATH"
        ) from error
    texts = [topics[key] for key in sorted(topics)]
    return Corpus("python-docs", _join(texts), files=len(texts))


# ---------------------------------------------------------------------- downloads
def _download(name: str, spec: Download, sha256: str | None) -> Corpus:
    expected = (sha256 or spec.sha256 or "").lower() or None
    target = cache_dir() / spec.filename
    if target.exists():
        _check_sha256(target.read_bytes(), expected, f"the cached copy {target}")
        return Corpus(name, _read_text_file(target))
    if expected is None:
        raise CorpusError(
            f"corpus {name!r} must be downloaded from {spec.url}, and tinygpt pins no SHA-256 "
            f"for it: pass --data-sha256 HEX from a source you trust, or save the file as "
            f"{target}, or pass its path with --data"
        )
    data = _fetch(name, spec.url, target)
    _check_sha256(data, expected, f"the download of {spec.url}")
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.part")
    temp.write_bytes(data)
    os.replace(temp, target)  # atomic: a crash never leaves a half file under the real name
    return Corpus(name, _read_text_file(target))


def _fetch(name: str, url: str, target: Path) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.read()
    except (urllib.error.URLError, OSError) as error:
        raise CorpusError(
            f"could not download corpus {name!r} from {url} ({error}); offline? put a copy at "
            f"{target} or pass its path with --data"
        ) from error


def _check_sha256(data: bytes, expected: str | None, what: str) -> None:
    if expected is None:
        return
    got = hashlib.sha256(data).hexdigest()
    if got != expected:
        raise CorpusError(f"{what} has SHA-256 {got}, expected {expected}: refusing to use it")
