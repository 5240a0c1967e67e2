"""`tg.jit`: PyTorch's TorchScript entry points, so scripts that call them run unchanged.

tinygpt has no graph compiler (its speed is fused kernels, as `tg.compile` says), so
`script` and `trace` return what they are given, which computes the same results; the
decorators (`ignore`, `unused`, `export`) leave functions as they are, and `is_scripting()`
is False. Saving a TorchScript archive is the one thing that cannot be imitated:
`jit.save` raises, naming `tg.save(model.state_dict(), path)` instead.

>>> import tinygpt as tg
>>> f = tg.jit.script(lambda x: x * 2)
>>> f(tg.tensor([1.0])).tolist(), tg.jit.is_scripting()
([2.0], False)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

__all__ = [
    "Final",
    "annotate",
    "export",
    "fork",
    "freeze",
    "ignore",
    "is_scripting",
    "is_tracing",
    "load",
    "optimize_for_inference",
    "save",
    "script",
    "trace",
    "trace_module",
    "unused",
    "wait",
]

T = TypeVar("T")


def script(obj: T, *args: Any, **kwargs: Any) -> T:
    """The module or function itself (it runs as written)."""
    return obj


def trace(func: T, example_inputs: Any = None, *args: Any, **kwargs: Any) -> T:
    """The module or function itself (no trace is recorded; it runs as written)."""
    return func


def trace_module(module: T, inputs: Any = None, *args: Any, **kwargs: Any) -> T:
    return module


def freeze(module: T, *args: Any, **kwargs: Any) -> T:
    return module


def optimize_for_inference(module: T, *args: Any, **kwargs: Any) -> T:
    return module


def _marker(fn: Any = None, **kwargs: Any) -> Any:
    """`@jit.ignore` or `@jit.ignore(drop=True)`: the function unchanged."""
    if fn is None:
        return lambda inner: inner
    return fn


ignore = _marker
unused = _marker
export = _marker


def is_scripting() -> bool:
    return False


def is_tracing() -> bool:
    return False


def annotate(the_type: Any, value: T) -> T:
    return value


class _Done:
    """`jit.fork`'s future: the call already ran."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def wait(self) -> Any:
        return self.value


def fork(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> _Done:
    return _Done(fn(*args, **kwargs))


def wait(future: _Done) -> Any:
    return future.wait()


def save(m: Any, f: Any, *args: Any, **kwargs: Any) -> None:
    raise NotImplementedError(
        "jit.save: tinygpt writes no TorchScript archives; save the weights with "
        "tg.save(model.state_dict(), path) and rebuild the model in code"
    )


def load(f: Any, *args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError(
        "jit.load: tinygpt reads no TorchScript archives; load a state dict with tg.load(path) "
        "into the model built in code"
    )


_ = Final  # re-exported: `x: torch.jit.Final[int]` in module definitions
