"""More Tensor methods with PyTorch's names: sorting, scans, gather/scatter, rounding, `//` and
`%`, value checks, norms and extra views. A mixin of `TensorMethods` (split from it to keep
each file small); like it, every method is a one-line call into `tinygpt.ops`, looked up at
call time through `ops`, which `bind` sets when `tinygpt.ops` is imported.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = ["ParityMethods", "bind"]

#: the `tinygpt.ops` package, set by `bind` (from `tensor_methods.bind`)
ops: ModuleType = ModuleType("tinygpt.ops (not imported yet)")


def bind(package: ModuleType) -> None:
    global ops
    ops = package


class ParityMethods:
    """Mixin of Tensor (through TensorMethods)."""

    __slots__ = ()

    # ------------------------------------------------------ // and %
    def __floordiv__(self, other: Any) -> Tensor:
        return ops.rounding.floor_divide(self, other)

    def __rfloordiv__(self, other: Any) -> Tensor:
        return ops.rounding.floor_divide(other, self)

    def __mod__(self, other: Any) -> Tensor:
        return ops.rounding.remainder(self, other)

    def __rmod__(self, other: Any) -> Tensor:
        return ops.rounding.remainder(other, self)

    # `x //= 2` writes x's memory, as PyTorch's in-place ops do (views of x see it)
    def __ifloordiv__(self, other: Any) -> Tensor:
        return ops.inplace.copy_(self, ops.rounding.floor_divide(self, other))

    def __imod__(self, other: Any) -> Tensor:
        return ops.inplace.copy_(self, ops.rounding.remainder(self, other))

    def floor_divide(self, other: Any) -> Tensor:
        return ops.rounding.floor_divide(self, other)

    def div(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        return ops.rounding.div(self, other, rounding_mode=rounding_mode)

    def remainder(self, other: Any) -> Tensor:
        return ops.rounding.remainder(self, other)

    # ------------------------------------------------------- rounding
    def floor(self) -> Tensor:
        return ops.rounding.floor(self)

    def ceil(self) -> Tensor:
        return ops.rounding.ceil(self)

    def round(self, *, decimals: int = 0) -> Tensor:
        return ops.rounding.round(self, decimals=decimals)

    def trunc(self) -> Tensor:
        return ops.rounding.trunc(self)

    def frac(self) -> Tensor:
        return ops.rounding.frac(self)

    # --------------------------------------------------- value checks
    def isnan(self) -> Tensor:
        return ops.classify.isnan(self)

    def isinf(self) -> Tensor:
        return ops.classify.isinf(self)

    def isposinf(self) -> Tensor:
        return ops.classify.isposinf(self)

    def isneginf(self) -> Tensor:
        return ops.classify.isneginf(self)

    def isfinite(self) -> Tensor:
        return ops.classify.isfinite(self)

    def isclose(self, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan=False):
        return ops.classify.isclose(self, other, rtol, atol, equal_nan)

    def allclose(self, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan=False):
        return ops.classify.allclose(self, other, rtol, atol, equal_nan)

    # -------------------------------------------------- sort and scan
    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
        return ops.sorting.sort(self, dim, descending, stable)

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
        return ops.sorting.argsort(self, dim, descending, stable)

    def msort(self) -> Tensor:
        return ops.sorting.msort(self)

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:  # noqa: A002
        return ops.sorting.topk(self, k, dim, largest, sorted)

    def cumsum(self, dim: int, *, dtype: Any = None) -> Tensor:
        return ops.scan.cumsum(self, dim, dtype=dtype)

    def cumprod(self, dim: int, *, dtype: Any = None) -> Tensor:
        return ops.scan.cumprod(self, dim, dtype=dtype)

    def prod(self, dim: int | None = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        return ops.scan.prod(self, dim, keepdim, dtype=dtype)

    def norm(self, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None):
        return ops.norms.norm(self, p, dim, keepdim, dtype)

    def multinomial(self, num_samples: int, replacement: bool = False) -> Tensor:
        return ops.sampling.multinomial(self, num_samples, replacement)

    # ------------------------------------------------ gather / scatter
    def gather(self, dim: int, index: Tensor) -> Tensor:
        return ops.scatter.gather(self, dim, index)

    def take_along_dim(self, indices: Tensor, dim: int) -> Tensor:
        return ops.scatter.take_along_dim(self, indices, dim)

    def scatter(self, dim: int, index: Tensor, src: Any = None, **kw: Any) -> Tensor:
        return ops.scatter.scatter(self, dim, index, src, **kw)

    def scatter_(self, dim: int, index: Tensor, src: Any = None, **kw: Any) -> Tensor:
        return ops.scatter.scatter_(self, dim, index, src, **kw)

    def scatter_add(self, dim: int, index: Tensor, src: Tensor) -> Tensor:
        return ops.scatter.scatter_add(self, dim, index, src)

    def scatter_add_(self, dim: int, index: Tensor, src: Tensor) -> Tensor:
        return ops.scatter.scatter_add_(self, dim, index, src)

    def index_select(self, dim: int, index: Tensor) -> Tensor:
        return ops.indexing.index_select(self, dim, index)

    # ----------------------------------------------------------- views
    def t(self) -> Tensor:
        return ops.views.t(self)

    def narrow(self, dim: int, start: Any, length: int) -> Tensor:
        return ops.views.narrow(self, dim, start, length)

    def flip(self, *dims: Any) -> Tensor:
        return ops.views.flip(self, *dims)

    def fliplr(self) -> Tensor:
        return ops.views.fliplr(self)

    def flipud(self) -> Tensor:
        return ops.views.flipud(self)

    def repeat(self, *sizes: Any) -> Tensor:
        return ops.views.repeat(self, *sizes)

    def as_strided(self, size: Any, stride: Any, storage_offset: int | None = None) -> Tensor:
        return ops.views.as_strided(self, size, stride, storage_offset)

    def stride(self, dim: int | None = None) -> Any:
        """The step, in elements, between neighbours along each dim (or along `dim`)."""
        strides = self._data.strides  # type: ignore[attr-defined]  # Tensor's field
        if dim is None:
            return tuple(strides)
        return strides[dim if dim >= 0 else dim + len(strides)]

    def storage_offset(self) -> int:
        """Where the first element sits in the memory the tensor views (in elements)."""
        return self._data.offset  # type: ignore[attr-defined]
