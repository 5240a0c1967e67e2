"""`Variable`: PyTorch's pre-0.4 wrapper, kept so old code runs. Tensors do everything it did,
so `Variable(t, requires_grad=True)` simply returns a tensor: `t` detached (sharing its memory)
with `requires_grad` set, and `isinstance(x, Variable)` is true for every tensor.
"""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor

__all__ = ["Variable"]


class _VariableMeta(type):
    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Tensor)


class Variable(metaclass=_VariableMeta):
    """Legacy: `Variable(tensor, requires_grad=False)` -> a Tensor.

    >>> import tinygpt as tg
    >>> v = Variable(tg.ones(2), requires_grad=True)
    >>> type(v).__name__, v.requires_grad, v.is_leaf, isinstance(v, Variable)
    ('Tensor', True, True, True)
    """

    def __new__(cls, data: Any, requires_grad: bool = False, volatile: bool = False) -> Any:
        del volatile  # a no-op since PyTorch 0.4; no_grad() replaced it
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable: data must be a Tensor, got {type(data).__name__}")
        return data.detach().requires_grad_(requires_grad)
