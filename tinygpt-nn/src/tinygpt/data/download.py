"""Checked, resumable downloads: `download_url(url, path, sha256)`.

The bytes go to `<path>.part` (appended to with an HTTP Range request when a previous attempt
left one), are checked against the SHA-256 the caller gives, and only then renamed to `path`,
so `path` either does not exist or holds exactly the expected file. A checksum is always
required: a dataset file from a mirror is only trusted once its digest is checked.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

__all__ = ["DownloadError", "download_url", "sha256_of"]

_CHUNK = 1 << 20  # 1 MiB per read


class DownloadError(RuntimeError):
    """A download that failed (offline, HTTP error, bad checksum); says how to fix it."""


def sha256_of(path: str | os.PathLike[str]) -> str:
    """The hex SHA-256 digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_url(
    url: str,
    path: str | os.PathLike[str],
    sha256: str,
    resume: bool = True,
    timeout: float = 30.0,
    progress: bool = True,
) -> Path:
    """Download `url` to `path` unless a file with the right SHA-256 is already there.

    Returns the path. Raises `DownloadError` when the server cannot be reached (with a hint to
    place the file at `path` by hand) or when the downloaded bytes do not match `sha256` (the
    bad file is removed). An interrupted download leaves `<path>.part` for the next attempt.
    """
    if not isinstance(sha256, str) or len(sha256) != 64:
        raise ValueError(
            f"download_url: sha256 must be the 64-hex-digit SHA-256 of {url}, got {sha256!r}"
        )
    sha256 = sha256.lower()
    target = Path(path)
    if target.is_file() and sha256_of(target) == sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    if not resume:
        part.unlink(missing_ok=True)
    _fetch(url, part, target, sha256, timeout, progress)
    got = sha256_of(part)
    if got != sha256:
        part.unlink()
        raise DownloadError(
            f"download: {url} has SHA-256 {got}, expected {sha256}; the file was removed. "
            "The mirror may serve another version; check the URL and checksum."
        )
    os.replace(part, target)  # atomic: `target` never holds a partial or unchecked file
    return target


def _fetch(url: str, part: Path, target: Path, sha256: str, timeout: float, progress: bool) -> None:
    """Append the rest of `url` to `part` (or rewrite it if the server ignores Range)."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and have:
            return  # nothing left to fetch: the .part is complete, the checksum decides
        status = f"HTTP {error.code} ({error.reason})"
        raise DownloadError(
            f"download: {url} answered {status}. {_manual(target, sha256)}"
        ) from error
    except (urllib.error.URLError, OSError) as error:
        why = error.reason if isinstance(error, urllib.error.URLError) else error
        raise DownloadError(
            f"download: cannot reach {url} ({why}). {_manual(target, sha256)}"
        ) from error
    with response:
        resumed = have > 0 and response.status == 206
        done = have if resumed else 0  # 200 means the server sent the whole file again
        length = response.headers.get("Content-Length")
        total = done + int(length) if length is not None else None
        try:
            with open(part, "ab" if resumed else "wb") as f:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    f.write(chunk)
                    done += len(chunk)
                    if progress:
                        _show(target.name, done, total)
        except (OSError, http.client.HTTPException) as error:
            raise DownloadError(
                f"download: {url} broke off after {done} bytes ({error}); run again to resume "
                f"from {part}. {_manual(target, sha256)}"
            ) from error
    if progress:
        print(file=sys.stderr)


def _manual(target: Path, sha256: str) -> str:
    return (
        f"If this machine is offline, download the file elsewhere and place it at {target} "
        f"(its SHA-256 must be {sha256})."
    )


def _show(name: str, done: int, total: int | None) -> None:
    mb = done / 1e6
    if total:
        line = f"downloading {name}: {mb:.1f}/{total / 1e6:.1f} MB ({100 * done // total}%)"
    else:
        line = f"downloading {name}: {mb:.1f} MB"
    print("\r" + line, end="", file=sys.stderr, flush=True)
