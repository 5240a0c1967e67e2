"""Buffer: mark a tensor as module state that is not learned (PyTorch >= 2.5's `nn.Buffer`).

`self.running = nn.Buffer(tg.zeros(3))` in a Module's `__init__` does what
`self.register_buffer("running", tg.zeros(3))` does: the tensor moves with `.to()` and is
saved in `state_dict()` (unless persistent=False). Like Parameter, a Buffer shares the given
tensor's memory, and ops on it give ordinary tensors.

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> class Counter(nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.steps = nn.Buffer(tg.zeros(()))
>>> list(Counter().state_dict())
['steps']
"""

from __future__ import annotations

import builtins
from typing import Any

from tinygpt import Tensor

__all__ = ["Buffer"]


class Buffer(Tensor):
    """`Buffer(tensor, *, persistent=True)`: a tensor that Module.__setattr__ registers as a
    buffer; `persistent=False` keeps it out of state_dict()."""

    __slots__ = ("persistent",)
    persistent: builtins.bool

    def __new__(cls, data: Tensor | None = None, *, persistent: builtins.bool = True) -> Buffer:
        if data is None:
            from tinygpt import empty

            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(
                f"Buffer: expected a tinygpt Tensor, got {type(data).__name__}; wrap data "
                "with tg.tensor(...) first"
            )
        out = Tensor._make_subclass(cls, data, data.requires_grad)
        assert isinstance(out, Buffer)
        out.persistent = persistent
        return out

    def __init__(self, data: Tensor | None = None, *, persistent: builtins.bool = True) -> None:
        # NOTE: Tensor.__init__ refuses direct construction; __new__ did all the work
        pass

    @classmethod
    def _make(cls, data: Any, requires_grad: builtins.bool = False) -> Tensor:
        # subtle: results of ops on a Buffer are plain tensors, never new buffers
        return Tensor._make(data, requires_grad)
