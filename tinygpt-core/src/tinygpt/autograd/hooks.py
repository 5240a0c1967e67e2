"""Gradient hooks: functions autograd calls with a gradient as backward computes it.

- `t.register_hook(fn)`: `fn(grad)` runs when the gradient of `t` is known (for a leaf,
  summed over all its uses, before it is added to `.grad`); it may return a replacement.
- `p.register_post_accumulate_grad_hook(fn)`: `fn(p)` runs on a leaf right after its `.grad`
  was updated (data-parallel training starts reducing a bucket of gradients from here).

Every registration returns a `RemovableHandle`; `handle.remove()` unregisters the hook.
Hooks on a leaf live on the tensor; hooks on a non-leaf live on the node that made it (its
`grad_fn`), keyed by which of the node's outputs it is.

>>> import tinygpt as tg
>>> x = tg.tensor([1.0, 2.0], requires_grad=True)
>>> handle = x.register_hook(lambda g: g * 10)
>>> (x * x).sum().backward()
>>> x.grad.tolist()
[20.0, 40.0]
>>> handle.remove()
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import ShapeError

if TYPE_CHECKING:
    from ..tensor import Tensor
    from .function import Function

__all__ = [
    "RemovableHandle",
    "TensorHookMethods",
    "TensorHooks",
    "run_grad_hooks",
    "output_hooks",
]

_ids = itertools.count()


class RemovableHandle:
    """What a `register_*hook` call returns: `remove()` (or leaving a `with` block) undoes it."""

    def __init__(self, registry: dict[int, Any]) -> None:
        self.id = next(_ids)
        self._registry = registry

    def remove(self) -> None:
        """Unregister the hook (a second call does nothing)."""
        self._registry.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class TensorHooks:
    """A leaf's hooks: `pre` see its gradient before accumulation, `post` see the tensor after."""

    __slots__ = ("pre", "post")

    def __init__(self) -> None:
        self.pre: dict[int, Callable[[Tensor], Tensor | None]] = {}
        self.post: dict[int, Callable[[Tensor], None]] = {}


def add_hook(registry: dict[int, Any], fn: Callable[..., Any]) -> RemovableHandle:
    """Put `fn` in `registry` (hooks run in registration order) and return its handle."""
    if not callable(fn):
        raise TypeError(f"register_hook: the hook must be callable, got {type(fn).__name__}")
    handle = RemovableHandle(registry)
    registry[handle.id] = fn
    return handle


#: set once any post-accumulate hook was registered: until then backward skips looking for
#: the step at which each leaf is complete
post_hooks_exist = False


def add_post_hook(registry: dict[int, Any], fn: Callable[..., Any]) -> RemovableHandle:
    """`add_hook` for a post-accumulate hook (backward then finishes leaves early)."""
    global post_hooks_exist
    post_hooks_exist = True
    return add_hook(registry, fn)


def output_hooks(node: Function, index: int) -> dict[int, Any]:
    """The hook registry for output `index` of `node` (made on first use)."""
    if node.hooks is None:
        node.hooks = {}
    return node.hooks.setdefault(index, {})


def run_grad_hooks(hooks: dict[int, Any], grad: Tensor, what: str) -> Tensor:
    """Call each hook with the gradient; one that returns a tensor replaces it for the next."""
    # NOTE: a copy, as a hook may remove itself while running; retain_grad's hook runs last
    # whenever it was registered, so `.grad` shows what flowed on (as in PyTorch)
    fns = list(hooks.values())
    fns.sort(key=lambda fn: getattr(fn, "retains_grad", False))
    for fn in fns:
        result = fn(grad)
        if result is None:
            continue
        if tuple(result.shape) != tuple(grad.shape):
            raise ShapeError(
                f"{what} hook: returned a gradient of shape {tuple(result.shape)}, but the "
                f"gradient has shape {tuple(grad.shape)}; return a tensor of that shape or None"
            )
        grad = result
    return grad


class TensorHookMethods:
    """Mixin of Tensor: registering hooks, and `retain_grad` (built on them)."""

    __slots__ = ()
    _hooks: TensorHooks | None  # a slot of Tensor

    def register_hook(self: Any, hook: Any) -> RemovableHandle:
        """Call `hook(grad)` whenever backward computes this tensor's gradient; a tensor it
        returns replaces the gradient. On a leaf it runs before `.grad` is updated (on the
        gradient summed over all uses), on a non-leaf before the gradient flows further."""
        self._check_hookable("register_hook")
        if self.grad_fn is None:
            return add_hook(self._leaf_hooks().pre, hook)
        ids = self.grad_fn.output_ids
        index = 0 if ids is None else ids[id(self)]
        return add_hook(output_hooks(self.grad_fn, index), hook)

    def register_post_accumulate_grad_hook(self: Any, hook: Any) -> RemovableHandle:
        """Call `hook(tensor)` on this leaf each time backward has updated its `.grad`."""
        self._check_hookable("register_post_accumulate_grad_hook")
        if self.grad_fn is not None:
            raise RuntimeError(
                "register_post_accumulate_grad_hook: only leaf tensors accumulate .grad; "
                "use register_hook on a non-leaf tensor"
            )
        return add_post_hook(self._leaf_hooks().post, hook)

    def retain_grad(self: Any) -> None:
        """Keep this non-leaf's gradient in `.grad` too (leaves always keep theirs)."""
        self._check_hookable("retain_grad")
        if self.grad_fn is None or self._retains_grad():
            return
        me = weakref.ref(self)

        def keep(grad: Tensor) -> None:
            owner = me()
            if owner is not None:
                detached = tensor_type._make(grad._data)
                owner._grad = detached if owner._grad is None else owner._grad + detached

        keep.retains_grad = True  # type: ignore[attr-defined]  # so a second call sees it
        self.register_hook(keep)

    def _retains_grad(self: Any) -> bool:
        hooks = self.grad_fn.hooks if self.grad_fn is not None else None
        if not hooks:
            return False
        ids = self.grad_fn.output_ids
        index = 0 if ids is None else ids[id(self)]
        return any(getattr(fn, "retains_grad", False) for fn in hooks.get(index, {}).values())

    def _check_hookable(self: Any, op: str) -> None:
        if not self.requires_grad:
            raise RuntimeError(
                f"{op}: this tensor does not require grad, so autograd never computes its "
                "gradient; call requires_grad_() on it (or on an input it is computed from)"
            )

    def _leaf_hooks(self: Any) -> TensorHooks:
        if self._hooks is None:
            self._hooks = TensorHooks()
        return self._hooks


#: the Tensor class, set by tensor.py when it is imported (tensor.py imports autograd, so
#: autograd cannot import it back); hooks see gradients as tensors
tensor_type: Any = None


def bind_tensor(cls: type) -> None:
    global tensor_type
    tensor_type = cls


def as_tensor(g: Any) -> Tensor:
    """A gradient as a tensor: an NDArray is wrapped (no copy); a tensor stays as it is."""
    if isinstance(g, tensor_type):
        return g
    return tensor_type._make(g, False)
