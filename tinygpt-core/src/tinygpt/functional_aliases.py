"""`tg.*` functions that PyTorch code calls by name and that are other names for existing ops:
`tg.add(a, b, alpha=2)`, `tg.eq`, `tg.mm`, `tg.bmm`, `tg.pow`, `tg.is_tensor`, `tg.nonzero`, ...

Each is a one-line call to a Tensor method or an op (see `tensor_aliases.py` for the methods);
`mm` and `bmm` add PyTorch's rank checks before `matmul`.

>>> import tinygpt as tg
>>> tg.add(tg.tensor([1.0]), tg.tensor([2.0]), alpha=3).tolist()
[7.0]
"""

from __future__ import annotations

import builtins
from typing import Any

from .creation import arange
from .dtypes import DType, as_dtype, float32
from .errors import ShapeError
from .ops import comparison, elementwise, matmul, movement
from .random import Generator, rand
from .tensor import Tensor

__all__ = [
    "add",
    "bernoulli",
    "bmm",
    "clip",
    "eq",
    "equal",
    "get_default_dtype",
    "ge",
    "gt",
    "is_floating_point",
    "is_tensor",
    "le",
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
    return comparison.logical("logical_and", input, other)


def logical_or(input: Tensor, other: Any) -> Tensor:  # noqa: A002
    return comparison.logical("logical_or", input, other)


def is_tensor(obj: object) -> builtins.bool:
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> builtins.bool:  # noqa: A002
    return input.is_floating_point()


def mm(input: Tensor, mat2: Tensor) -> Tensor:  # noqa: A002
    """(n, k) @ (k, m): `matmul` for matrices only, as PyTorch's `mm`."""
    _check_rank("mm", 2, input, mat2)
    return matmul.matmul(input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:  # noqa: A002
    """(b, n, k) @ (b, k, m): `matmul` for equal batches of matrices only, as PyTorch's `bmm`."""
    _check_rank("bmm", 3, input, mat2)
    if input.shape[0] != mat2.shape[0]:
        raise ShapeError(
            f"bmm: {input.shape} @ {mat2.shape}: batch sizes {input.shape[0]} and "
            f"{mat2.shape[0]} differ (bmm does not broadcast; use matmul)"
        )
    return matmul.matmul(input, mat2)


def _check_rank(op: str, rank: int, a: Tensor, b: Tensor) -> None:
    if a.ndim != rank or b.ndim != rank:
        raise ShapeError(
            f"{op}: expects two {rank}-D tensors, got {a.shape} and {b.shape}; "
            "use matmul (or @) for other ranks"
        )


def nonzero(input: Tensor, *, as_tuple: builtins.bool = False) -> Any:  # noqa: A002
    """The indices of the non-zero elements: an (n, ndim) int64 tensor, or one int64 tensor per
    dim with `as_tuple=True` (what `tg.where(cond)` returns). Reads the mask on the host once,
    through boolean-mask indexing (the result's size depends on the values)."""
    mask = input if input.dtype == "bool" else comparison.compare("ne", input, 0)
    if mask.ndim == 0:
        mask = mask.reshape(1)  # a 0-d input is read as one element
    per_dim = []
    for dim, size in enumerate(mask.shape):
        view = [1] * mask.ndim
        view[dim] = size
        ramp = arange(size, device=mask.device).reshape(*view)  # this dim's coordinate
        per_dim.append(movement.expand(ramp, *mask.shape)[mask])
    if as_tuple:
        return tuple(per_dim)
    return movement.stack(per_dim, dim=1)


def outer(input: Tensor, vec2: Tensor) -> Tensor:  # noqa: A002
    """(n,) x (m,) -> (n, m): input[i] * vec2[j] (RoPE's position-by-frequency table)."""
    if input.ndim != 1 or vec2.ndim != 1:
        raise ShapeError(f"outer: expects two 1-D tensors, got {input.shape} and {vec2.shape}")
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


def repeat_interleave(input: Tensor, repeats: int, dim: int | None = None) -> Tensor:  # noqa: A002
    return input.repeat_interleave(repeats, dim)


def numel(input: Tensor) -> int:  # noqa: A002
    return input.numel()


def bernoulli(input: Tensor, *, generator: Generator | None = None) -> Tensor:  # noqa: A002
    """1 with probability input[i], else 0 (input's dtype); seeded by `tg.manual_seed`."""
    draws = rand(*input.shape, generator=generator, dtype=input.dtype, device=input.device)
    return (draws < input.detach()).to(input.dtype)


def get_default_dtype() -> DType:
    """The dtype of new floating tensors: always float32 in tinygpt (see set_default_dtype)."""
    return float32


def set_default_dtype(dtype: Any) -> None:
    """Accepts float32 only: tinygpt's creation ops and type promotion fix float32 as the
    default float, so another default would apply to some ops and not others."""
    if as_dtype(dtype) != float32:
        raise NotImplementedError(
            f"set_default_dtype({dtype}): tinygpt's default float dtype is always float32; "
            "pass dtype= to the creation ops (tg.zeros(..., dtype=tg.float64)) or call "
            ".double() on modules and tensors instead"
        )
