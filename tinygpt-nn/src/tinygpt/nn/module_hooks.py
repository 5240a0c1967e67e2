"""Module hooks, as in PyTorch: code that runs around a module's forward, and a backward hook
that sees the gradients of the module's inputs and outputs.

- `register_forward_pre_hook(hook)`: `hook(module, args)` before forward; it may return new
  args (a tuple, or one value that becomes a 1-tuple).
- `register_forward_hook(hook)`: `hook(module, args, output)` after forward; it may return a
  new output.
- `register_full_backward_pre_hook(hook)`: `hook(module, grad_output)` before the gradients
  flow into the module; it may return a replacement `grad_output`.
- `register_full_backward_hook(hook)`: `hook(module, grad_input, grad_output)` once the
  gradients of the module's tensor inputs are known; it may return a replacement
  `grad_input`. Built on `tg.autograd.with_grad_hook`: the inputs and outputs pass through
  an identity node whose backward shows their gradients (as PyTorch's BackwardHook does).

Each registration returns a handle with `.remove()`; `prepend=True` puts a hook first, and
forward hooks take `with_kwargs=True` to see (and change) keyword arguments too.

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> layer = nn.Linear(2, 2)
>>> shapes = []
>>> handle = layer.register_forward_hook(lambda m, args, out: shapes.append(out.shape))
>>> _ = layer(tg.ones(3, 2))
>>> shapes
[(3, 2)]
>>> handle.remove()
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tinygpt as tg
from tinygpt import Tensor
from tinygpt.autograd import RemovableHandle, with_grad_hook

__all__ = ["HookRegistration", "ModuleHooks", "call_with_hooks"]


class ModuleHooks:
    """One module's hooks, each registry {handle id: hook} in registration order."""

    def __init__(self) -> None:
        self.forward_pre: dict[int, Callable[..., Any]] = {}
        self.forward: dict[int, Callable[..., Any]] = {}
        self.backward_pre: dict[int, Callable[..., Any]] = {}
        self.backward: dict[int, Callable[..., Any]] = {}
        #: handle ids of forward (pre-)hooks registered with_kwargs=True
        self.with_kwargs: set[int] = set()

    def add(
        self,
        registry: dict[int, Callable[..., Any]],
        hook: Any,
        op: str,
        prepend: bool = False,
        with_kwargs: bool = False,
    ) -> RemovableHandle:
        """Put `hook` last (or first, with `prepend`) in `registry`; return its handle."""
        if not callable(hook):
            raise TypeError(f"{op}: the hook must be callable, got {type(hook).__name__}")
        handle = RemovableHandle(registry)
        if prepend:
            rest = dict(registry)
            registry.clear()
            registry[handle.id] = hook
            registry.update(rest)
        else:
            registry[handle.id] = hook
        if with_kwargs:
            self.with_kwargs.add(handle.id)
        return handle

    def __bool__(self) -> bool:
        return bool(self.forward_pre or self.forward or self.backward_pre or self.backward)


class HookRegistration:
    """Mixin of Module: the `register_*_hook` methods."""

    #: None until the first hook is registered (Module.__call__ then takes the fast path)
    _module_hooks: ModuleHooks | None = None

    def _hook_registry(self) -> ModuleHooks:
        if self._module_hooks is None:
            # NOTE: object.__setattr__, as Module.__setattr__ tracks parameters and modules
            object.__setattr__(self, "_module_hooks", ModuleHooks())
        assert self._module_hooks is not None
        return self._module_hooks

    def register_forward_pre_hook(
        self, hook: Callable[..., Any], *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """`hook(module, args)` runs before forward; it may return replacement args. With
        `with_kwargs`: `hook(module, args, kwargs)`, returning None or (args, kwargs)."""
        hooks = self._hook_registry()
        op = "register_forward_pre_hook"
        return hooks.add(hooks.forward_pre, hook, op, prepend, with_kwargs)

    def register_forward_hook(
        self, hook: Callable[..., Any], *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """`hook(module, args, output)` runs after forward; it may return a new output.
        With `with_kwargs`: `hook(module, args, kwargs, output)`."""
        hooks = self._hook_registry()
        return hooks.add(hooks.forward, hook, "register_forward_hook", prepend, with_kwargs)

    def register_full_backward_pre_hook(
        self, hook: Callable[..., Any], *, prepend: bool = False
    ) -> RemovableHandle:
        """`hook(module, grad_output)` runs when the gradients of the module's outputs are
        known, before they flow into it; it may return a replacement grad_output."""
        hooks = self._hook_registry()
        op = "register_full_backward_pre_hook"
        return hooks.add(hooks.backward_pre, hook, op, prepend)

    def register_full_backward_hook(
        self, hook: Callable[..., Any], *, prepend: bool = False
    ) -> RemovableHandle:
        """`hook(module, grad_input, grad_output)` runs when the gradients of the module's
        tensor inputs are known (tuples, None where there is none); it may return a
        replacement grad_input."""
        hooks = self._hook_registry()
        return hooks.add(hooks.backward, hook, "register_full_backward_hook", prepend)


def call_with_hooks(module: Any, hooks: ModuleHooks, args: tuple, kwargs: dict) -> Any:
    """module.forward(*args, **kwargs) with its hooks around it."""
    for key, hook in list(hooks.forward_pre.items()):
        if key in hooks.with_kwargs:
            result = hook(module, args, kwargs)
            if result is not None:
                args, kwargs = result
        else:
            result = hook(module, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
    backward = None
    if (hooks.backward or hooks.backward_pre) and tg.is_grad_enabled():
        backward = _BackwardHooks(module, hooks)
        args = backward.wrap_inputs(args)
    output = module.forward(*args, **kwargs)
    for key, hook in list(hooks.forward.items()):
        if key in hooks.with_kwargs:
            result = hook(module, args, kwargs, output)
        else:
            result = hook(module, args, output)
        if result is not None:
            output = result
    if backward is not None:
        output = backward.wrap_outputs(output)
    return output


class _BackwardHooks:
    """One forward call's backward-hook plumbing: outputs' gradients are seen first (and
    kept), then the inputs' gradients, when the module's hooks run."""

    def __init__(self, module: Any, hooks: ModuleHooks) -> None:
        self.module = module
        self.hooks = hooks
        self.grad_output: tuple[Tensor | None, ...] = ()
        self.n_inputs = 0
        self.inputs_hooked = False

    def wrap_inputs(self, args: tuple) -> tuple:
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.n_inputs = len(positions)
        tensors = [args[i] for i in positions]
        if not self.hooks.backward or not any(t.requires_grad for t in tensors):
            return args  # nothing flows back into the inputs: the outputs' node calls hooks
        self.inputs_hooked = True
        wrapped = with_grad_hook(tensors, self.on_input_grads)
        new_args = list(args)
        for i, t in zip(positions, wrapped, strict=True):
            new_args[i] = t
        return tuple(new_args)

    def wrap_outputs(self, output: Any) -> Any:
        single = isinstance(output, Tensor)
        tensors = [output] if single else [o for o in output if isinstance(o, Tensor)]
        if not any(t.requires_grad for t in tensors):
            return output
        wrapped = iter(with_grad_hook(tensors, self.on_output_grads))
        if single:
            return next(wrapped)
        rebuilt = [next(wrapped) if isinstance(o, Tensor) else o for o in output]
        if hasattr(output, "_fields"):  # a named tuple
            return type(output)(*rebuilt)
        return type(output)(rebuilt) if isinstance(output, (tuple, list)) else rebuilt

    def on_output_grads(self, grads: tuple[Tensor | None, ...]) -> tuple[Tensor | None, ...]:
        for hook in list(self.hooks.backward_pre.values()):
            result = hook(self.module, grads)
            if result is not None:
                grads = tuple(result)
        self.grad_output = grads
        if not self.inputs_hooked and self.hooks.backward:  # as PyTorch: grad_input all None
            self.call_hooks((None,) * self.n_inputs)
        return grads

    def on_input_grads(self, grads: tuple[Tensor | None, ...]) -> tuple[Tensor | None, ...]:
        return self.call_hooks(grads)

    def call_hooks(self, grad_input: tuple[Tensor | None, ...]) -> tuple[Tensor | None, ...]:
        for hook in list(self.hooks.backward.values()):
            result = hook(self.module, grad_input, self.grad_output)
            if result is not None:
                grad_input = tuple(result)
        return grad_input
