"""Grad modes: whether ops record a graph (`no_grad`, `enable_grad`, `set_grad_enabled`) and
whether new tensors are inference tensors (`inference_mode`), per thread.

`Function.apply` reads `_mode.enabled` once per op; `tensor.py` reads `_mode.inference` and
shares `INFERENCE_VERSION` among inference tensors.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = [
    "INFERENCE_VERSION",
    "enable_grad",
    "inference_mode",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "no_grad",
    "set_grad_enabled",
]


class _GradMode(threading.local):
    enabled = True
    #: inside `tg.inference_mode()`: new tensors are inference tensors (see inference.py)
    inference = False


_mode = _GradMode()

#: the version counter every inference tensor shares. NOTE: a tensor made in inference mode
#: has no version counter of its own (as in PyTorch), so autograd could never tell whether
#: it was overwritten: it may not be saved for backward, nor written in place outside the mode
INFERENCE_VERSION: list[int] = [0]


def is_grad_enabled() -> bool:
    return _mode.enabled


F = TypeVar("F", bound=Callable[..., Any])


class _GradModeContext:
    """A context manager (and decorator) that records with `mode` inside and restores after."""

    def __init__(self, mode: bool) -> None:
        self.mode = mode
        self.previous: list[bool] = []

    def __enter__(self) -> None:
        self.previous.append(_mode.enabled)
        _mode.enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        _mode.enabled = self.previous.pop()

    def __call__(self, fn: F) -> F:
        mode = self.mode

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _GradModeContext(mode):
                return fn(*args, **kwargs)

        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        wrapper.__doc__ = fn.__doc__
        return wrapper  # type: ignore[return-value]


class set_grad_enabled(_GradModeContext):
    """Turn graph recording on or off, like PyTorch's: as a plain call it takes effect at once
    (`tg.set_grad_enabled(False)`), as a context manager it restores the old mode on exit,
    and as a decorator it applies to each call of the function."""

    def __init__(self, mode: bool) -> None:
        super().__init__(bool(mode))
        self.at_call = _mode.enabled
        _mode.enabled = self.mode

    def __enter__(self) -> None:
        # the mode is already set: restore what it was before the call on exit
        self.previous.append(self.at_call)
        _mode.enabled = self.mode

    def __call__(self, fn: F) -> F:
        _mode.enabled = self.at_call  # used as a decorator: nothing changes until a call
        return super().__call__(fn)


class no_grad(_GradModeContext):
    """`with tg.no_grad():` ops inside record no graph (inference, optimizer steps)."""

    def __init__(self) -> None:
        super().__init__(False)


class enable_grad(_GradModeContext):
    """`with tg.enable_grad():` record the graph even inside `no_grad`."""

    def __init__(self) -> None:
        super().__init__(True)


class inference_mode:
    """`with tg.inference_mode():` as `no_grad()`, and the tensors made inside are inference
    tensors, as in PyTorch: cheaper to make (no version counter of their own), but autograd
    refuses to save one for backward, and outside the mode one cannot be written in place or
    set to require grad. `x.clone()` outside the mode gives a normal tensor.

    Works as a decorator too; `inference_mode(False)` changes nothing (for code that takes a
    flag).

    >>> import tinygpt as tg
    >>> with tg.inference_mode():
    ...     y = tg.ones(2) * 2
    >>> y.requires_grad, y.is_inference()
    (False, True)
    """

    def __init__(self, mode: bool = True) -> None:
        self.mode = bool(mode)
        self.previous: list[tuple[bool, bool]] = []

    def __enter__(self) -> None:
        self.previous.append((_mode.enabled, _mode.inference))
        if self.mode:
            _mode.enabled = False
            _mode.inference = True

    def __exit__(self, *exc: object) -> None:
        _mode.enabled, _mode.inference = self.previous.pop()

    def __call__(self, fn: F) -> F:
        mode = self.mode

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with inference_mode(mode):
                return fn(*args, **kwargs)

        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        wrapper.__doc__ = fn.__doc__
        return wrapper  # type: ignore[return-value]


def is_inference_mode_enabled() -> bool:
    """True inside `tg.inference_mode()`."""
    return _mode.inference
