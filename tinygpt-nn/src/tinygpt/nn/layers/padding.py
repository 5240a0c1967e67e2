"""Padding layers with PyTorch's names: ZeroPad1d/2d/3d, ConstantPad1d/2d/3d,
ReflectionPad1d/2d/3d, ReplicationPad1d/2d/3d, CircularPad1d/2d/3d. Each is `F.pad` with a fixed
mode; `padding` is an int (every side) or a tuple (left, right[, top, bottom[, front, back]]).

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> nn.ReflectionPad1d(2)(tg.tensor([[[1.0, 2.0, 3.0]]])).tolist()
[[[3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0]]]
"""

from __future__ import annotations

from collections.abc import Sequence

from tinygpt import ShapeError, Tensor

from ..functional.padding import pad
from ..module import Module

__all__ = [
    "ZeroPad1d",
    "ZeroPad2d",
    "ZeroPad3d",
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "CircularPad1d",
    "CircularPad2d",
    "ReflectionPad3d",
    "ReplicationPad3d",
    "CircularPad3d",
]


class _Pad(Module):
    """Pads the last `dims` dims of an input with `dims + 1` or `dims + 2` dims."""

    dims = 1
    mode = "constant"

    def __init__(self, padding: int | Sequence[int], value: float = 0.0) -> None:
        super().__init__()
        name = type(self).__name__
        if isinstance(padding, int):
            amounts = (padding,) * (2 * self.dims)
        else:
            amounts = tuple(int(p) for p in padding)
        if len(amounts) != 2 * self.dims:
            raise ValueError(
                f"{name}: padding must be an int or a {2 * self.dims}-tuple, got {padding!r}"
            )
        self.padding = amounts
        self.value = value

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (self.dims + 1, self.dims + 2):
            raise ShapeError(
                f"{type(self).__name__}: expected a {self.dims + 1}-D or {self.dims + 2}-D "
                f"input, got {x.shape}"
            )
        if self.mode == "constant":
            return pad(x, self.padding, "constant", self.value)
        return pad(x, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPad(_Pad):
    def __init__(self, padding: int | Sequence[int], value: float) -> None:
        super().__init__(padding, value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPad):
    """Pad (N, C, L) with `value`."""


class ConstantPad2d(_ConstantPad):
    """Pad (N, C, H, W) with `value`."""

    dims = 2


class ConstantPad3d(_ConstantPad):
    """Pad (N, C, D, H, W) with `value`."""

    dims = 3


class ZeroPad1d(_Pad):
    """Pad (N, C, L) with zeros."""


class ZeroPad2d(_Pad):
    """Pad (N, C, H, W) with zeros."""

    dims = 2


class ZeroPad3d(_Pad):
    """Pad (N, C, D, H, W) with zeros."""

    dims = 3


class ReflectionPad1d(_Pad):
    """Mirror (N, C, L) at its edges, the edge not repeated."""

    mode = "reflect"


class ReflectionPad2d(_Pad):
    """Mirror (N, C, H, W) at its edges, the edge not repeated."""

    dims = 2
    mode = "reflect"


class ReplicationPad1d(_Pad):
    """Repeat the edge values of (N, C, L)."""

    mode = "replicate"


class ReplicationPad2d(_Pad):
    """Repeat the edge values of (N, C, H, W)."""

    dims = 2
    mode = "replicate"


class CircularPad1d(_Pad):
    """Wrap (N, C, L) around."""

    mode = "circular"


class CircularPad2d(_Pad):
    """Wrap (N, C, H, W) around."""

    dims = 2
    mode = "circular"


class ReflectionPad3d(_Pad):
    """Mirror (N, C, D, H, W) at its edges, the edge not repeated."""

    dims = 3
    mode = "reflect"


class ReplicationPad3d(_Pad):
    """Repeat the edge values of (N, C, D, H, W)."""

    dims = 3
    mode = "replicate"


class CircularPad3d(_Pad):
    """Wrap (N, C, D, H, W) around."""

    dims = 3
    mode = "circular"
