"""`tg.*` functions with PyTorch's names that are aliases of existing ops, shape helpers or
constructors: `tg.clone`, `tg.multiply`, `tg.greater`, `tg.concat`, `tg.hstack`, `tg.movedim`,
`tg.roll`, `tg.tensor_split`, `tg.result_type`, ...

The shape ops are in `ops/movement_more.py` and `ops/structure_more.py`; the maths in
`functional_math.py`, the constructors (`tg.range`, `tg.normal`, ...) in `creation_more.py`.

>>> import tinygpt as tg
>>> tg.multiply(tg.tensor([2.0]), 3).tolist()
[6.0]
>>> tg.broadcast_shapes((2, 1), (3,))
(2, 3)
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

from . import dtypes
from .dtypes import DType, as_dtype, scalar_dtype
from .ops import comparison, elementwise
from .ops.movement import cat
from .ops.movement_more import (
    atleast_1d,
    atleast_2d,
    atleast_3d,
    column_stack,
    dsplit,
    dstack,
    hsplit,
    hstack,
    movedim,
    ravel,
    roll,
    rot90,
    same_dtype,
    select,
    swapaxes,
    take,
    tensor_split,
    tile,
    unflatten,
    vsplit,
    vstack,
)
from .ops.rounding import div
from .ops.structure_more import (
    block_diag,
    broadcast_shapes,
    cartesian_prod,
    combinations,
    diag_embed,
    diagflat,
    tril_indices,
    triu_indices,
)
from .tensor import Tensor

__all__ = [
    "absolute",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "block_diag",
    "broadcast_shapes",
    "can_cast",
    "cartesian_prod",
    "clamp_max",
    "clamp_min",
    "clone",
    "column_stack",
    "combinations",
    "concat",
    "concatenate",
    "detach",
    "diag_embed",
    "diagflat",
    "divide",
    "dsplit",
    "dstack",
    "get_device",
    "greater",
    "greater_equal",
    "hsplit",
    "hstack",
    "is_complex",
    "is_conj",
    "is_neg",
    "is_nonzero",
    "is_same_size",
    "is_signed",
    "less",
    "less_equal",
    "logical_xor",
    "moveaxis",
    "movedim",
    "multiply",
    "narrow_copy",
    "not_equal",
    "positive",
    "ravel",
    "result_type",
    "roll",
    "rot90",
    "row_stack",
    "select",
    "subtract",
    "swapaxes",
    "swapdims",
    "take",
    "tensor_split",
    "tile",
    "tril_indices",
    "triu_indices",
    "true_divide",
    "unflatten",
    "vsplit",
    "vstack",
]


# ------------------------------------------------------------------ other names
def clone(input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
    return input.clone()


def detach(input: Tensor) -> Tensor:  # noqa: A002
    return input.detach()


def absolute(input: Tensor) -> Tensor:  # noqa: A002
    return elementwise.abs(input)


def positive(input: Tensor) -> Tensor:  # noqa: A002
    return input


def multiply(input: Tensor, other: Any) -> Tensor:  # noqa: A002
    return elementwise.binary("mul", input, other)


def divide(input: Tensor, other: Any, *, rounding_mode: str | None = None) -> Tensor:  # noqa: A002
    return div(input, other, rounding_mode=rounding_mode)


def true_divide(input: Tensor, other: Any) -> Tensor:  # noqa: A002
    return elementwise.binary("div", input, other)


def subtract(input: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:  # noqa: A002
    return input.sub(other, alpha=alpha)


def greater(input: Tensor, other: Any) -> Tensor:  # noqa: A002
    return comparison.compare("gt", input, other)


def greater_equal(input: Tensor, other: Any) -> Tensor:  # noqa: A002
    return comparison.compare("ge", input, other)


def less(input: Tensor, other: Any) -> Tensor:  # noqa: A002
    return comparison.compare("lt", input, other)


def less_equal(input: Tensor, other: Any) -> Tensor:  # noqa: A002
    return comparison.compare("le", input, other)


def not_equal(input: Tensor, other: Any) -> Tensor:  # noqa: A002
    return comparison.compare("ne", input, other)


def logical_xor(input: Tensor, other: Any) -> Tensor:  # noqa: A002
    """True where exactly one of the two is nonzero (bool)."""
    return comparison.compare("ne", input != 0, other != 0)


def clamp_min(input: Tensor, min: Any) -> Tensor:  # noqa: A002
    return comparison.clamp(input, min, None)


def clamp_max(input: Tensor, max: Any) -> Tensor:  # noqa: A002
    return comparison.clamp(input, None, max)


def concat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """`cat`, with PyTorch's promotion of mixed dtypes."""
    return cat(same_dtype(tensors), dim)


concatenate = concat
row_stack = vstack
moveaxis = movedim
swapdims = swapaxes


def narrow_copy(input: Tensor, dim: int, start: int, length: int) -> Tensor:  # noqa: A002
    return input.narrow(dim, start, length).clone()


# ------------------------------------------------------------------ questions about tensors
def is_complex(input: Tensor) -> builtins.bool:  # noqa: A002
    """False: tinygpt has no complex dtypes."""
    return False


def is_conj(input: Tensor) -> builtins.bool:  # noqa: A002
    return False


def is_neg(input: Tensor) -> builtins.bool:  # noqa: A002
    return False


def is_signed(input: Tensor) -> builtins.bool:  # noqa: A002
    return input.dtype.name not in ("uint8", "bool")


def is_nonzero(input: Tensor) -> builtins.bool:  # noqa: A002
    if input.numel() != 1:
        raise RuntimeError(
            f"is_nonzero: needs a tensor with one element, got shape {tuple(input.shape)}"
        )
    return builtins.bool(input.item() != 0)


def is_same_size(input: Tensor, other: Tensor) -> builtins.bool:  # noqa: A002
    return tuple(input.shape) == tuple(other.shape)


def get_device(input: Tensor) -> int:  # noqa: A002
    """The device index of a GPU tensor, -1 for host devices (as PyTorch's CPU)."""
    device = input.device
    if device.type in ("cpu", "numpy"):
        return -1
    return device.index or 0


def result_type(tensor1: Any, tensor2: Any) -> DType:
    """The dtype of an arithmetic op on the two (tensors or Python numbers)."""
    if isinstance(tensor1, Tensor) and isinstance(tensor2, Tensor):
        if tensor1.ndim == 0 and tensor2.ndim > 0:
            return dtypes.result_type(tensor2.dtype, tensor1.item())
        if tensor2.ndim == 0 and tensor1.ndim > 0:
            return dtypes.result_type(tensor1.dtype, tensor2.item())
        return dtypes.promote_types(tensor1.dtype, tensor2.dtype)
    if isinstance(tensor1, Tensor):
        return dtypes.result_type(tensor1.dtype, tensor2)
    if isinstance(tensor2, Tensor):
        return dtypes.result_type(tensor2.dtype, tensor1)
    return dtypes.promote_types(scalar_dtype(tensor1), scalar_dtype(tensor2))


_KIND_RANK = {"b": 0, "i": 1, "f": 2}


def can_cast(from_: Any, to: Any) -> builtins.bool:
    """Whether PyTorch's casting rules allow `from_` -> `to` in an in-place op (no move to a
    lower kind: float -> int and int -> bool are refused)."""
    source, target = as_dtype(from_), as_dtype(to)
    return _KIND_RANK[source.kind] <= _KIND_RANK[target.kind]
