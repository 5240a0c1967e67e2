"""Fused kernels contributed by plugins (`tinygpt_register_kernels`), and which one wins.

A backend may implement a fused kernel itself (listing it in ``fused_ops``); a plugin may also
contribute one for any backend by name. For each (backend, op) the rule is:

1. the highest priority wins;
2. the backend's own kernel counts as priority 0 and wins ties (so overriding it takes
   ``priority > 0``, and ``priority < 0`` means "only where the backend has none");
3. among plugins with equal priority, the plugin whose name sorts first wins (install order
   never decides), and the tie is reported by ``tinygpt backends``.

The winner is bound onto the backend instance when the registry creates it, so a kernel call
stays one direct method call (no lookup, no pluggy).

>>> table = KernelTable()
>>> table.add(KernelInfo("numpy", "softmax", "fast", 5, forward=lambda backend, x, a, l: x))
>>> table.add(KernelInfo("numpy", "softmax", "slow", 1, forward=lambda backend, x, a, l: x))
>>> [(k.plugin, k.status) for k in table.describe()]
[('fast', 'selected (priority 5)'), ('slow', 'shadowed by fast (priority 5)')]
"""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .protocol import FUSED_OPS

if TYPE_CHECKING:
    from .protocol import Backend

__all__ = ["KernelInfo", "KernelTable", "BACKWARD_OF"]

#: fused op -> the protocol method of its backward pass (None: softmax's backward is composed
#: by core; adamw and topk have none)
BACKWARD_OF: dict[str, str | None] = {
    "softmax": None,
    "layer_norm": "layer_norm_backward",
    "cross_entropy": "cross_entropy_backward",
    "attention": "attention_backward",
    "gelu": "gelu_backward",
    "adamw": None,  # an optimizer update: nothing to differentiate
    "topk": None,  # positions: core gathers the values, and that gather has the backward
}
assert set(BACKWARD_OF) == FUSED_OPS, "every fused op needs a BACKWARD_OF entry"


@dataclass
class KernelInfo:
    """One fused kernel a plugin registered for a backend."""

    backend: str
    op: str
    plugin: str
    priority: int
    forward: Callable[..., object]
    backward: Callable[..., object] | None = None
    #: how it fares among the plugins: "selected (priority 5)", "shadowed by x (priority 7)"
    status: str = ""
    #: set once a backend instance exists: "active on numpy", "shadowed by numpy's own kernel"
    resolution: str = ""


class KernelTable:
    """Every contributed kernel, grouped by (backend, op)."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], list[KernelInfo]] = {}

    def validate(self, info: KernelInfo) -> str | None:
        """Why this registration is unusable, or None when it is fine."""
        if info.op not in FUSED_OPS:
            return f"unknown fused op {info.op!r}; expected one of {sorted(FUSED_OPS)}"
        if not callable(info.forward):
            return f"forward for {info.op!r} is not callable"
        if isinstance(info.priority, bool) or not isinstance(info.priority, int):
            return f"priority must be an int, got {info.priority!r}"
        wanted = BACKWARD_OF[info.op]
        if wanted is not None and not callable(info.backward):
            return f"{info.op!r} needs backward= (the {wanted} kernel) as well as forward"
        if wanted is None and info.backward is not None:
            return f"{info.op!r} takes no backward kernel; pass backward=None"
        return None

    def add(self, info: KernelInfo) -> None:
        self.entries.setdefault((info.backend, info.op), []).append(info)

    def ranked(self, backend: str, op: str) -> list[KernelInfo]:
        """The contributions for (backend, op), the winner first (priority, then plugin)."""
        found = self.entries.get((backend, op), [])
        return sorted(found, key=lambda k: (-k.priority, k.plugin))

    def describe(self, installed: set[str] | None = None) -> list[KernelInfo]:
        """Every contribution with its `status`, for `tinygpt backends` (winners first)."""
        rows = []
        for backend, op in sorted(self.entries):
            ranked = self.ranked(backend, op)
            best = ranked[0]
            tied = [k.plugin for k in ranked[1:] if k.priority == best.priority]
            for info in ranked:
                if installed is not None and backend not in installed:
                    info.status = f"unused: no backend {backend!r} is installed"
                elif info.resolution:
                    info.status = info.resolution  # decided against a live backend instance
                elif info is best:
                    info.status = f"selected (priority {info.priority})"
                else:
                    info.status = f"shadowed by {best.plugin} (priority {best.priority})"
                if info is best and tied:
                    info.status += f"; tie with {', '.join(tied)}: won by plugin name"
                rows.append(info)
        return rows

    def apply(self, backend: Backend) -> None:
        """Bind the winning contributed kernels onto a new backend instance."""
        native = set(type(backend).fused_ops)
        added = set()
        for (name, op), _ in sorted(self.entries.items()):
            if name != backend.name:
                continue
            ranked = self.ranked(name, op)
            best = ranked[0]
            if op in native and best.priority <= 0:
                for info in ranked:
                    info.resolution = f"shadowed by {name}'s own kernel (priority 0, wins ties)"
                continue
            _bind(backend, op, best.forward)
            backward = BACKWARD_OF[op]
            if backward is not None:
                _bind(backend, backward, best.backward)
            added.add(op)
            best.resolution = f"active on {name} (priority {best.priority})"
            for info in ranked[1:]:
                info.resolution = f"shadowed by {best.plugin} (priority {best.priority})"
        if added:
            # an instance attribute: core reads `backend.fused_ops` to decide what to call
            backend.fused_ops = frozenset(native | added)


def _bind(backend: Backend, method: str, fn: Callable[..., object] | None) -> None:
    """Make `fn(backend, ...)` the instance's `method`: a plain attribute, fast to call."""
    assert fn is not None
    setattr(backend, method, types.MethodType(fn, backend))
