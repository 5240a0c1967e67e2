"""Loss curves: the picture of one run while it trains, and `tinygpt plot` comparing runs.

A run folder written by `tinygpt train` holds `metrics.jsonl`, one JSON object per line:
`{"step": 100, "train_loss": 2.31, ...}` while training and `{"step": 250, "val_loss": 2.05}`
at each evaluation (see `metrics.py`).

- `plot_losses` draws one run's curves into its `loss.png` as training goes.
- `tinygpt plot runs/a runs/b` (registered in `commands.py`) reads that file from each run
  (a run folder, a `runs/latest` link, or a `.jsonl` file itself) with `read_run`, prints
  `summary_table`, and `plot_runs` draws train loss (thin line) and validation loss (dots)
  against step, one colour per run.

matplotlib is optional (`pip install matplotlib`): without it, `plot_losses` returns
None and the run goes on, and `tinygpt plot` still prints the table and says how to install it.

    >>> format_loss(2.0)
    '2.0000'
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .metrics import read_metrics

__all__ = [
    "METRICS_FILE",
    "MATPLOTLIB_MISSING",
    "PlotError",
    "Run",
    "read_run",
    "summary_table",
    "plot_runs",
    "plot_losses",
    "format_loss",
]

#: The file `tinygpt train` appends its records to, inside the run folder.
METRICS_FILE = "metrics.jsonl"
MATPLOTLIB_MISSING = (
    "matplotlib is not installed, so no picture was drawn; install it with "
    "`pip install matplotlib` (or, from the tinygpt checkout, `pip install './tinygpt-gpt[plot]'`)"
)


# ---------------------------------------------------------------------- one run, in training
def plot_losses(records: list[dict[str, Any]], path: str | os.PathLike[str]) -> Path | None:
    """Draw train and validation loss against step into `path` (PNG); None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # NOTE: no display needed: training often runs on a server
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    train = [(r["step"], r["train_loss"]) for r in records if "train_loss" in r]
    val = [(r["step"], r["val_loss"]) for r in records if "val_loss" in r]
    figure, axes = plt.subplots(figsize=(7, 4), dpi=100)
    if train:
        axes.plot(*zip(*train), label="train", linewidth=1, alpha=0.8)
    if val:
        axes.plot(*zip(*val), label="validation", marker="o", markersize=3)
    axes.set_xlabel("step")
    axes.set_ylabel("loss (nats/token)")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return Path(path)


# ---------------------------------------------------------------------- runs side by side
class PlotError(ValueError):
    """A path that is not a run, or a run with nothing to plot yet."""


@dataclass
class Run:
    """The loss curves of one run: (step, loss) pairs in file order."""

    name: str
    metrics: Path
    train: list[tuple[float, float]] = field(default_factory=list)
    val: list[tuple[float, float]] = field(default_factory=list)

    def best_val(self) -> tuple[float, float] | None:
        """(step, loss) of the lowest validation loss, or None without any."""
        return min(self.val, key=lambda point: point[1]) if self.val else None


def metrics_file(path: str | os.PathLike[str]) -> Path:
    """The metrics file a path names: a .jsonl file, a run folder, or a `latest` link/file."""
    given = Path(path)
    if given.is_file() and given.suffix == ".jsonl":
        return given
    if given.is_file():
        # where symlinks are not allowed, `runs/latest` is a text file naming the run folder
        given = given.parent / given.read_text(encoding="utf-8").strip()
    found = given / METRICS_FILE
    if not found.is_file():
        raise PlotError(
            f"{path}: no {METRICS_FILE} there; expected a run folder written by "
            "`tinygpt train` (e.g. runs/latest) or a metrics .jsonl file"
        )
    return found


def read_run(path: str | os.PathLike[str], name: str | None = None) -> Run:
    """Read the train and validation losses of the run at `path` (named as typed)."""
    run = Run(name or str(path).rstrip("/\\"), metrics_file(path))
    # read_metrics skips a last line cut short by a crash mid-write: the rest is still good
    for record in read_metrics(run.metrics):
        if not isinstance(record, dict) or "step" not in record:
            continue
        step = float(record["step"])
        if "train_loss" in record:
            run.train.append((step, float(record["train_loss"])))
        if "val_loss" in record:
            run.val.append((step, float(record["val_loss"])))
    if not run.train and not run.val:
        raise PlotError(f"{path}: {run.metrics} has no train_loss or val_loss records yet")
    return run


def format_loss(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def summary_table(runs: Sequence[Run]) -> str:
    """One line per run: last step, last train loss, best validation loss and its step."""
    rows = [("run", "steps", "last train loss", "best val loss", "at step")]
    for run in runs:
        points = run.train + run.val
        last_step = max(step for step, _ in points)
        last_train = run.train[-1][1] if run.train else None
        best = run.best_val()
        rows.append(
            (
                run.name,
                f"{last_step:g}",
                format_loss(last_train),
                format_loss(best[1] if best else None),
                f"{best[0]:g}" if best else "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


def plot_runs(runs: Sequence[Run], out: str | os.PathLike[str], title: str = "") -> Path:
    """Draw every run's curves into `out` (.png, .svg, .pdf); ImportError without matplotlib."""
    # NOTE: matplotlib's object API, not pyplot: no display, and no global backend switched
    # under a notebook that happens to call this.
    from matplotlib.figure import Figure  # type: ignore[import-not-found,unused-ignore]

    figure = Figure(figsize=(8, 4.5), dpi=100)
    axes = figure.subplots()
    for i, run in enumerate(runs):
        colour = f"C{i % 10}"  # one colour per run, shared by its train and val curves
        if run.train:
            steps, losses = zip(*run.train)
            label = f"{run.name} (train)"
            axes.plot(steps, losses, color=colour, linewidth=1, alpha=0.6, label=label)
        if run.val:
            steps, losses = zip(*run.val)
            label = f"{run.name} (val)"
            axes.plot(steps, losses, color=colour, marker="o", markersize=3, label=label)
    axes.set_xlabel("step")
    axes.set_ylabel("loss (nats/token)")
    axes.set_title(title or "loss: train (line), validation (dots)")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(out)
    return Path(out)
