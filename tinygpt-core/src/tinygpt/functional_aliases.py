"""`tg.*` functions that PyTorch code calls by name and that are other names for existing ops:
`tg.add(a, b, alpha=2)`, `tg.eq`, `tg.mm`, `tg.bmm`, `tg.pow`, `tg.is_tensor`, `tg.nonzero`, ...

Each is a one-line call to a Tensor method or an op (the compositions are in `ops/aliases.py`,
the methods in `tensor_aliases.py`).

>>> import tinygpt as tg
>>> tg.add(tg.tensor([1.0]), tg.tensor([2.0]), alpha=3).tolist()
[7.0]
"""

from __future__ import annotations

import builtins
from typing import Any

from . import dtypes
from .dtypes import DType
from .ops import aliases, comparison, elementwise
from .ops.aliases import bmm, mm, outer
from .random import Generator
from .tensor import Tensor

__all__ = [
    "add",
    "amax",
    "amin",
    "bernoulli",
    "bmm",
    "clip",
    "dot",
    "eq",
    "equal",
    "get_default_dtype",
    "ge",
    "gt",
    "is_floating_point",
    "is_tensor",
    "le",
    "lerp",
    "log1p",
    "logical_and",
    "logical_not",
    "logical_or",
    "lt",
    "mm",
    "mul",
    "ne",
    "neg",
    "negative",
    "nonzero",
    "numel",
    "outer",
    "pow",
    "reciprocal",
    "repeat_interleave",
    "set_default_dtype",
    "sign",
    "square",
    "sub",
]


def add(input: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:  # noqa: A002 - PyTorch's name
    return input.add(other, alpha=alpha)


def sub(input: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:  # noqa: A002
    return input.sub(other, alpha=alpha)


def mul(input: Tensor, other: Any) -> Tensor:  # noqa: A002
    return elementwise.binary("mul", input, other)


def pow(input: Any, exponent: Any) -> Tensor:  # noqa: A001, A002
    if isinstance(input, Tensor):
        return elementwise.binary("pow", input, exponent)
    return elementwise.binary("pow", exponent, input, reflected=True)  # tg.pow(2, x)


def neg(input: Tensor) -> Tensor:  # noqa: A002
    return elementwise.neg(input)


negative = neg


def reciprocal(input: Tensor) -> Tensor:  # noqa: A002
    return input.reciprocal()


def square(input: Tensor) -> Tensor:  # noqa: A002
    return input.square()


def log1p(input: Tensor) -> Tensor:  # noqa: A002
    return input.log1p()


def clip(input: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    return comparison.clamp(input, min, max)


def eq(input: Tensor, other: Any) -> Tensor:  # noqa: A002
    return comparison.compare("eq", input, other)


def ne(input: Tensor, other: Any) -> Tensor:  # noqa: A002
    return comparison.compare("ne", input, other)


def lt(input: Tensor, other: Any) -> Tensor:  # noqa: A002
    return comparison.compare("lt", input, other)


def le(input: Tensor, other: Any) -> Tensor:  # noqa: A002
    return comparison.compare("le", input, other)


def gt(input: Tensor, other: Any) -> Tensor:  # noqa: A002
    return comparison.compare("gt", input, other)


def ge(input: Tensor, other: Any) -> Tensor:  # noqa: A002
    return comparison.compare("ge", input, other)


def equal(input: Tensor, other: Tensor) -> builtins.bool:  # noqa: A002
    return input.equal(other)


def logical_not(input: Tensor) -> Tensor:  # noqa: A002
    return comparison.logical_not(input)


def logical_and(input: Tensor, other: Any) -> Tensor:  # noqa: A002
    """Elementwise `input and other` as bool; any dtype (nonzero is True), as PyTorch."""
    return comparison.logical("logical_and", input != 0, other != 0)


def logical_or(input: Tensor, other: Any) -> Tensor:  # noqa: A002
    """Elementwise `input or other` as bool; any dtype (nonzero is True), as PyTorch."""
    return comparison.logical("logical_or", input != 0, other != 0)


def is_tensor(obj: object) -> builtins.bool:
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> builtins.bool:  # noqa: A002
    return input.is_floating_point()


def numel(input: Tensor) -> int:  # noqa: A002
    return input.numel()


def bernoulli(input: Tensor, *, generator: Generator | None = None) -> Tensor:  # noqa: A002
    """1 with probability input[i], else 0 (input's dtype); seeded by `tg.manual_seed`."""
    return aliases.bernoulli(input, generator)


def repeat_interleave(input: Tensor, repeats: int, dim: int | None = None) -> Tensor:  # noqa: A002
    return aliases.repeat_interleave(input, repeats, dim)


def nonzero(input: Tensor, *, as_tuple: builtins.bool = False) -> Any:  # noqa: A002
    return aliases.nonzero(input, as_tuple)


def get_default_dtype() -> DType:
    """The dtype of new floating tensors (float32 unless `set_default_dtype` changed it)."""
    return dtypes.get_default_dtype()


def set_default_dtype(dtype: Any) -> None:
    """`torch.set_default_dtype`: see `tinygpt.dtypes.set_default_dtype`."""
    dtypes.set_default_dtype(dtype)


def sign(input: Tensor) -> Tensor:  # noqa: A002
    return input.sign()


def dot(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    return aliases.dot(input, other)


def amax(input: Tensor, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:  # noqa: A002
    return aliases.amax(input, dim, keepdim)


def amin(input: Tensor, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:  # noqa: A002
    return aliases.amin(input, dim, keepdim)


def lerp(input: Tensor, end: Any, weight: Any) -> Tensor:  # noqa: A002
    return aliases.lerp(input, end, weight)
