"""Parameter: a tensor that a Module learns, so it is listed by `module.parameters()`.

A Parameter is an ordinary Tensor (it shares the given tensor's memory) that requires grad
and that `Module.__setattr__` recognises and registers.

>>> import tinygpt as tg
>>> from tinygpt.nn import Parameter
>>> w = Parameter(tg.zeros(2, 3))
>>> w.requires_grad, w.shape
(True, (2, 3))
>>> type(w * 2).__name__  # ops on a parameter give ordinary tensors
'Tensor'
"""

from __future__ import annotations

import builtins
from typing import Any

from tinygpt import DTypeError, Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """`Parameter(tensor, requires_grad=True)`: a learnable tensor; shares `tensor`'s memory."""

    __slots__ = ()

    def __new__(cls, data: Tensor | None = None, requires_grad: builtins.bool = True) -> Parameter:
        if data is None:
            from tinygpt import empty

            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(
                f"Parameter: expected a tinygpt Tensor, got {type(data).__name__}; "
                "wrap data with tg.tensor(...) first"
            )
        if requires_grad and not data.dtype.is_floating_point:
            raise DTypeError(
                f"Parameter: only floating tensors can require grad, got {data.dtype}; "
                "pass requires_grad=False or convert with .float()"
            )
        # the same NDArray: no copy, like torch.nn.Parameter (and one version counter)
        return Tensor._make_subclass(cls, data, requires_grad)  # type: ignore[return-value]

    def __init__(self, data: Tensor | None = None, requires_grad: builtins.bool = True) -> None:
        # NOTE: Tensor.__init__ refuses direct construction; __new__ did all the work
        pass

    @classmethod
    def _make(cls, data: Any, requires_grad: builtins.bool = False) -> Tensor:
        # subtle: Function.apply wraps an op's output with `type(first input)._make`; the result
        # of `w @ x` must be a plain Tensor, or a Module would register it as a new parameter
        return Tensor._make(data, requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo: dict[int, object]) -> Parameter:
        """`copy.deepcopy(module)` copies each parameter's memory (an EMA model, a snapshot)."""
        from tinygpt import no_grad

        if id(self) in memo:
            return memo[id(self)]  # type: ignore[return-value]
        with no_grad():
            out = Parameter(self.detach().clone(), self.requires_grad)
        memo[id(self)] = out
        return out
