"""More Tensor methods PyTorch code calls (issue 14): `x.unique()`, `x.diagonal()`,
`x.index_add_(...)`, `x.masked_select(m)`, `x.median(dim)`, `x.tan()`, `x.squeeze_()`,
`x.exponential_()`, `x.is_cuda`, ...

A mixin of `AliasMethods` (so of Tensor); each method calls its composition in
`ops/extras_linalg.py` or `ops/extras_stats.py` through `ops`, bound at import like the others.
"""

from __future__ import annotations

import builtins
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = ["ExtraMethods", "bind"]

#: the `tinygpt.ops` package, set by `bind` (from `tensor_aliases.bind`)
ops: ModuleType = ModuleType("tinygpt.ops (not imported yet)")


def bind(package: ModuleType) -> None:
    global ops
    ops = package


class ExtraMethods:
    """Mixin of Tensor (through AliasMethods)."""

    __slots__ = ()

    @property
    def is_cuda(self: Any) -> builtins.bool:
        return builtins.bool(self.device.type == "cuda")

    # ------------------------------------------------------------- linear algebra
    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        return ops.extras_linalg.diagonal(self, offset, dim1, dim2)

    def diag(self, diagonal: int = 0) -> Tensor:
        return ops.extras_linalg.diag(self, diagonal)

    def trace(self) -> Tensor:
        return ops.extras_linalg.trace(self)

    def inner(self, other: Tensor) -> Tensor:
        return ops.extras_linalg.inner(self, other)

    def kron(self, other: Tensor) -> Tensor:
        return ops.extras_linalg.kron(self, other)

    def addmm(self, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        return ops.extras_linalg.addmm(self, mat1, mat2, beta=beta, alpha=alpha)

    def baddbmm(self, b1: Tensor, b2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        return ops.extras_linalg.baddbmm(self, b1, b2, beta=beta, alpha=alpha)

    # ------------------------------------------------------------- counting, statistics
    def unique(
        self,
        sorted: builtins.bool = True,  # noqa: A002 - PyTorch's name
        return_inverse: builtins.bool = False,
        return_counts: builtins.bool = False,
        dim: int | None = None,
    ) -> Any:
        return ops.extras_stats.unique(self, sorted, return_inverse, return_counts, dim)

    def bincount(self, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
        return ops.extras_stats.bincount(self, weights, minlength)

    def count_nonzero(self, dim: Any = None) -> Tensor:
        return ops.extras_stats.count_nonzero(self, dim)

    def diff(
        self, n: int = 1, dim: int = -1, prepend: Tensor | None = None, append: Tensor | None = None
    ) -> Tensor:
        return ops.extras_stats.diff(self, n, dim, prepend, append)

    def median(self, dim: int | None = None, keepdim: builtins.bool = False) -> Any:
        return ops.extras_stats.median(self, dim, keepdim)

    def nansum(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
        return ops.extras_stats.nansum(self, dim, keepdim)

    # ------------------------------------------------------------- selection
    def masked_select(self, mask: Tensor) -> Tensor:
        return ops.extras_stats.masked_select(self, mask)

    def index_add(self, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1) -> Tensor:
        return ops.extras_stats.index_add(self, dim, index, source, alpha=alpha)

    def index_add_(self, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1) -> Tensor:
        result = ops.extras_stats.index_add(self, dim, index, source, alpha=alpha)
        return ops.inplace.copy_(self, result)

    def index_fill(self, dim: int, index: Tensor, value: Any) -> Tensor:
        return ops.extras_stats.index_fill(self, dim, index, value)

    def index_fill_(self, dim: int, index: Tensor, value: Any) -> Tensor:
        return ops.inplace.copy_(self, ops.extras_stats.index_fill(self, dim, index, value))

    # ------------------------------------------------------------- elementwise maths
    def tan(self) -> Tensor:
        return ops.extras_stats.tan(self)

    def sinh(self) -> Tensor:
        return ops.extras_stats.sinh(self)

    def cosh(self) -> Tensor:
        return ops.extras_stats.cosh(self)

    def log2(self) -> Tensor:
        return ops.extras_stats.log2(self)

    def log10(self) -> Tensor:
        return ops.extras_stats.log10(self)

    def exp2(self) -> Tensor:
        return ops.extras_stats.exp2(self)

    def expm1(self) -> Tensor:
        return ops.extras_stats.expm1(self)

    # ------------------------------------------------------------- in place
    def squeeze_(self: Any, dim: Any = None) -> Tensor:
        return _reshape_in_place(
            self, "squeeze_", self.squeeze() if dim is None else self.squeeze(dim)
        )

    def unsqueeze_(self: Any, dim: int) -> Tensor:
        return _reshape_in_place(self, "unsqueeze_", self.unsqueeze(dim))

    def detach_(self: Any) -> Tensor:
        """Cut this tensor from its graph in place: it becomes a leaf that needs no gradient."""
        return _detach_in_place(self)

    def bernoulli_(self: Any, p: Any = 0.5, *, generator: Any = None) -> Tensor:
        probs = (
            p
            if isinstance(p, ops.aliases.Tensor)
            else ops.aliases.full(self.shape, float(p), dtype=self.dtype, device=self.device)
        )
        draws = ops.aliases.bernoulli(probs.expand(*self.shape).to(self.dtype), generator)
        return ops.inplace.copy_(self, draws)

    def exponential_(self, lambd: float = 1.0, *, generator: Any = None) -> Tensor:
        return ops.inplace.copy_(self, ops.extras_stats.exponential(self, lambd, generator))


def _detach_in_place(x: Any) -> Any:
    x.grad_fn = None
    x.requires_grad = False
    return x


def _reshape_in_place(x: Any, op: str, view: Any) -> Any:
    """Give x the shape of `view` (a view of x's memory) in place.

    Only outside a graph: an autograd node that saved x would see its new shape.
    """
    if x.requires_grad:
        raise RuntimeError(
            f"{op}: changing the shape in place of a tensor that requires grad is not supported "
            f"in tinygpt; use the out-of-place form (x = x.{op[:-1]}(...))"
        )
    x._data = view._data
    return x
