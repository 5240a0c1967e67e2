"""The metrics file: one JSON object per line, appended as training goes.

Lines look like `{"step": 100, "train_loss": 2.31, "lr": 0.001, "tokens_per_s": 41000.0,
"elapsed": 12.5}`; evaluation lines carry `val_loss` instead of `train_loss`. JSON lines can
be read by anything (`pandas.read_json(path, lines=True)`) and survive a crash mid-run: at
worst the last line is cut, and `read_metrics` skips it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ._files import naming, write_text_atomic

__all__ = ["MetricsLog", "read_metrics"]


def read_metrics(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every complete record in a metrics file (an unreadable last line is skipped)."""
    if not Path(path).exists():
        return []
    records = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut short by a crash
    return records


class MetricsLog:
    """Appends records to a JSON-lines file, and keeps them in `records` for the caller."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.records = read_metrics(self.path)

    def truncate_after(self, step: int) -> None:
        """Drop records past `step`: on resume they belong to steps that will be redone."""
        kept = [r for r in self.records if r.get("step", 0) <= step]
        if len(kept) != len(self.records) or self.path.exists():
            self.records = kept
            lines = "".join(json.dumps(r) + "\n" for r in kept)
            write_text_atomic(self.path, lines)

    def append(self, record: dict[str, Any]) -> None:
        self.records.append(record)
        try:
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
        except OSError as error:  # a failed write() names no file: name this one
            raise naming(error, self.path) from error
