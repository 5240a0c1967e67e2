"""`tg.compile(model)`: PyTorch's compiler entry point, running the model as it is.

tinygpt has no graph compiler: its speed comes from fused kernels that the ops reach
directly. `tg.compile` takes PyTorch's arguments and returns the module or function
unchanged (what `torch.compile(..., backend="eager")` computes), so a script that compiles
its model (nanoGPT's train.py does by default) runs, with the same results and the same
`state_dict` keys. Used without a model it is a decorator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["compile"]


def compile(  # noqa: A001 - PyTorch's name
    model: Any = None,
    *,
    fullgraph: bool = False,
    dynamic: bool | None = None,
    backend: str | Callable[..., Any] = "inductor",
    mode: str | None = None,
    options: dict[str, Any] | None = None,
    disable: bool = False,
) -> Any:
    """`model` itself (or, with no model, a decorator that returns its function itself)."""
    del fullgraph, dynamic, backend, mode, options, disable
    if model is None:
        return lambda fn: fn
    if not callable(model):
        raise TypeError(f"compile: expected a module or a function, got {type(model).__name__}")
    return model
