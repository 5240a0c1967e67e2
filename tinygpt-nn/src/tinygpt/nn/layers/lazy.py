"""LazyLinear and UninitializedParameter: a Linear whose in_features is read from its first
input, as PyTorch's lazy modules do.

Until the first forward the weight and bias are UninitializedParameters: real Parameter
objects holding no values yet. The first forward gives them their shapes in place (the same
objects, so an optimizer made before it still updates them), initialises them as Linear does,
and turns the module into a plain Linear.

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> lazy = nn.LazyLinear(4)
>>> lazy(tg.randn(2, 7)).shape, type(lazy).__name__, lazy.in_features
((2, 4), 'Linear', 7)
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import tinygpt as tg
from tinygpt import Tensor

from ..module import Module
from ..parameter import Parameter
from .linear import Linear

__all__ = ["UninitializedParameter", "UninitializedBuffer", "LazyLinear"]


class UninitializedParameter(Parameter):
    """A Parameter with no values yet; `materialize(shape)` gives it a shape in place."""

    __slots__ = ()

    def __new__(
        cls, requires_grad: builtins.bool = True, device: Any = None, dtype: Any = None
    ) -> UninitializedParameter:
        out = Tensor._make_subclass(cls, tg.empty(0, device=device, dtype=dtype), requires_grad)
        assert isinstance(out, UninitializedParameter)
        return out

    def __init__(
        self, requires_grad: builtins.bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        pass

    def materialize(self, shape: Sequence[int], device: Any = None, dtype: Any = None) -> None:
        """Give the parameter `shape` (values uninitialised) and make it a plain Parameter."""
        self.data = tg.empty(
            *shape,
            device=self.device if device is None else device,
            dtype=self.dtype if dtype is None else dtype,
        )
        self.__class__ = Parameter  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "<UninitializedParameter>"


class UninitializedBuffer(Tensor):
    """A buffer with no values yet; `materialize(shape)` gives it a shape in place."""

    __slots__ = ()

    def __new__(
        cls, requires_grad: builtins.bool = False, device: Any = None, dtype: Any = None
    ) -> UninitializedBuffer:
        out = Tensor._make_subclass(cls, tg.empty(0, device=device, dtype=dtype), requires_grad)
        assert isinstance(out, UninitializedBuffer)
        return out

    def __init__(
        self, requires_grad: builtins.bool = False, device: Any = None, dtype: Any = None
    ) -> None:
        pass

    def materialize(self, shape: Sequence[int], device: Any = None, dtype: Any = None) -> None:
        """Give the buffer `shape` (values uninitialised) and make it a plain Tensor."""
        self.data = tg.empty(
            *shape,
            device=self.device if device is None else device,
            dtype=self.dtype if dtype is None else dtype,
        )
        self.__class__ = Tensor  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "<UninitializedBuffer>"


class LazyLinear(Linear):
    """Linear(in_features inferred at the first forward, out_features)."""

    def __init__(
        self, out_features: int, bias: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        Module.__init__(self)
        self.in_features = 0
        self.out_features = out_features
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)
        else:
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        if self.in_features > 0:
            super().reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        self.in_features = x.shape[-1]
        assert isinstance(self.weight, UninitializedParameter)
        self.weight.materialize((self.out_features, self.in_features))
        if isinstance(self.bias, UninitializedParameter):
            self.bias.materialize((self.out_features,))
        self.reset_parameters()
        # NOTE: from now on it is an ordinary Linear, so this lazy forward never runs again
        self.__class__ = Linear  # type: ignore[assignment]
        return Linear.forward(self, x)
