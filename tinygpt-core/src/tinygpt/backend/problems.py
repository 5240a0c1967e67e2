"""What can go wrong with a plugin, said in one line: the rows of `tinygpt backends`.

>>> one_line("ImportError: libfoo.so:\\n  cannot open shared object file")
'ImportError: libfoo.so: cannot open shared object file'
>>> print(check_registration("My GPU", print, 0, None, None))  # doctest: +ELLIPSIS
backend name 'My GPU' is not a device name: use lowercase letters, digits, '_' or '-', ...
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable

__all__ = ["check_registration", "run_probe", "describe", "one_line"]

#: what users type in device strings: lowercase, then letters, digits, '_' or '-'
_VALID_NAME = re.compile(r"[a-z][a-z0-9_-]*")


def check_registration(
    name: object,
    factory: object,
    priority: object,
    probe: object,
    device_count: object,
) -> str | None:
    """What is wrong with a `register(...)` call, or None."""
    if not isinstance(name, str) or not _VALID_NAME.fullmatch(name):
        return (
            f"backend name {name!r} is not a device name: use lowercase letters, digits, "
            "'_' or '-', starting with a letter"
        )
    if not callable(factory):
        return f"factory for {name!r} is not callable (got {type(factory).__name__})"
    if isinstance(priority, bool) or not isinstance(priority, int):
        return f"priority for {name!r} must be an int, got {priority!r}"
    for what, fn in (("probe", probe), ("device_count", device_count)):
        if fn is not None and not callable(fn):
            return f"{what} for {name!r} must be callable or None"
    return None


def run_probe(
    probe: Callable[[], str | None] | None,
) -> tuple[str | None, BaseException | None]:
    """(reason or None, the exception when the probe raised)."""
    if probe is None:
        return None, None
    try:
        return probe(), None
    except Exception as error:  # noqa: BLE001 - a probe must never break discovery
        return one_line(f"probe raised: {describe(error)}"), error


def describe(error: BaseException) -> str:
    """`Type: message (file:line)`, the deepest line of real code that raised.

    Frames of the import machinery (``<frozen importlib._bootstrap>``) are skipped, so a
    missing import points at the plugin's own ``import`` line.
    """
    frames = traceback.extract_tb(error.__traceback__) if error.__traceback__ else []
    real = [frame for frame in frames if not frame.filename.startswith("<")]
    where = f" ({real[-1].filename}:{real[-1].lineno})" if real else ""
    return f"{type(error).__name__}: {error}{where}"


def one_line(text: str) -> str:
    """Collapse newlines and runs of spaces: every reason fits one row of the table."""
    return " ".join(text.split())
