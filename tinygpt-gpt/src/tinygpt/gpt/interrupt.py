"""Ctrl-C during training: finish the step, save, stop; never a half-written checkpoint.

The first Ctrl-C asks the loop to stop between steps (so a checkpoint never holds
half-updated weights), after which the run is evaluated and saved. That can take a while, and
a second Ctrl-C is easy to press meanwhile: it is ignored, with a message. A third one
aborts without saving; what is on disk stays as it was (every write is atomic).
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any, TextIO

__all__ = ["StopFlag"]


class StopFlag:
    """Counts Ctrl-C presses while it is entered: the first sets `requested` (the loop checks
    it between steps), the second only prints a message, the third raises KeyboardInterrupt."""

    def __init__(self, log: TextIO | None = None) -> None:
        self.requested = False
        self.presses = 0
        self.log = log if log is not None else sys.stderr
        self._previous: Any = None

    def __enter__(self) -> StopFlag:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.presses += 1
        if self.presses >= 3:
            raise KeyboardInterrupt
        self.requested = True
        if self.presses == 2:
            self._say(
                "\nCtrl-C: still finishing the step and saving the checkpoint; "
                "press Ctrl-C once more to abort without saving"
            )

    def _say(self, text: str) -> None:
        try:
            print(text, file=self.log, flush=True)
        except RuntimeError:  # subtle: the handler interrupted a write to the same stream
            pass

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
