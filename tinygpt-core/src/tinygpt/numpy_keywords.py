"""NumPy's keyword names, which PyTorch accepts as aliases: `axis=` for `dim=` and
`keepdims=` for `keepdim=` (`torch.sum(x, axis=1)`, `counts.sum(1, keepdims=True)` as
Karpathy's makemore notebooks write it).

`install` gives tinygpt's functions and Tensor methods the same aliases: each one whose
parameters include `dim` (or `keepdim`) but not the NumPy name is wrapped once, at import, in
a function that renames the keyword and calls it. A call without keywords costs one extra
frame; `Tensor.sum` and `Tensor.mean` (per-op hot paths) take both names in their own
signatures and are left as they are.

>>> import tinygpt as tg
>>> tg.ones(2, 3).amax(axis=1, keepdims=True).shape
(2, 1)
"""

from __future__ import annotations

import functools
from collections.abc import Callable, MutableMapping
from types import FunctionType
from typing import Any

__all__ = ["ALIASES", "install", "with_numpy_keywords"]

#: NumPy's name -> PyTorch's
ALIASES = {"axis": "dim", "keepdims": "keepdim"}


def _parameters(fn: FunctionType) -> tuple[str, ...]:
    code = fn.__code__
    return code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]


def _missing_aliases(fn: Any) -> dict[str, str]:
    """The aliases `fn` lacks, among those whose PyTorch name it takes."""
    if not isinstance(fn, FunctionType) or getattr(fn, "__numpy_keywords__", False):
        return {}
    names = _parameters(fn)
    return {alias: name for alias, name in ALIASES.items() if name in names and alias not in names}


def with_numpy_keywords(fn: Callable[..., Any], rename: dict[str, str]) -> Callable[..., Any]:
    """`fn`, also called with the NumPy names in `rename` (alias -> PyTorch's name)."""

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        if kwargs:
            for alias, name in rename.items():
                if alias in kwargs:
                    if name in kwargs:
                        raise TypeError(
                            f"{fn.__name__}() got both {name}= and its alias {alias}=; pass one"
                        )
                    kwargs[name] = kwargs.pop(alias)
        return fn(*args, **kwargs)

    call.__numpy_keywords__ = True  # type: ignore[attr-defined]
    return call


def install(namespace: MutableMapping[str, Any], names: list[str], cls: type) -> int:
    """Wrap the functions `names` of `namespace` (a module's globals) and every public method
    of `cls` (through its bases) that lack an alias. Returns how many were wrapped."""
    wrapped = 0
    for name in names:
        function = namespace.get(name)
        rename = _missing_aliases(function)
        if function is not None and rename:
            namespace[name] = with_numpy_keywords(function, rename)
            wrapped += 1
    for name in dir(cls):
        if name.startswith("_"):
            continue
        method = getattr(cls, name, None)
        rename = _missing_aliases(method)
        if method is not None and rename:
            setattr(cls, name, with_numpy_keywords(method, rename))
            wrapped += 1
    return wrapped
