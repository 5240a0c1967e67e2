"""A one-line progress bar for training: step, loss, tokens/s, time left.

On a terminal the line redraws itself in place (`\\r`); in a log file or a pipe, where a
redraw would leave hundreds of fragments, it prints one plain line per update instead.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["ProgressBar", "format_duration"]


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
    """`bar.update(step, loss=..., tokens_per_s=...)` redraws; `bar.close()` ends the line."""

    def __init__(self, total: int, stream: TextIO | None = None, width: int = 24) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.interactive = self.stream.isatty()
        self.started = time.perf_counter()
        self.first_step: int | None = None
        self._drawn = False

    def update(self, step: int, loss: float, tokens_per_s: float, note: str = "") -> None:
        if self.first_step is None:
            self.first_step = step - 1
        done = min(step / self.total, 1.0) if self.total else 1.0
        filled = int(done * self.width)
        bar = "=" * filled + (">" if filled < self.width else "") + " " * (self.width - filled - 1)
        line = (
            f"step {step:>{len(str(self.total))}}/{self.total} [{bar}] loss {loss:.4f} "
            f"| {_si(tokens_per_s)} tok/s | {self._eta(step)}"
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

    def _eta(self, step: int) -> str:
        elapsed = time.perf_counter() - self.started
        assert self.first_step is not None
        steps_done = step - self.first_step
        if steps_done <= 0:
            return f"{format_duration(elapsed)} elapsed"
        left = elapsed / steps_done * max(self.total - step, 0)
        return f"{format_duration(elapsed)} elapsed, {format_duration(left)} left"


def _si(value: float) -> str:
    """12345 -> '12.3k': tokens/s spans from hundreds (numpy, big model) to millions (GPU)."""
    if value >= 1e6:
        return f"{value / 1e6:.2f}M"
    if value >= 1e3:
        return f"{value / 1e3:.1f}k"
    return f"{value:.0f}"
