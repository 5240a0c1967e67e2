"""In-place updates (`zero_`, `copy_`, `add_`, `normal_`, ...): write into a tensor's own memory.

They are for optimizers, initialisers and buffers: they never record a graph, and like PyTorch
they refuse to modify a leaf that requires grad while autograd is recording (wrap the update
in `tg.no_grad()`), since that would silently corrupt the gradient.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import array_ops as A
from ..autograd.function import is_grad_enabled
from ..errors import ShapeError
from . import math as M

if TYPE_CHECKING:
    from ..tensor import Tensor

__all__ = ["copy_", "fill_", "zero_", "add_", "sub_", "mul_", "div_", "uniform_", "normal_"]


def _check_writable(op: str, x: Tensor) -> None:
    if is_grad_enabled() and x.requires_grad and x.is_leaf:
        raise RuntimeError(
            f"{op}: a leaf tensor that requires grad cannot be modified in place while "
            "autograd is recording; wrap the update in `with tg.no_grad():`"
        )


def copy_(x: Tensor, src: object) -> Tensor:
    """Write `src` (broadcast to x's shape, cast to x's dtype) into x."""
    _check_writable("copy_", x)
    source = M.as_tensor_like(src, x)
    M._check_devices("copy_", x, source)
    return _copy_no_check(x, source)


def fill_(x: Tensor, value: bool | int | float) -> Tensor:
    _check_writable("fill_", x)
    x.data.backend.fill(x.data, value)
    return x


def zero_(x: Tensor) -> Tensor:
    return fill_(x, 0)


def _update(op: str, x: Tensor, other: object, alpha: float = 1.0) -> Tensor:
    _check_writable(f"{op}_", x)
    if _fast_update(op, x, other, alpha):
        return x
    from ..autograd.function import no_grad

    with no_grad():
        if alpha != 1.0:
            other = M.binary("mul", M.as_tensor_like(other, x), alpha)
        result = M.binary(op, x.detach(), other)
    return _copy_no_check(x, result)


def _fast_update(op: str, x: Tensor, other: object, alpha: float) -> bool:
    """The optimizers' case, straight on the arrays (no graph nodes, no promotion): a float
    tensor updated with a Python number or a tensor of its own dtype and device that
    broadcasts to its shape. False: leave it to the general path."""
    from ..dtypes import result_type
    from ..tensor import Tensor

    if x.dtype.kind != "f":
        return False
    if isinstance(other, (int, float)) and not isinstance(other, bool):
        if result_type(x.dtype, other) is not x.dtype:
            return False
        x.data.backend.setitem(x.data, A.scalar(op, x.data, other * alpha))
        return True
    if not isinstance(other, Tensor) or other.dtype is not x.dtype:
        return False
    if other.data.backend is not x.data.backend or len(other.shape) > len(x.shape):
        return False
    data = other.data if alpha == 1.0 else A.scalar("mul", other.data, alpha)
    try:
        data = data.broadcast_to(x.shape)
    except ShapeError:
        return False  # the general path raises the error that names both shapes
    x.data.backend.setitem(x.data, A.binary(op, x.data, data))
    return True


def _copy_no_check(x: Tensor, result: Tensor) -> Tensor:
    """Write `result` into x's memory (cast, broadcast). NOTE: x may be a view."""
    data = A.cast(result.data, x.dtype)
    if data.shape != x.shape:
        try:
            data = data.broadcast_to(x.shape)
        except ShapeError:
            raise ShapeError(f"copy_: cannot write shape {result.shape} into {x.shape}") from None
    x.data.backend.setitem(x.data, data)
    return x


def add_(x: Tensor, other: object, alpha: float = 1.0) -> Tensor:
    """x += alpha * other, in place."""
    return _update("add", x, other, alpha)


def sub_(x: Tensor, other: object, alpha: float = 1.0) -> Tensor:
    return _update("sub", x, other, alpha)


def mul_(x: Tensor, other: object) -> Tensor:
    return _update("mul", x, other)


def div_(x: Tensor, other: object) -> Tensor:
    return _update("div", x, other)


def uniform_(x: Tensor, low: float = 0.0, high: float = 1.0) -> Tensor:
    """Fill x with uniform samples from [low, high), seeded by tg.manual_seed."""
    from ..creation import rand

    _check_writable("uniform_", x)
    sample = rand(*x.shape, dtype=x.dtype, device=x.device) * (high - low) + low
    return _copy_no_check(x, sample)


def normal_(x: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill x with normal samples, seeded by tg.manual_seed."""
    from ..creation import randn

    _check_writable("normal_", x)
    sample = randn(*x.shape, dtype=x.dtype, device=x.device) * std + mean
    return _copy_no_check(x, sample)
