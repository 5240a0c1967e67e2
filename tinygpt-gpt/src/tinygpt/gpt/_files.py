"""Atomic file writes: readers see the old file or the new one, never half of one.

A write goes to a temp file `.<name>.<8 random characters>.tmp` in the target's folder (the
name `tempfile.mkstemp` makes; `tg.save` names its temp files the same way), which is then
renamed over the target. A process killed mid-write leaves the temp file behind:
`is_temp_file_of` recognises exactly those names, so a run can remove its own leftovers.
"""

from __future__ import annotations

import errno
import json
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = [
    "describe_os_error",
    "file_mode",
    "is_temp_file_of",
    "write_json_atomic",
    "write_text_atomic",
]

# NOTE: mkstemp's random part is 8 characters from [a-z0-9_] (CPython's tempfile)
_TEMP_NAME = re.compile(r"\.(?P<target>.+)\.[a-z0-9_]{8}\.tmp")

#: what to do about an OSError, by errno
_FIXES = {
    errno.ENOSPC: "free some disk space",
    getattr(errno, "EDQUOT", errno.ENOSPC): "free some disk space (or raise the quota)",
    errno.EACCES: "make the folder writable (chmod u+w) or use another --out-dir",
    errno.EPERM: "make the folder writable (chmod u+w) or use another --out-dir",
    errno.EROFS: "the file system is read-only: copy the run to a writable folder",
}


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` through a temp file in the same folder, then rename it over `path`.

    NOTE: the temp file must live in the same folder: a rename is atomic only within one
    file system. An OSError names `path` (a failed write() names no file at all).
    """
    path = Path(path)
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise naming(error, path) from error
    try:
        os.chmod(temp, file_mode())  # mkstemp makes owner-only files: see file_mode
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException as error:
        Path(temp).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise naming(error, path) from error
        raise
    fsync_folder(path.parent)


def file_mode() -> int:
    """The one permission rule for every file of a run folder: what `open()` would give a new
    file (0o666 less the umask; 0o644 with the usual umask 022).

    NOTE: temp files (mkstemp, tg.save) start owner-only; each atomic write applies this mode,
    so a checkpoint is as readable as the config next to it, no more and no less.
    """
    return 0o666 & ~_umask()


def _umask() -> int:
    """The process's umask, read without changing it where Linux allows (/proc)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    current = os.umask(0o022)  # elsewhere: set and restore (not thread-safe, but brief)
    os.umask(current)
    return current


def write_json_atomic(path: str | os.PathLike[str], data: Any) -> None:
    """`write_text_atomic` of indented JSON (readable, diffable)."""
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (a rename) to disk; skipped where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # Windows
    try:
        os.fsync(fd)
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def is_temp_file_of(name: str, targets: Iterable[str]) -> bool:
    """Whether `name` is a temp file that an atomic write of one of `targets` leaves behind.

    >>> is_temp_file_of(".last.safetensors.k3_x9qa0.tmp", ["last.safetensors"])
    True
    >>> is_temp_file_of(".last.safetensors.tmp", ["last.safetensors"])
    False
    """
    match = _TEMP_NAME.fullmatch(name)
    return match is not None and match["target"] in set(targets)


def error_code(error: OSError) -> int | None:
    """The errno of `error`, also when it was raised as `OSError(errno.ENOSPC)`."""
    if error.errno is None and len(error.args) == 1 and isinstance(error.args[0], int):
        return error.args[0]
    return error.errno


def naming(error: OSError, path: Path) -> OSError:
    """`error` again, with `path` as its file name (same errno, so the same subclass)."""
    code = error_code(error)
    if code is None:
        named = OSError(str(error))
        named.filename = str(path)
        return named
    return OSError(code, os.strerror(code), str(path))


def describe_os_error(error: OSError) -> str:
    """One line for a person: the file, what went wrong, and the fix when there is one.

    >>> describe_os_error(OSError(errno.ENOSPC, "No space left on device", "runs/a/x"))
    'runs/a/x: No space left on device; free some disk space'
    """
    code = error_code(error)
    reason = error.strerror or (os.strerror(code) if code is not None else str(error))
    where = f"{error.filename}: " if error.filename else ""
    fix = _FIXES.get(code) if code is not None else None
    return where + reason + (f"; {fix}" if fix else "")
