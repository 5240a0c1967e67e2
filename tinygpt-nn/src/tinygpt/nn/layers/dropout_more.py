"""Dropout1d/2d/3d (whole channels), AlphaDropout and FeatureAlphaDropout (for SELU nets).

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> nn.Dropout2d(0.5).eval()(tg.ones(1, 2, 3, 3)).shape
(1, 2, 3, 3)
"""

from __future__ import annotations

from tinygpt import Tensor

from ..functional import dropout_more as D
from ..module import Module

__all__ = ["Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"]


class _DropoutBase(Module):
    """p and inplace, checked as PyTorch does; eval mode passes the input through."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: p must be in [0, 1], got {p}")
        self.p = p
        self.inplace = inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(_DropoutBase):
    """Zero whole channels of (N, C, L) or (C, L) in training."""

    def forward(self, x: Tensor) -> Tensor:
        return D.dropout1d(x, self.p, self.training, self.inplace)


class Dropout2d(_DropoutBase):
    """Zero whole channels of (N, C, H, W) or (C, H, W) in training."""

    def forward(self, x: Tensor) -> Tensor:
        return D.dropout2d(x, self.p, self.training, self.inplace)


class Dropout3d(_DropoutBase):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) in training."""

    def forward(self, x: Tensor) -> Tensor:
        return D.dropout3d(x, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutBase):
    """Dropout that keeps SELU's mean 0 / variance 1, elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return D.alpha_dropout(x, self.p, self.training, self.inplace)


class FeatureAlphaDropout(_DropoutBase):
    """Alpha dropout of whole channels."""

    def forward(self, x: Tensor) -> Tensor:
        return D.feature_alpha_dropout(x, self.p, self.training, self.inplace)
