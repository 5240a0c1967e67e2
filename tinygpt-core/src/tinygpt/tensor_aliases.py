"""Tensor methods that everyday PyTorch code calls and that are other names for, or one-line
compositions of, existing ops: `x.add(y, alpha=2)`, `x.eq(y)`, `x.neg()`, `x.clamp_min(0)`,
`x.masked_fill_(m, v)`, `x.view_as(y)`, `x.type_as(y)`, `x.new_zeros(...)`, `x.cpu()`.

A mixin of `TensorMethods` (split from it to keep each file small); like it, each method looks
its function up at call time through `ops`, which `bind` sets when `tinygpt.ops` is imported.
Nothing here has a backward of its own: each is built from differentiable ops.
"""

from __future__ import annotations

import builtins
from types import ModuleType
from typing import TYPE_CHECKING, Any

from . import tensor_extras

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = ["AliasMethods", "bind"]

#: the `tinygpt.ops` package, set by `bind` (from `tensor_methods.bind`)
ops: ModuleType = ModuleType("tinygpt.ops (not imported yet)")


def bind(package: ModuleType) -> None:
    global ops
    ops = package
    tensor_extras.bind(package)


class AliasMethods(tensor_extras.ExtraMethods):
    """Mixin of Tensor (through TensorMethods)."""

    __slots__ = ()

    # ------------------------------------------------- arithmetic by name
    def add(self, other: Any, *, alpha: Any = 1) -> Tensor:
        return ops.elementwise.binary("add", self, _scaled(other, alpha))

    def sub(self, other: Any, *, alpha: Any = 1) -> Tensor:
        return ops.elementwise.binary("sub", self, _scaled(other, alpha))

    def mul(self, other: Any) -> Tensor:
        return ops.elementwise.binary("mul", self, other)

    def neg(self) -> Tensor:
        return ops.elementwise.neg(self)

    negative = neg

    def reciprocal(self) -> Tensor:
        return ops.elementwise.binary("div", self, 1.0, reflected=True)

    def square(self) -> Tensor:
        return ops.elementwise.binary("mul", self, self)

    def log1p(self) -> Tensor:
        # NOTE: log(1 + x), not a dedicated kernel: below |x| ~ 1e-7 (float32) it returns 0
        # where a true log1p returns about x
        return ops.elementwise.log(ops.elementwise.binary("add", self, 1.0))

    def addcmul(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
        product = ops.elementwise.binary("mul", tensor1, tensor2)
        return ops.elementwise.binary("add", self, _scaled(product, value))

    def mm(self, mat2: Tensor) -> Tensor:
        return ops.aliases.mm(self, mat2)

    def bmm(self, mat2: Tensor) -> Tensor:
        return ops.aliases.bmm(self, mat2)

    def repeat_interleave(self, repeats: int, dim: int | None = None) -> Tensor:
        return ops.aliases.repeat_interleave(self, repeats, dim)

    def outer(self, vec2: Tensor) -> Tensor:
        return ops.aliases.outer(self, vec2)

    def nonzero(self, *, as_tuple: builtins.bool = False) -> Any:
        return ops.aliases.nonzero(self, as_tuple)

    def nelement(self) -> int:
        return self.numel()  # type: ignore[attr-defined]

    def element_size(self) -> int:
        """Bytes per element."""
        return self.dtype.itemsize  # type: ignore[attr-defined]

    def bernoulli(self, *, generator: Any = None) -> Tensor:
        return ops.aliases.bernoulli(self, generator)

    def dot(self, other: Tensor) -> Tensor:
        return ops.aliases.dot(self, other)

    def amax(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
        return ops.aliases.amax(self, dim, keepdim)

    def amin(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
        return ops.aliases.amin(self, dim, keepdim)

    def lerp(self, end: Any, weight: Any) -> Tensor:
        return ops.aliases.lerp(self, end, weight)

    def type(self, dtype: Any = None) -> Any:
        """`x.type(tg.float64)` casts; `x.type()` names the type, as PyTorch's does."""
        if dtype is None:
            return ops.aliases.type_name(self)
        return ops.promotion.cast(self, dtype)

    # ------------------------------------------ in place: x.op_() = x.copy_(x.op())
    def exp_(self) -> Tensor:
        return _in_place(self, ops.elementwise.exp)

    def sqrt_(self) -> Tensor:
        return _in_place(self, ops.elementwise.sqrt)

    def abs_(self) -> Tensor:
        return _in_place(self, ops.elementwise.abs)

    def neg_(self) -> Tensor:
        return _in_place(self, ops.elementwise.neg)

    def pow_(self, exponent: Any) -> Tensor:
        return _in_place(self, lambda x: ops.elementwise.binary("pow", x, exponent))

    def relu_(self) -> Tensor:
        return _in_place(self, ops.activation.relu)

    def sigmoid_(self) -> Tensor:
        return _in_place(self, ops.activation.sigmoid)

    def tanh_(self) -> Tensor:
        return _in_place(self, ops.activation.tanh)

    def lerp_(self, end: Any, weight: Any) -> Tensor:
        return _in_place(self, lambda x: ops.aliases.lerp(x, end, weight))

    def addcmul_(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
        return _in_place(self, lambda x: x.addcmul(tensor1, tensor2, value=value))

    def addcdiv_(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
        quotient = ops.elementwise.binary("div", tensor1, tensor2)
        return _in_place(self, lambda x: x.add(quotient, alpha=value))

    # ------------------------------------------------ comparisons by name
    def eq(self, other: Any) -> Tensor:
        return ops.comparison.compare("eq", self, other)

    def ne(self, other: Any) -> Tensor:
        return ops.comparison.compare("ne", self, other)

    def lt(self, other: Any) -> Tensor:
        return ops.comparison.compare("lt", self, other)

    def le(self, other: Any) -> Tensor:
        return ops.comparison.compare("le", self, other)

    def gt(self, other: Any) -> Tensor:
        return ops.comparison.compare("gt", self, other)

    def ge(self, other: Any) -> Tensor:
        return ops.comparison.compare("ge", self, other)

    def equal(self, other: Tensor) -> builtins.bool:
        """True when both have the same shape and the same values (PyTorch's `torch.equal`)."""
        if tuple(self.shape) != tuple(other.shape):  # type: ignore[attr-defined]
            return False
        return builtins.bool(ops.reductions.all(ops.comparison.compare("eq", self, other)))

    # ------------------------------------------------- clamp and in place
    def clamp_min(self, min: Any) -> Tensor:  # noqa: A002 - PyTorch's name
        return ops.comparison.clamp(self, min, None)

    def clamp_max(self, max: Any) -> Tensor:  # noqa: A002
        return ops.comparison.clamp(self, None, max)

    def clip(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002 - clamp's alias
        return ops.comparison.clamp(self, min, max)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        return _in_place(self, lambda x: ops.comparison.clamp(x, min, max))

    def masked_fill_(self, mask: Tensor, value: Any) -> Tensor:
        return _in_place(self, lambda x: ops.comparison.masked_fill(x, mask, value))

    # -------------------------------------------------- like another tensor
    def view_as(self, other: Tensor) -> Tensor:
        return self.view(other.shape)  # type: ignore[attr-defined]

    def reshape_as(self, other: Tensor) -> Tensor:
        return ops.movement.reshape(self, *other.shape)

    def type_as(self, other: Tensor) -> Tensor:
        return ops.promotion.cast(self, other.dtype)

    def pin_memory(self) -> Tensor:
        """Itself: tinygpt has no page-locked host memory (PyTorch code calls this before
        `.to("cuda", non_blocking=True)`)."""
        return self  # type: ignore[return-value]

    def cpu(self) -> Tensor:
        """This tensor on tinygpt's "cpu" device (itself if it is there already)."""
        return ops.movement.to(self, device="cpu")

    # ------------------------------------- new tensors with this dtype/device
    def new_tensor(
        self,
        data: Any,
        *,
        dtype: Any = None,
        device: Any = None,
        requires_grad: builtins.bool = False,
    ):
        return ops.aliases.new_tensor(self, "tensor", (data,), dtype, requires_grad, device)

    def new_zeros(
        self,
        *size: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: builtins.bool = False,
    ):
        return ops.aliases.new_tensor(self, "zeros", size, dtype, requires_grad, device)

    def new_ones(
        self,
        *size: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: builtins.bool = False,
    ):
        return ops.aliases.new_tensor(self, "ones", size, dtype, requires_grad, device)

    def new_empty(
        self,
        *size: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: builtins.bool = False,
    ):
        return ops.aliases.new_tensor(self, "empty", size, dtype, requires_grad, device)

    def new_full(
        self,
        size: Any,
        fill_value: Any,
        *,
        dtype: Any = None,
        device: Any = None,
        requires_grad: builtins.bool = False,
    ) -> Tensor:
        return ops.aliases.new_tensor(
            self, "full", (size, fill_value), dtype, requires_grad, device
        )

    # ----------------------------------------- PyTorch's legacy constructor
    def __new__(cls, *data: Any, device: Any = None) -> Tensor:
        """`Tensor([1.0, 2.0])` copies data as float32, `Tensor(2, 3)` is an uninitialized
        float32 tensor (prefer tg.tensor / tg.empty); internal constructors bypass this."""
        return ops.aliases.legacy_tensor(data, device)


def _scaled(value: Any, alpha: Any) -> Any:
    """`alpha * value`, skipped when alpha is 1 (the common case costs no extra op)."""
    if isinstance(alpha, int | float) and alpha == 1:
        return value
    return ops.elementwise.binary("mul", value, alpha)


def _in_place(x: Any, op: Any) -> Any:
    """`x.copy_(op(x))`. subtle: when x is in a graph, op reads a clone of it, so an op that
    saves its input for backward (abs, pow, clamp) keeps the value from before the write."""
    source = ops.movement.clone(x) if x.requires_grad else x
    return ops.inplace.copy_(x, op(source))
