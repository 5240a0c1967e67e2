"""Dropout: randomly zero activations while training, as a regularizer.

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> drop = nn.Dropout(0.5).eval()
>>> drop(tg.ones(3)).tolist()  # evaluation passes values through
[1.0, 1.0, 1.0]
"""

from __future__ import annotations

from tinygpt import Tensor

from .. import functional as F
from ..module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """In training, zero each element with probability p and scale the rest by 1 / (1 - p).

    A -> A. In eval mode it returns its input. Seeded by `tg.manual_seed`.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
