"""PyTorch names that are aliases or base classes here: NLLLoss2d (the old name of NLLLoss
for images), RNNBase and RNNCellBase (the classes every recurrent layer and cell derive from,
for isinstance checks) and the long-deprecated Container.

>>> from tinygpt import nn
>>> isinstance(nn.LSTM(2, 3), nn.RNNBase), isinstance(nn.GRUCell(2, 3), nn.RNNCellBase)
(True, True)
"""

from __future__ import annotations

import warnings

from ..module import Module
from .loss import NLLLoss
from .rnn import _CellBase, _RNNBase

__all__ = ["NLLLoss2d", "RNNBase", "RNNCellBase", "Container"]

# NOTE: PyTorch's RNNBase takes the mode ("LSTM", ...) as its first argument; here it is only
# the common base class, so build the concrete RNN / LSTM / GRU instead
RNNBase = _RNNBase
RNNCellBase = _CellBase


class NLLLoss2d(NLLLoss):
    """NLLLoss under its deprecated PyTorch name (inputs (N, C, H, W), targets (N, H, W))."""


class Container(Module):
    """`Container(name=module, ...)`: PyTorch's deprecated bag of named submodules."""

    def __init__(self, **kwargs: Module) -> None:
        super().__init__()
        warnings.warn(
            "nn.Container is deprecated (as in PyTorch); subclass nn.Module instead",
            DeprecationWarning,
            stacklevel=2,
        )
        for name, module in kwargs.items():
            self.add_module(name, module)
