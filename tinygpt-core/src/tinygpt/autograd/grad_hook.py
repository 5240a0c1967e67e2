"""`with_grad_hook`: an identity on some tensors whose backward shows their gradients to a
hook all at once, and lets it replace them. Module backward hooks are built on it.

>>> import tinygpt as tg
>>> x = tg.tensor([1.0, 2.0], requires_grad=True)
>>> seen = []
>>> (y,) = tg.autograd.with_grad_hook([x], lambda grads: seen.append(grads[0].tolist()))
>>> (y * 3).sum().backward()
>>> seen
[[3.0, 3.0]]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .differentiable import formula
from .function import Function
from .hooks import as_tensor

if TYPE_CHECKING:
    from ..tensor import Tensor

__all__ = ["with_grad_hook", "GradHook"]

#: hook(grads) -> None (keep them) or a replacement per tensor (None for no gradient)
GradsHook = Callable[[tuple[Any, ...]], Sequence[Any] | None]


class GradHook(Function):
    """Identity on n tensors (one node, n outputs); backward calls `hook` with the n
    gradients as tensors (None where there is none) and passes on what it returns."""

    def forward(self, *xs: Any, hook: GradsHook | None = None) -> tuple[Any, ...]:
        self.hook = hook
        return xs

    def backward(self, *grads: Any) -> tuple[Any, ...]:
        shown = tuple(as_tensor(g) if g is not None else None for g in grads)
        replaced = self.passed_on(shown)
        return tuple(None if r is None else r._data for r in replaced)

    def passed_on(self, grads: tuple[Tensor | None, ...]) -> tuple[Tensor | None, ...]:
        """The hook's answer, checked: one gradient (or None) per tensor, of its shape."""
        grads = tuple(g if needed else None for g, needed in zip(grads, self.needs_grad))
        assert self.hook is not None
        result = self.hook(grads)
        if result is None:
            return grads
        result = tuple(result)
        if len(result) != len(grads):
            raise ValueError(
                f"backward hook: returned {len(result)} gradients for {len(grads)} tensors; "
                "return one per tensor (None where there is none) or None to keep them"
            )
        for new, old in zip(result, grads, strict=True):
            if new is not None and old is not None and tuple(new.shape) != tuple(old.shape):
                raise ValueError(
                    f"backward hook: returned a gradient of shape {tuple(new.shape)} for one of "
                    f"shape {tuple(old.shape)}"
                )
        return result


@formula(GradHook, reads_inputs=False)
def _grad_hook(node: GradHook, *grads: Tensor | None) -> tuple[Tensor | None, ...]:
    return node.passed_on(grads)


def with_grad_hook(tensors: Sequence[Tensor], hook: GradsHook) -> tuple[Tensor, ...]:
    """The same tensors, through one graph node whose backward calls `hook(grads)`.

    `grads` holds one gradient per tensor (None for one that needs none or got none). The
    hook may return a replacement sequence (one tensor or None each) or None. With no tensor
    needing grad no node is made and the hook never runs.
    """
    tensors = tuple(tensors)
    if not tensors:
        return ()
    outs = GradHook.apply(*tensors, hook=hook)
    for out, source in zip(outs, tensors, strict=True):
        out._share_memory_of(source)  # each output is its input's memory, for in-place checks
    return outs
