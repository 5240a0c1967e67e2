"""ParameterList and ParameterDict: parameters held in a list or dict, all registered.

A plain Python list of Parameters hides them from `parameters()`, `state_dict()` and `.to()`;
these containers register each one under its position ("0", "1", ...) or key, so names match
PyTorch's ("scales.0", "heads.q"). A plain Tensor put in is wrapped as a Parameter, as in
PyTorch 2.

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> ps = nn.ParameterList([nn.Parameter(tg.ones(2)), tg.zeros(3)])
>>> [(name, tuple(p.shape)) for name, p in ps.named_parameters()]
[('0', (2,)), ('1', (3,))]
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from tinygpt import Tensor

from ..module import Module
from ..parameter import Parameter

__all__ = ["ParameterList", "ParameterDict"]


def _as_parameter(where: str, value: Any) -> Any:
    if isinstance(value, Parameter) or value is None:
        return value
    if isinstance(value, Tensor):
        return Parameter(value)
    raise TypeError(
        f"{where}: expected a Parameter or Tensor, got {type(value).__name__}; "
        "wrap the data with nn.Parameter(tg.tensor(...))"
    )


def _listing(container: Module) -> str:
    """One line per parameter, as PyTorch prints these containers."""
    lines = [
        f"  ({name}): Parameter containing: [{p.dtype} of size {'x'.join(map(str, p.shape))}]"
        for name, p in container._parameters.items()
        if p is not None
    ]
    name = type(container).__name__
    return f"{name}(\n" + "\n".join(lines) + "\n)" if lines else f"{name}()"


class ParameterList(Module):
    """A list of parameters, registered as "0", "1", ... ."""

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        if values is not None:
            self.extend(values)

    def _index(self, idx: int) -> int:
        n = len(self)
        if not -n <= idx < n:
            raise IndexError(f"ParameterList: index {idx} is out of range for {n} parameters")
        return idx % n

    def __getitem__(self, idx: int | slice) -> Any:
        values = list(self._parameters.values())
        if isinstance(idx, slice):
            return ParameterList(values[idx])
        return values[self._index(idx)]

    def __setitem__(self, idx: int, value: Any) -> None:
        self.register_parameter(
            str(self._index(idx)), _as_parameter("ParameterList.__setitem__", value)
        )

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._parameters.values())

    def __iadd__(self, values: Iterable[Any]) -> ParameterList:
        return self.extend(values)

    def append(self, value: Any) -> ParameterList:
        self.register_parameter(str(len(self)), _as_parameter("ParameterList.append", value))
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        if isinstance(values, Tensor):
            # a Tensor is iterable (its rows); extending with one is almost surely a mistake
            raise TypeError("ParameterList.extend: expected an iterable of tensors, got a Tensor")
        for value in values:
            self.append(value)
        return self

    def __repr__(self) -> str:
        return _listing(self)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ParameterList has no forward(); iterate over it instead")


class ParameterDict(Module):
    """A dict of parameters by string key, registered under those keys, in insertion order."""

    def __init__(self, values: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None):
        super().__init__()
        if values is not None:
            self.update(values)

    def __getitem__(self, key: str) -> Any:
        if key not in self._parameters:
            raise KeyError(
                f"ParameterDict: no parameter named {key!r}; keys: {list(self._parameters)}"
            )
        return self._parameters[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(f"ParameterDict: keys must be strings, got {type(key).__name__}")
        self.register_parameter(key, _as_parameter("ParameterDict.__setitem__", value))

    def __delitem__(self, key: str) -> None:
        self[key]  # the KeyError that names the keys
        del self._parameters[key]

    def __contains__(self, key: object) -> bool:
        return key in self._parameters

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[str]:
        return iter(self._parameters)

    def keys(self) -> Iterable[str]:
        return self._parameters.keys()

    def values(self) -> Iterable[Any]:
        return self._parameters.values()

    def items(self) -> Iterable[tuple[str, Any]]:
        return self._parameters.items()

    def get(self, key: str, default: Any = None) -> Any:
        return self._parameters.get(key, default)

    def pop(self, key: str) -> Any:
        value = self[key]
        del self._parameters[key]
        return value

    def clear(self) -> None:
        self._parameters.clear()

    def update(self, values: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> None:
        pairs = values.items() if isinstance(values, Mapping) else values
        for key, value in pairs:
            self[key] = value

    def __repr__(self) -> str:
        return _listing(self)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ParameterDict has no forward(); index it by key instead")
