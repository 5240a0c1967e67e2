"""Module methods that find members by dotted name (`get_parameter`, `get_buffer`) and cast
by dtype (`type`), as in PyTorch. A mixin of `Module`, kept apart to keep module.py short.

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> model = nn.Sequential(nn.Linear(2, 3))
>>> tuple(model.get_parameter("0.bias").shape)
(3,)
"""

from __future__ import annotations

from typing import Any, TypeVar

__all__ = ["ModuleLookup"]

M = TypeVar("M")


class ModuleLookup:
    """`get_parameter("blocks.0.attn.weight")`, `get_buffer(...)`, `type(tg.float64)`."""

    def _member(self, op: str, target: str, registry: str) -> Any:
        module_path, _, name = target.rpartition(".")
        owner: Any = self.get_submodule(module_path)  # type: ignore[attr-defined]
        members = owner.__dict__[registry]
        if name not in members:
            kind = registry.strip("_")[:-1]  # "_parameters" -> "parameter"
            raise AttributeError(
                f"{op}: {type(owner).__name__} has no {kind} {name!r} (target {target!r}); "
                f"its {registry.strip('_')}: {list(members)}"
            )
        return members[name]

    def get_parameter(self, target: str) -> Any:
        """The Parameter at a dotted name, as `named_parameters()` lists it."""
        return self._member("get_parameter", target, "_parameters")

    def get_buffer(self, target: str) -> Any:
        """The buffer at a dotted name, as `named_buffers()` lists it."""
        return self._member("get_buffer", target, "_buffers")

    def type(self: M, dst_type: Any) -> M:
        """Cast the floating parameters and buffers to `dst_type` (same as `.to(dst_type)`)."""
        return self.to(dst_type)  # type: ignore[attr-defined]
