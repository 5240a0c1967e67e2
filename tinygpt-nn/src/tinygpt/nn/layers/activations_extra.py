"""More activation layers with PyTorch's names: ELU, Softplus, Mish, Hardtanh, and Unflatten
(the inverse of Flatten). Each is the Module form of a function in `nn.functional`.

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> tuple(nn.Unflatten(1, (2, 3))(tg.zeros(4, 6)).shape)
(4, 2, 3)
"""

from __future__ import annotations

from collections.abc import Sequence

from tinygpt import Tensor

from .. import functional as F
from ..functional.activations_extra import apply_inplace
from ..module import Module

__all__ = ["ELU", "Softplus", "Mish", "Hardtanh", "Unflatten"]


class ELU(Module):
    """x where x > 0, else alpha * (exp(x) - 1).  A -> A."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.elu(x, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Softplus(Module):
    """log(1 + exp(beta * x)) / beta, linear above `threshold`.  A -> A."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, x: Tensor) -> Tensor:
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Mish(Module):
    """x * tanh(softplus(x)).  A -> A."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        if self.inplace:
            return apply_inplace(x, F.mish)
        return F.mish(x)


class Hardtanh(Module):
    """x clamped to [min_val, max_val].  A -> A."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.hardtanh(x, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"min_val={self.min_val}, max_val={self.max_val}{inplace}"


class Unflatten(Module):
    """Split dimension `dim` into `unflattened_size` (one entry may be -1).

    (..., d, ...) -> (..., *unflattened_size, ...), where the sizes multiply to d.
    """

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        if not isinstance(unflattened_size, (tuple, list)) or not all(
            isinstance(s, int) for s in unflattened_size
        ):
            raise TypeError(
                f"Unflatten: unflattened_size must be a tuple of ints, got {unflattened_size!r}"
            )
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)

    def forward(self, x: Tensor) -> Tensor:
        if not -x.ndim <= self.dim < x.ndim:
            raise IndexError(f"Unflatten: dim {self.dim} is out of range for {x.ndim}-d input")
        dim = self.dim % x.ndim
        # reshape checks that the sizes multiply to shape[dim] and resolves a -1
        return x.reshape(*x.shape[:dim], *self.unflattened_size, *x.shape[dim + 1 :])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
