"""Optimizer step hooks, PyTorch's `register_step_pre_hook` / `register_step_post_hook`:
functions called around every `optimizer.step()`, e.g. to log, clip or skip an update.

    def log(optimizer, args, kwargs):
        print("stepping", type(optimizer).__name__)
    handle = opt.register_step_pre_hook(log)
    ...
    handle.remove()

A hook's `args` start with the optimizer itself, as in PyTorch; a pre-hook may return
`(args, kwargs)` to replace them (and step's other arguments). Hooks registered with
the module-level `register_optimizer_step_pre_hook` / `..._post_hook` run for every optimizer.
`Optimizer.__init__` wraps the class's `step` once (`wrap_step`), as PyTorch patches it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from tinygpt.autograd import RemovableHandle

__all__ = [
    "register_optimizer_step_post_hook",
    "register_optimizer_step_pre_hook",
    "wrap_step",
]

#: (optimizer, args, kwargs) -> None, or (args, kwargs) to replace them (pre-hooks only)
StepHook = Callable[[Any, tuple[Any, ...], dict[str, Any]], Any]

_global_pre_hooks: dict[int, StepHook] = {}
_global_post_hooks: dict[int, StepHook] = {}


def register_optimizer_step_pre_hook(hook: StepHook) -> RemovableHandle:
    """Run `hook(optimizer, args, kwargs)` before every optimizer's step."""
    handle = RemovableHandle(_global_pre_hooks)
    _global_pre_hooks[handle.id] = hook
    return handle


def register_optimizer_step_post_hook(hook: StepHook) -> RemovableHandle:
    """Run `hook(optimizer, args, kwargs)` after every optimizer's step."""
    handle = RemovableHandle(_global_post_hooks)
    _global_post_hooks[handle.id] = hook
    return handle


def wrap_step(cls: type) -> None:
    """Make `cls.step` run the step hooks around it (once per class: a wrapped step is kept)."""
    step = cls.__dict__.get("step")
    if step is None:  # inherited: the class that defines it gets wrapped instead
        for base in cls.__mro__[1:]:
            if "step" in base.__dict__:
                wrap_step(base)
                return
        return
    if getattr(step, "_runs_step_hooks", False):
        return

    @functools.wraps(step)
    def stepped(self: Any, *args: Any, **kwargs: Any) -> Any:
        own_pre = getattr(self, "_step_pre_hooks", None)
        if not own_pre and not _global_pre_hooks and not _has_post(self):
            return step(self, *args, **kwargs)  # no hooks: the plain step
        # NOTE: as in PyTorch, the hooks' `args` start with the optimizer itself
        full_args: tuple[Any, ...] = (self, *args)
        for hook in [*_global_pre_hooks.values(), *(own_pre or {}).values()]:
            result = hook(self, full_args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(
                        f"optimizer step pre-hook {hook!r} must return None or (args, kwargs), "
                        f"got {result!r:.80}"
                    )
                full_args, kwargs = result
        out = step(*full_args, **kwargs)
        own_post = getattr(self, "_step_post_hooks", None) or {}
        for hook in [*own_post.values(), *_global_post_hooks.values()]:
            hook(self, full_args, kwargs)
        return out

    stepped._runs_step_hooks = True  # type: ignore[attr-defined]
    cls.step = stepped  # type: ignore[attr-defined]


def _has_post(optimizer: Any) -> bool:
    return bool(getattr(optimizer, "_step_post_hooks", None)) or bool(_global_post_hooks)
