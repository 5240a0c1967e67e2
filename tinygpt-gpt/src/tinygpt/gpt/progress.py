"""A one-line progress bar for training: step, loss, tokens/s, time left.

On a terminal the line redraws itself in place (`\\r`); in a log file or a pipe, where a
redraw would leave hundreds of fragments, it prints one plain line per update instead.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import TextIO

__all__ = ["EvalProgress", "ProgressBar", "format_duration", "slow_stage"]


def format_duration(seconds: float) -> str:
    """Seconds as a short human duration.

    >>> format_duration(42), format_duration(125), format_duration(3725)
    ('42s', '2m05s', '1h02m')
    """
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class ProgressBar:
    """`bar.update(step, loss=..., tokens_per_s=...)` redraws; `bar.close()` ends the line.

    The time left comes from a moving window of the last `window` updates (seconds per step
    now, not since the start), so the warm-up of the first steps, a resume, or a machine that
    got busy only sway the estimate for a while. `start` is the step the bar starts from (a
    resumed run's step); `label` names what is counted ("step", "window"); `started` is when
    the work began (a perf_counter time; default: now).
    """

    def __init__(
        self,
        total: int,
        stream: TextIO | None = None,
        width: int = 24,
        start: int = 0,
        label: str = "step",
        window: int = 10,
        started: float | None = None,
    ) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.label = label
        self.interactive = self.stream.isatty()
        self.started = started if started is not None else time.perf_counter()
        # (time, step) of recent updates; the first entry is the start itself
        self.recent: deque[tuple[float, int]] = deque([(self.started, start)], maxlen=window + 1)
        self._drawn = False

    def update(self, step: int, loss: float, tokens_per_s: float, note: str = "") -> None:
        self.recent.append((time.perf_counter(), step))
        done = min(step / self.total, 1.0) if self.total else 1.0
        filled = int(done * self.width)
        bar = "=" * filled + (">" if filled < self.width else "") + " " * (self.width - filled - 1)
        line = (
            f"{self.label} {step:>{len(str(self.total))}}/{self.total} [{bar}] loss {loss:.4f} "
            f"| {_si(tokens_per_s)} tok/s | {self.eta(step)}"
        )
        if note:
            line += f" | {note}"
        if self.interactive:
            self.stream.write("\r" + line + "\x1b[K")  # \x1b[K clears what a longer line left
            self._drawn = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def message(self, text: str) -> None:
        """Print a line of its own (an eval result) without breaking the bar."""
        if self._drawn:
            self.stream.write("\r\x1b[K")
        self.stream.write(text + "\n")
        self.stream.flush()
        self._drawn = False

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

    def eta(self, step: int) -> str:
        """'12s elapsed, 3m20s left', from the rate over the moving window."""
        now = self.recent[-1][0] if self.recent else time.perf_counter()
        elapsed = now - self.started
        then, first = self.recent[0]
        if step <= first:
            return f"{format_duration(elapsed)} elapsed"
        left = (now - then) / (step - first) * max(self.total - step, 0)
        return f"{format_duration(elapsed)} elapsed, {format_duration(left)} left"


class EvalProgress:
    """The progress bar of `tinygpt eval`, as an `evaluate_ids` progress callback: windows
    scored, the loss so far, time left; redrawn at most twice a second."""

    def __init__(self, block_size: int) -> None:
        self.block_size = block_size
        self.bar: ProgressBar | None = None
        self.started = self.shown = time.perf_counter()  # made just before the first batch

    def __call__(self, done: int, total: int, loss: float) -> None:
        if self.bar is None:
            self.bar = ProgressBar(total, sys.stderr, label="window", started=self.started)
        now = time.perf_counter()
        if now - self.shown < 0.5 and done < total:  # a few redraws a second are enough
            return
        self.shown = now
        rate = done * self.block_size / max(now - self.started, 1e-9)
        self.bar.update(done, loss, rate)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@contextlib.contextmanager
def slow_stage(text: str, stream: TextIO | None = None, after: float = 1.0) -> Iterator[None]:
    """Say `text` on `stream` if the block is still running after `after` seconds.

    For the quiet minutes before a progress bar exists (reading and encoding a corpus,
    training a tokenizer); a fast stage, or one that fails at once with a one-line error,
    prints nothing.
    """
    stream = stream if stream is not None else sys.stderr
    timer = threading.Timer(after, lambda: print(text, file=stream, flush=True))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _si(value: float) -> str:
    """12345 -> '12.3k': tokens/s spans from hundreds (numpy, big model) to millions (GPU)."""
    if value >= 1e6:
        return f"{value / 1e6:.2f}M"
    if value >= 1e3:
        return f"{value / 1e3:.1f}k"
    return f"{value:.0f}"
