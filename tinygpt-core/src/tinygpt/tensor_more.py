"""More Tensor methods with PyTorch's names: other names for existing ops (`x.multiply`,
`x.greater`, `x.absolute`), shape helpers (`x.movedim`, `x.roll`, `x.unfold`, ...), maths
(`x.atan2`, `x.lgamma`, `x.fmod`, ...), statistics (`x.quantile`, `x.cummax`, ...) and
questions about the tensor (`x.get_device()`, `x.is_signed()`, ...).

A mixin of `TensorMethods` (split from it to keep each file small); like it, every method
calls its function at call time through `ops`, which `bind` sets when `tinygpt.ops` is
imported. The in-place forms are in `tensor_inplace_more.py`, a few more in
`tensor_misc_more.py`.
"""

from __future__ import annotations

import builtins
from types import ModuleType
from typing import TYPE_CHECKING, Any

from . import tensor_inplace_more, tensor_misc_more
from .errors import DTypeError

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = ["MoreMethods", "bind"]

#: the `tinygpt.ops` package, set by `bind` (from `tensor_methods.bind`)
ops: ModuleType = ModuleType("tinygpt.ops (not imported yet)")


def bind(package: ModuleType) -> None:
    global ops
    ops = package
    tensor_inplace_more.bind(package)
    tensor_misc_more.bind(package)


class MoreMethods(tensor_inplace_more.InPlaceMoreMethods, tensor_misc_more.MiscMoreMethods):
    """Mixin of Tensor (through TensorMethods)."""

    __slots__ = ()

    # ------------------------------------------------------ other names
    def absolute(self) -> Tensor:
        return ops.elementwise.abs(self)

    def positive(self) -> Tensor:
        return self  # type: ignore[return-value]

    def multiply(self, other: Any) -> Tensor:
        return ops.elementwise.binary("mul", self, other)

    def divide(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        return ops.rounding.div(self, other, rounding_mode=rounding_mode)

    def true_divide(self, other: Any) -> Tensor:
        return ops.elementwise.binary("div", self, other)

    def subtract(self: Any, other: Any, *, alpha: Any = 1) -> Tensor:
        return self.sub(other, alpha=alpha)

    def greater(self, other: Any) -> Tensor:
        return ops.comparison.compare("gt", self, other)

    def greater_equal(self, other: Any) -> Tensor:
        return ops.comparison.compare("ge", self, other)

    def less(self, other: Any) -> Tensor:
        return ops.comparison.compare("lt", self, other)

    def less_equal(self, other: Any) -> Tensor:
        return ops.comparison.compare("le", self, other)

    def not_equal(self, other: Any) -> Tensor:
        return ops.comparison.compare("ne", self, other)

    # NOTE: PyTorch's logical ops take any dtype (nonzero is True), so they compare with 0
    def logical_and(self: Any, other: Any) -> Tensor:
        return ops.comparison.logical("logical_and", self != 0, other != 0)

    def logical_or(self: Any, other: Any) -> Tensor:
        return ops.comparison.logical("logical_or", self != 0, other != 0)

    def logical_xor(self: Any, other: Any) -> Tensor:
        return ops.comparison.compare("ne", self != 0, other != 0)

    def where(self, condition: Tensor, y: Any) -> Tensor:
        """`x.where(cond, y)`: x where cond is True, else y (`tg.where(cond, x, y)`)."""
        return ops.comparison.where(condition, self, y)

    def sgn(self) -> Tensor:
        return ops.elementwise.sign(self)

    def fix(self: Any) -> Tensor:
        return self.trunc()

    def resolve_conj(self) -> Tensor:
        return self  # type: ignore[return-value]

    def resolve_neg(self) -> Tensor:
        return self  # type: ignore[return-value]

    # ------------------------------------------------------ dtypes and questions
    def bfloat16(self) -> Tensor:
        return ops.promotion.cast(self, "bfloat16")

    def byte(self) -> Tensor:
        return ops.promotion.cast(self, "uint8")

    def char(self) -> Tensor:
        return ops.promotion.cast(self, "int8")

    def short(self) -> Tensor:
        """NOTE: tinygpt has no int16, so this is an error that says what to use instead."""
        raise DTypeError(
            "short: tinygpt has no int16 dtype; use .int() (int32) or .to(tg.int8) instead"
        )

    def get_device(self: Any) -> int:
        """The GPU index, or -1 for host devices (as PyTorch's CPU tensors)."""
        if self.device.type in ("cpu", "numpy"):
            return -1
        return self.device.index or 0

    def ndimension(self: Any) -> int:
        return int(self.ndim)

    def is_signed(self: Any) -> builtins.bool:
        return self.dtype.name not in ("uint8", "bool")

    def is_complex(self) -> builtins.bool:
        return False

    def is_conj(self) -> builtins.bool:
        return False

    def is_neg(self) -> builtins.bool:
        return False

    def is_nonzero(self: Any) -> builtins.bool:
        if self.numel() != 1:
            raise RuntimeError(
                f"is_nonzero: needs a tensor with one element, got shape {tuple(self.shape)}"
            )
        return builtins.bool(self.item() != 0)

    def is_same_size(self: Any, other: Tensor) -> builtins.bool:
        return tuple(self.shape) == tuple(other.shape)

    # ------------------------------------------------------ shapes
    def ravel(self) -> Tensor:
        return ops.movement_more.ravel(self)

    def swapaxes(self, axis0: int, axis1: int) -> Tensor:
        return ops.movement.transpose(self, axis0, axis1)

    swapdims = swapaxes

    def movedim(self, source: Any, destination: Any) -> Tensor:
        return ops.movement_more.movedim(self, source, destination)

    moveaxis = movedim

    def tile(self, *dims: Any) -> Tensor:
        sizes = dims[0] if len(dims) == 1 and not isinstance(dims[0], int) else dims
        return ops.movement_more.tile(self, sizes)

    def roll(self, shifts: Any, dims: Any = None) -> Tensor:
        return ops.movement_more.roll(self, shifts, dims)

    def rot90(self, k: int = 1, dims: Any = (0, 1)) -> Tensor:
        return ops.movement_more.rot90(self, k, dims)

    def unflatten(self, dim: int, sizes: Any) -> Tensor:
        return ops.movement_more.unflatten(self, dim, sizes)

    def tensor_split(self, indices_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
        return ops.movement_more.tensor_split(self, indices_or_sections, dim)

    def hsplit(self, sections: Any) -> tuple[Tensor, ...]:
        return ops.movement_more.hsplit(self, sections)

    def vsplit(self, sections: Any) -> tuple[Tensor, ...]:
        return ops.movement_more.vsplit(self, sections)

    def dsplit(self, sections: Any) -> tuple[Tensor, ...]:
        return ops.movement_more.dsplit(self, sections)

    def select(self, dim: int, index: int) -> Tensor:
        return ops.movement_more.select(self, dim, index)

    def take(self, index: Tensor) -> Tensor:
        return ops.movement_more.take(self, index)

    def narrow_copy(self: Any, dim: int, start: int, length: int) -> Tensor:
        return self.narrow(dim, start, length).clone()

    def unfold(self, dimension: int, size: int, step: int) -> Tensor:
        """Sliding windows of `size` along `dimension`, `step` apart, as a new last dim."""
        return ops.movement_more.unfold(self, dimension, size, step)

    def diag_embed(self, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
        return ops.structure_more.diag_embed(self, offset, dim1, dim2)

    def diagflat(self, offset: int = 0) -> Tensor:
        return ops.structure_more.diagflat(self, offset)

    # ------------------------------------------------------ maths
    def fmod(self, other: Any) -> Tensor:
        return ops.elementwise_more.fmod(self, other)

    def logaddexp(self, other: Any) -> Tensor:
        return ops.elementwise_more.logaddexp(self, other)

    def logaddexp2(self, other: Any) -> Tensor:
        return ops.elementwise_more.logaddexp2(self, other)

    def hypot(self, other: Any) -> Tensor:
        return ops.elementwise_more.hypot(self, other)

    def xlogy(self, other: Any) -> Tensor:
        return ops.elementwise_more.xlogy(self, other)

    def copysign(self, other: Any) -> Tensor:
        return ops.elementwise_more.copysign(self, other)

    def signbit(self) -> Tensor:
        return ops.elementwise_more.signbit(self)

    def heaviside(self, values: Any) -> Tensor:
        return ops.elementwise_more.heaviside(self, values)

    def fmax(self, other: Any) -> Tensor:
        return ops.elementwise_more.fmax(self, other)

    def fmin(self, other: Any) -> Tensor:
        return ops.elementwise_more.fmin(self, other)

    def sinc(self) -> Tensor:
        return ops.elementwise_more.sinc(self)

    def logit(self, eps: float | None = None) -> Tensor:
        return ops.elementwise_more.logit(self, eps)

    def float_power(self, exponent: Any) -> Tensor:
        return ops.elementwise_more.float_power(self, exponent)

    def deg2rad(self) -> Tensor:
        return ops.elementwise_more.deg2rad(self)

    def rad2deg(self) -> Tensor:
        return ops.elementwise_more.rad2deg(self)

    def nan_to_num(self, nan: float = 0.0, posinf: Any = None, neginf: Any = None) -> Tensor:
        return ops.elementwise_more.nan_to_num(self, nan, posinf, neginf)

    # NOTE: these two replace tensor_aliases' / tensor_extras' compositions, which lose every
    # digit of a tiny x (this class comes first in Tensor's bases)
    def log1p(self) -> Tensor:
        return ops.log_exp.log1p(self)

    def expm1(self) -> Tensor:
        return ops.log_exp.expm1(self)

    def atan(self) -> Tensor:
        return ops.elementwise_inverse.atan(self)

    def asin(self) -> Tensor:
        return ops.elementwise_inverse.asin(self)

    def acos(self) -> Tensor:
        return ops.elementwise_inverse.acos(self)

    def atan2(self, other: Any) -> Tensor:
        return ops.elementwise_inverse.atan2(self, other)

    def asinh(self) -> Tensor:
        return ops.elementwise_inverse.asinh(self)

    def acosh(self) -> Tensor:
        return ops.elementwise_inverse.acosh(self)

    def atanh(self) -> Tensor:
        return ops.elementwise_inverse.atanh(self)

    arctan = atan
    arcsin = asin
    arccos = acos
    arctan2 = atan2
    arcsinh = asinh
    arccosh = acosh
    arctanh = atanh

    def lgamma(self) -> Tensor:
        return ops.special_math.lgamma(self)

    def digamma(self) -> Tensor:
        return ops.special_math.digamma(self)

    def polygamma(self, n: int) -> Tensor:
        return ops.special_math.polygamma(n, self)

    def erfinv(self) -> Tensor:
        return ops.special_math.erfinv(self)

    def erfc(self) -> Tensor:
        return ops.special_math.erfc(self)

    # ------------------------------------------------------ statistics, search
    def nanmean(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
        return ops.stats_more.nanmean(self, dim, keepdim)

    def aminmax(self, *, dim: int | None = None, keepdim: builtins.bool = False) -> Any:
        return ops.stats_more.aminmax(self, dim=dim, keepdim=keepdim)

    def kthvalue(self, k: int, dim: int = -1, keepdim: builtins.bool = False) -> Any:
        return ops.stats_more.kthvalue(self, k, dim, keepdim)

    def mode(self, dim: int = -1, keepdim: builtins.bool = False) -> Any:
        return ops.stats_more.mode(self, dim, keepdim)

    def quantile(
        self,
        q: Any,
        dim: int | None = None,
        keepdim: builtins.bool = False,
        *,
        interpolation: str = "linear",
    ) -> Tensor:
        return ops.stats_more.quantile(self, q, dim, keepdim, interpolation=interpolation)

    def nanquantile(
        self,
        q: Any,
        dim: int | None = None,
        keepdim: builtins.bool = False,
        *,
        interpolation: str = "linear",
    ) -> Tensor:
        return ops.stats_more.nanquantile(self, q, dim, keepdim, interpolation=interpolation)

    def histc(self, bins: int = 100, min: float = 0.0, max: float = 0.0) -> Tensor:  # noqa: A002
        return ops.stats_more.histc(self, bins, min, max)

    def cov(self, *, correction: int = 1, fweights: Any = None, aweights: Any = None) -> Tensor:
        return ops.stats_more.cov(self, correction=correction, fweights=fweights, aweights=aweights)

    def corrcoef(self) -> Tensor:
        return ops.stats_more.corrcoef(self)

    def cross(self, other: Tensor, dim: int | None = None) -> Tensor:
        return ops.stats_more.cross(self, other, dim)

    def dist(self, other: Tensor, p: float = 2.0) -> Tensor:
        return ops.stats_more.dist(self, other, p)

    def renorm(self, p: float, dim: int, maxnorm: float) -> Tensor:
        return ops.stats_more.renorm(self, p, dim, maxnorm)

    def isin(self, test_elements: Any, *, invert: builtins.bool = False) -> Tensor:
        return ops.stats_more.isin(self, test_elements, invert=invert)

    def cummax(self, dim: int) -> Any:
        return ops.scan_more.cummax(self, dim)

    def cummin(self, dim: int) -> Any:
        return ops.scan_more.cummin(self, dim)

    def logcumsumexp(self, dim: int) -> Tensor:
        return ops.scan_more.logcumsumexp(self, dim)
