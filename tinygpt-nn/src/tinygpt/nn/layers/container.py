"""Containers: Sequential, ModuleList, ModuleDict and Residual.

Submodules are registered under their position ("0", "1", ...) or key, so parameter names
and state-dict keys match PyTorch's ("0.weight", "blocks.3.attn.bias").

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> model = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
>>> [name for name, _ in model.named_parameters()]
['0.weight', '0.bias']
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from tinygpt import Tensor

from ..module import Module

__all__ = ["Sequential", "ModuleList", "ModuleDict", "Residual"]


def _index(name: str, idx: int, length: int) -> int:
    if not -length <= idx < length:
        raise IndexError(f"{name}: index {idx} is out of range for {length} modules")
    return idx % length


class Sequential(Module):
    """Calls its modules in order, each on the previous one's output.

    `Sequential(m0, m1, ...)` or `Sequential({"name": m, ...})` (names become the keys).
    """

    def __init__(self, *modules: Module | Mapping[str, Module]) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            for name, named in modules[0].items():
                self.add_module(name, named)
            return
        for i, item in enumerate(modules):
            if not isinstance(item, Module):
                raise TypeError(f"Sequential: item {i} is a {type(item).__name__}, not a Module")
            self.add_module(str(i), item)

    def forward(self, x: Any) -> Any:
        for module in self:
            x = module(x)
        return x

    def __getitem__(self, idx: int | slice) -> Any:
        modules = list(self._modules.values())
        if isinstance(idx, slice):
            return Sequential(*modules[idx])  # type: ignore[arg-type]
        return modules[_index("Sequential", idx, len(modules))]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(m for m in self._modules.values() if m is not None)

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self)), module)
        return self


class ModuleList(Module):
    """A list of modules whose parameters are all registered (a plain list would hide them)."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _renumber(self, modules: list[Module]) -> None:
        self._modules.clear()
        for i, module in enumerate(modules):
            self.add_module(str(i), module)

    def __getitem__(self, idx: int | slice) -> Any:
        modules = list(self._modules.values())
        if isinstance(idx, slice):
            return ModuleList(modules[idx])  # type: ignore[arg-type]
        return modules[_index("ModuleList", idx, len(modules))]

    def __setitem__(self, idx: int, module: Module) -> None:
        self.add_module(str(_index("ModuleList", idx, len(self))), module)

    def __delitem__(self, idx: int) -> None:
        modules = list(self._modules.values())
        del modules[_index("ModuleList", idx, len(modules))]
        self._renumber(modules)  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._modules.values())

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._renumber(modules)  # type: ignore[arg-type]

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleList has no forward(); iterate over it instead")


class ModuleDict(Module):
    """A dict of modules whose parameters are all registered, in insertion order."""

    def __init__(self, modules: Mapping[str, Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Any:
        if key not in self._modules:
            raise KeyError(f"ModuleDict: no module named {key!r}; keys: {list(self._modules)}")
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def keys(self) -> Iterable[str]:
        return self._modules.keys()

    def values(self) -> Iterable[Any]:
        return self._modules.values()

    def items(self) -> Iterable[tuple[str, Any]]:
        return self._modules.items()

    def update(self, modules: Mapping[str, Module]) -> None:
        for key, module in modules.items():
            self.add_module(key, module)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleDict has no forward(); index it by name instead")


class Residual(Module):
    """x + fn(x): a skip connection around `fn` (shapes in and out must match)."""

    def __init__(self, fn: Module) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: Tensor) -> Tensor:
        return x + self.fn(x)
