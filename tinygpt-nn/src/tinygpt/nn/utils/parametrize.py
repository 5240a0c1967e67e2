"""Parametrizations, PyTorch's `torch.nn.utils.parametrize`: a module's tensor computed on each
access from other parameters (`register_parametrization(layer, "weight", Symmetric())`).

The tensor's parameter moves to `module.parametrizations[name].original` (or `original0`,
`original1`, ... when the parametrization's `right_inverse` returns several), so
checkpoints use PyTorch's key names; reading `module.weight` runs the parametrizations in
order. The module's class is swapped for a subclass with a property of that name, as PyTorch
does, so nothing else about the module changes.

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> class Symmetric(nn.Module):
...     def forward(self, x):
...         return x.triu() + x.triu(1).transpose(0, 1)
>>> layer = nn.Linear(3, 3)
>>> _ = register_parametrization(layer, "weight", Symmetric())
>>> w = layer.weight
>>> bool((w == w.T).all()), sorted(layer.state_dict())[-1]
(True, 'parametrizations.weight.original')
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import tinygpt as tg
from tinygpt import Tensor

from ..layers.container import ModuleDict, ModuleList
from ..module import Module
from ..parameter import Parameter

__all__ = [
    "ParametrizationList",
    "cached",
    "is_parametrized",
    "register_parametrization",
    "remove_parametrizations",
    "type_before_parametrizations",
]

_cache: dict[tuple[int, str], Tensor] | None = None


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, in order, and the parameter(s) they start from."""

    def __init__(self, modules: list[Module], original: Tensor, unsafe: bool = False) -> None:
        super().__init__(modules)
        self.unsafe = unsafe
        start: Any = original
        with tg.no_grad():
            for module in reversed(modules):
                inverse = getattr(module, "right_inverse", None)
                if callable(inverse):
                    start = inverse(start)
        requires_grad = original.requires_grad
        if isinstance(start, Tensor):
            self.is_tensor = True
            self.ntensors = 1
            self.original = Parameter(start.detach().clone(), requires_grad=requires_grad)
        else:
            self.is_tensor = False
            self.ntensors = len(start)
            for index, part in enumerate(start):
                piece = Parameter(part.detach().clone(), requires_grad=requires_grad)
                setattr(self, f"original{index}", piece)

    def originals(self) -> list[Tensor]:
        if self.is_tensor:
            return [self.original]
        return [getattr(self, f"original{i}") for i in range(self.ntensors)]

    def forward(self) -> Tensor:
        value = self[0](*self.originals())
        for module in list(self)[1:]:
            value = module(value)
        return value

    def right_inverse(self, value: Tensor) -> None:
        """`module.weight = value`: store what the parametrizations map back to it."""
        start: Any = value
        with tg.no_grad():
            for module in reversed(list(self)):
                inverse = getattr(module, "right_inverse", None)
                if callable(inverse):
                    start = inverse(start)
            parts = [start] if self.is_tensor else list(start)
            for target, part in zip(self.originals(), parts, strict=True):
                target.copy_(part)


def _property(name: str) -> property:
    def get(module: Module) -> Tensor:
        key = (id(module), name)
        if _cache is not None and key in _cache:
            return _cache[key]
        value = module.parametrizations[name]()
        if _cache is not None:
            _cache[key] = value
        return value

    def set_(module: Module, value: Tensor) -> None:
        module.parametrizations[name].right_inverse(value)

    return property(get, set_)


def register_parametrization(
    module: Module, tensor_name: str, parametrization: Module, *, unsafe: bool = False
) -> Module:
    """Make `module.<tensor_name>` the output of `parametrization` (after any earlier ones)."""
    if is_parametrized(module, tensor_name):
        module.parametrizations[tensor_name].append(parametrization)
        return module
    original = getattr(module, tensor_name, None)
    if not isinstance(original, Tensor):
        raise ValueError(
            f"register_parametrization: {type(module).__name__} has no parameter or buffer "
            f"named {tensor_name!r}"
        )
    delattr(module, tensor_name)
    if not is_parametrized(module):
        module.parametrizations = ModuleDict()
        base = type(module)
        subclass = type(f"Parametrized{base.__name__}", (base,), {"_base_class": base})
        object.__setattr__(module, "__class__", subclass)
    module.parametrizations[tensor_name] = ParametrizationList([parametrization], original, unsafe)
    setattr(type(module), tensor_name, _property(tensor_name))
    return module


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    """Whether `module` (or its tensor `tensor_name`) has a parametrization."""
    found = module.__dict__.get("_modules", {}).get("parametrizations")
    if not isinstance(found, ModuleDict):
        return False
    return tensor_name is None or tensor_name in found


def type_before_parametrizations(module: Module) -> type:
    """The module's class before `register_parametrization` swapped it."""
    return getattr(type(module), "_base_class", type(module))


def remove_parametrizations(
    module: Module, tensor_name: str, leave_parametrized: bool = True
) -> Module:
    """Undo `register_parametrization` for `tensor_name`: a plain parameter again, holding
    the parametrized value (or, with leave_parametrized=False, the single original)."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(
            f"remove_parametrizations: {type(module).__name__}.{tensor_name} has no parametrization"
        )
    chain = module.parametrizations[tensor_name]
    if leave_parametrized:
        with tg.no_grad():
            value = chain()
    elif chain.is_tensor:
        value = chain.original
    else:
        raise ValueError(
            "remove_parametrizations: leave_parametrized=False needs a single original tensor"
        )
    requires_grad = chain.originals()[0].requires_grad
    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    setattr(module, tensor_name, Parameter(value.detach().clone(), requires_grad=requires_grad))
    if len(module.parametrizations) == 0:
        delattr(module, "parametrizations")
        object.__setattr__(module, "__class__", type_before_parametrizations(module))
    return module


@contextlib.contextmanager
def cached() -> Iterator[None]:
    """Inside the block each parametrized tensor is computed once and reused."""
    global _cache
    outer = _cache
    _cache = {} if outer is None else outer
    try:
        yield
    finally:
        _cache = outer
