"""Anomaly detection: `detect_anomaly()` makes backward check every gradient it computes and
raise at the first NaN, naming the backward that produced it (as PyTorch; infinities pass,
unless `check_inf=True`, a tinygpt extra).

    with tg.autograd.detect_anomaly():
        loss.backward()      # RuntimeError: Function 'DivBackward' returned nan values ...

Off by default: the engine then pays one attribute read per node. On, every gradient is read
back to the host, so it is a debugging tool, as in PyTorch.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from ..ops.classify import isinf, isnan
from .hooks import as_tensor

__all__ = [
    "check_gradients",
    "detect_anomaly",
    "is_anomaly_check_nan_enabled",
    "is_anomaly_enabled",
    "set_detect_anomaly",
]


class _AnomalyMode:
    """Process-wide, as in PyTorch (a backward may run on another thread)."""

    enabled = False
    check_nan = True
    check_inf = False


#: read by the engine once per node (`engine._run`)
state = _AnomalyMode()

F = TypeVar("F", bound=Callable[..., Any])


def is_anomaly_enabled() -> bool:
    """Whether backward currently checks its gradients."""
    return state.enabled


def is_anomaly_check_nan_enabled() -> bool:
    """Whether an enabled anomaly mode raises on NaN/inf gradients."""
    return state.check_nan


class set_detect_anomaly:
    """Turn anomaly detection on or off: as a call (`set_detect_anomaly(True)`), or for a block
    (`with set_detect_anomaly(False): ...`), restoring the previous setting after."""

    def __init__(self, mode: bool, check_nan: bool = True, *, check_inf: bool = False) -> None:
        self.previous = (state.enabled, state.check_nan, state.check_inf)
        state.enabled = bool(mode)
        state.check_nan = bool(check_nan)
        state.check_inf = bool(check_inf)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        state.enabled, state.check_nan, state.check_inf = self.previous


class detect_anomaly:
    """A context manager (and decorator) that turns anomaly detection on inside.

    `check_inf=True` (not in PyTorch) also stops at infinities, e.g. d sqrt(x)/dx at 0.

    >>> import tinygpt as tg
    >>> x = tg.tensor([0.0], requires_grad=True)
    >>> with detect_anomaly():
    ...     try:
    ...         (x * x.log()).sum().backward()   # 0 * log(0): the gradient is nan
    ...     except RuntimeError as err:
    ...         print(str(err).split(";")[0])
    Function 'LogBackward' returned nan values in its 0th output
    """

    def __init__(self, check_nan: bool = True, *, check_inf: bool = False) -> None:
        self.check_nan = check_nan
        self.check_inf = check_inf
        self.previous: list[tuple[bool, bool, bool]] = []

    def __enter__(self) -> None:
        self.previous.append((state.enabled, state.check_nan, state.check_inf))
        state.enabled = True
        state.check_nan = self.check_nan
        state.check_inf = self.check_inf

    def __exit__(self, *exc: object) -> None:
        state.enabled, state.check_nan, state.check_inf = self.previous.pop()

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with detect_anomaly(self.check_nan, check_inf=self.check_inf):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def check_gradients(node: Any, grads: tuple[Any, ...]) -> None:
    """Raise RuntimeError if one of `node`'s input gradients holds a NaN (or, with
    check_inf, an infinity)."""
    if not state.check_nan:
        return
    tests = [("nan", isnan)]
    if state.check_inf:
        tests.append(("inf", isinf))
    for i, g in enumerate(grads):
        if g is None:
            continue
        t = as_tensor(g).detach()
        if not t.is_floating_point():
            continue
        for kind, test in tests:
            if bool(test(t).any().item()):
                raise RuntimeError(
                    f"Function '{type(node).__name__}Backward' returned {kind} values in its "
                    f"{i}th output; the forward op was {type(node).__name__} (its backward "
                    "produced the bad gradient; look at its inputs, e.g. sqrt/log/div at 0)"
                )
