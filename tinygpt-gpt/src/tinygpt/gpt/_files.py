"""Atomic file writes: readers see the old file or the new one, never half of one."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["write_text_atomic", "write_json_atomic"]


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` through a temp file in the same folder, then rename it over `path`.

    NOTE: the temp file must live in the same folder: a rename is atomic only within one
    file system.
    """
    path = Path(path)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(temp, 0o644)  # mkstemp makes owner-only files; these are ordinary outputs
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: str | os.PathLike[str], data: Any) -> None:
    """`write_text_atomic` of indented JSON (readable, diffable)."""
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
