"""The in-place forms PyTorch has for many ops (`x.sin_()`, `x.clamp_min_(0)`, `x.lt_(y)`,
`x.tril_()`, `x.index_copy_(...)`, `x.t_()`, `x.fill_diagonal_(v)`, ...).

Each `x.op_(...)` is `x.copy_(x.op(...))`, as in `tensor_aliases._in_place`: the write goes
through `ops.inplace.copy_`, which bumps the version counter (so a backward that saved x
refuses to run) and records the write in the graph when x is part of one. As in PyTorch, a
result of a wider kind than x (`int_tensor.sin_()`) is refused instead of truncated.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

from .autograd.function import is_grad_enabled
from .errors import DTypeError

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = ["InPlaceMoreMethods", "bind"]

#: the `tinygpt.ops` package, set by `bind` (from `tensor_more.bind`)
ops: ModuleType = ModuleType("tinygpt.ops (not imported yet)")

_KIND_RANK = {"b": 0, "i": 1, "f": 2}


def bind(package: ModuleType) -> None:
    global ops
    ops = package


def _write_result(x: Any, op: str, compute: Callable[[Any], Any]) -> Any:
    """x.copy_(compute(x)); compute reads a clone when x is in a graph, so an op that saves
    its input for backward keeps the value from before the write."""
    source = ops.movement.clone(x) if x.requires_grad else x
    result = compute(source)
    if _KIND_RANK[result.dtype.kind] > _KIND_RANK[x.dtype.kind]:
        raise DTypeError(
            f"{op}: the result is {result.dtype}, which cannot be written into the {x.dtype} "
            f"tensor in place; use the out-of-place x.{op[:-1]}(...) or convert x first"
        )
    if x.requires_grad and not result.requires_grad and is_grad_enabled():
        # a result without a gradient (lt_, floor_, ...) still replaces x in the graph, with
        # a zero gradient to x's old value, as PyTorch's; copy_ alone would keep x's old node
        everywhere = ops.promotion.as_tensor_like(True, x)
        result = ops.comparison.where(everywhere, result, source)
    return ops.inplace.copy_(x, result)


def _in_place_of(name: str) -> Callable[..., Any]:
    """The method `name_` that writes `x.name(*args, **kwargs)` into x."""

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return _write_result(self, f"{name}_", lambda x: getattr(x, name)(*args, **kwargs))

    method.__name__ = f"{name}_"
    method.__qualname__ = f"InPlaceMoreMethods.{name}_"
    method.__doc__ = f"`x.{name}(...)` written into x's own memory; returns x."
    return method


def _reshape_in_place(x: Any, op: str, view: Any) -> Any:
    """Give x the layout of `view` (a view of x's memory), as `x.t_()` does. Only outside a
    graph: an autograd node that saved x would see its new shape."""
    if x.requires_grad:
        raise RuntimeError(
            f"{op}: changing the shape in place of a tensor that requires grad is not supported "
            f"in tinygpt; use the out-of-place form (x = x.{op[:-1]}(...))"
        )
    x._data = view._data
    return x


class InPlaceMoreMethods:
    """Mixin of Tensor (through MoreMethods)."""

    __slots__ = ()

    # elementwise maths
    sin_ = _in_place_of("sin")
    cos_ = _in_place_of("cos")
    tan_ = _in_place_of("tan")
    sinh_ = _in_place_of("sinh")
    cosh_ = _in_place_of("cosh")
    log_ = _in_place_of("log")
    log2_ = _in_place_of("log2")
    log10_ = _in_place_of("log10")
    log1p_ = _in_place_of("log1p")
    exp2_ = _in_place_of("exp2")
    expm1_ = _in_place_of("expm1")
    rsqrt_ = _in_place_of("rsqrt")
    reciprocal_ = _in_place_of("reciprocal")
    square_ = _in_place_of("square")
    sign_ = _in_place_of("sign")
    sgn_ = _in_place_of("sgn")
    erf_ = _in_place_of("erf")
    erfc_ = _in_place_of("erfc")
    erfinv_ = _in_place_of("erfinv")
    lgamma_ = _in_place_of("lgamma")
    digamma_ = _in_place_of("digamma")
    polygamma_ = _in_place_of("polygamma")
    atan_ = _in_place_of("atan")
    asin_ = _in_place_of("asin")
    acos_ = _in_place_of("acos")
    atan2_ = _in_place_of("atan2")
    asinh_ = _in_place_of("asinh")
    acosh_ = _in_place_of("acosh")
    atanh_ = _in_place_of("atanh")
    arctan_ = _in_place_of("atan")
    arcsin_ = _in_place_of("asin")
    arccos_ = _in_place_of("acos")
    arctan2_ = _in_place_of("atan2")
    arcsinh_ = _in_place_of("asinh")
    arccosh_ = _in_place_of("acosh")
    arctanh_ = _in_place_of("atanh")
    hypot_ = _in_place_of("hypot")
    xlogy_ = _in_place_of("xlogy")
    copysign_ = _in_place_of("copysign")
    deg2rad_ = _in_place_of("deg2rad")
    rad2deg_ = _in_place_of("rad2deg")
    nan_to_num_ = _in_place_of("nan_to_num")
    logit_ = _in_place_of("logit")
    sinc_ = _in_place_of("sinc")
    heaviside_ = _in_place_of("heaviside")
    float_power_ = _in_place_of("float_power")
    fmod_ = _in_place_of("fmod")
    # rounding and clamping
    floor_ = _in_place_of("floor")
    ceil_ = _in_place_of("ceil")
    round_ = _in_place_of("round")
    trunc_ = _in_place_of("trunc")
    fix_ = _in_place_of("trunc")
    frac_ = _in_place_of("frac")
    clamp_min_ = _in_place_of("clamp_min")
    clamp_max_ = _in_place_of("clamp_max")
    clip_ = _in_place_of("clamp")
    # arithmetic by name
    absolute_ = _in_place_of("abs")
    negative_ = _in_place_of("neg")
    multiply_ = _in_place_of("mul")
    divide_ = _in_place_of("divide")
    true_divide_ = _in_place_of("true_divide")
    subtract_ = _in_place_of("subtract")
    floor_divide_ = _in_place_of("floor_divide")
    remainder_ = _in_place_of("remainder")
    cumsum_ = _in_place_of("cumsum")
    cumprod_ = _in_place_of("cumprod")
    addmm_ = _in_place_of("addmm")
    baddbmm_ = _in_place_of("baddbmm")
    tril_ = _in_place_of("tril")
    triu_ = _in_place_of("triu")
    # comparisons and logic: the 0/1 result in x's dtype
    lt_ = _in_place_of("lt")
    le_ = _in_place_of("le")
    gt_ = _in_place_of("gt")
    ge_ = _in_place_of("ge")
    eq_ = _in_place_of("eq")
    ne_ = _in_place_of("ne")
    less_ = _in_place_of("lt")
    less_equal_ = _in_place_of("le")
    greater_ = _in_place_of("gt")
    greater_equal_ = _in_place_of("ge")
    not_equal_ = _in_place_of("ne")
    logical_not_ = _in_place_of("logical_not")
    logical_and_ = _in_place_of("logical_and")
    logical_or_ = _in_place_of("logical_or")
    logical_xor_ = _in_place_of("logical_xor")
    bitwise_not_ = _in_place_of("bitwise_not")
    bitwise_and_ = _in_place_of("bitwise_and")
    bitwise_or_ = _in_place_of("bitwise_or")
    bitwise_xor_ = _in_place_of("bitwise_xor")
    bitwise_left_shift_ = _in_place_of("bitwise_left_shift")
    bitwise_right_shift_ = _in_place_of("bitwise_right_shift")
    i0_ = _in_place_of("i0")
    # writing at positions
    index_copy_ = _in_place_of("index_copy")
    index_put_ = _in_place_of("index_put")
    masked_scatter_ = _in_place_of("masked_scatter")
    put_ = _in_place_of("put")
    scatter_reduce_ = _in_place_of("scatter_reduce")

    # ------------------------------------------------------ layout in place
    def t_(self: Any) -> Tensor:
        return _reshape_in_place(self, "t_", self.t())

    def transpose_(self: Any, dim0: int, dim1: int) -> Tensor:
        return _reshape_in_place(self, "transpose_", self.transpose(dim0, dim1))

    def swapaxes_(self: Any, axis0: int, axis1: int) -> Tensor:
        return _reshape_in_place(self, "swapaxes_", self.transpose(axis0, axis1))

    swapdims_ = swapaxes_

    def fill_diagonal_(self: Any, fill_value: Any, wrap: bool = False) -> Tensor:
        """Write `fill_value` on the main diagonal (all indices equal) in place."""
        return ops.inplace.copy_(self, ops.scatter_more.fill_diagonal(self, fill_value, wrap))
