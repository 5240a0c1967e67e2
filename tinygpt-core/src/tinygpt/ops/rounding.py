"""Rounding and integer division: trunc, floor, ceil, round, frac, floor_divide (`//`),
remainder (`%`).

One primitive, `Rounding` (A -> A, piecewise constant, so its gradient is 0 everywhere, as
in PyTorch). It is composed from the float -> int64 cast, which truncates toward zero:
values too large to have a fraction (|x| >= 2**mantissa bits), inf and nan pass through
unchanged, so the cast never sees a value int64 cannot hold.

`//` and `%` follow PyTorch (and Python): the quotient is rounded toward -inf, and the
remainder takes the sign of the divisor, `-7 % 3 == 2`. For floats they are floor(a / b) and
a - b * floor(a / b); NOTE: PyTorch derives them from fmod instead, so where a / b rounds to
an integer (1.0 // 0.1) the two can differ by one step. Integer division is exact for
|a| < 2**53; dividing an integer by 0 is a ZeroDivisionError with TINYGPT_CHECKS=1 and
undefined otherwise (checking would read the divisor back to the host).

>>> import tinygpt as tg
>>> (tg.tensor([-7, 7]) // 2).tolist(), (tg.tensor([-7, 7]) % 3).tolist()
([-4, 3], [2, 1])
>>> tg.tensor([0.5, 1.5, 2.5, -1.5]).round().tolist()
[0.0, 2.0, 2.0, -2.0]
"""

from __future__ import annotations

from .. import array_ops as A
from ..autograd.function import Function
from ..config import env_checks
from ..creation import full
from ..dtypes import float64, int64, result_type
from ..errors import DTypeError
from ..ndarray import NDArray
from ..tensor import Tensor
from .comparison import where
from .elementwise import binary
from .promotion import as_tensor_like, cast, promote

__all__ = [
    "Rounding",
    "trunc",
    "floor",
    "ceil",
    "round",
    "frac",
    "floor_divide",
    "div",
    "remainder",
]

#: float dtype name -> the magnitude from which every value is an integer (2**mantissa)
_INTEGRAL_FROM = {"float16": 2.0**10, "float32": 2.0**23, "float64": 2.0**52}


def _trunc(x: NDArray) -> NDArray:
    """Round toward zero through an int64 cast, for the values that have a fraction."""
    small = A.scalar("lt", A.unary("abs", x), _INTEGRAL_FROM[x.dtype.name])  # nan: False
    safe = A.where(small, x, A.zeros(x, ()))
    truncated = A.cast(A.cast(safe, int64), x.dtype)
    return A.where(small, truncated, x)


def _floor(x: NDArray) -> NDArray:
    t = _trunc(x)
    return A.binary("sub", t, A.cast(A.binary("lt", x, t), x.dtype))  # negatives round down


def _ceil(x: NDArray) -> NDArray:
    t = _trunc(x)
    return A.binary("add", t, A.cast(A.binary("gt", x, t), x.dtype))


def _round_half_even(x: NDArray) -> NDArray:
    """Nearest integer; a tie (x.5) goes to the even neighbour, as PyTorch and NumPy."""
    # values past 2**mantissa (and inf, nan) are whole already: they skip the arithmetic
    original = x
    small = A.scalar("lt", A.unary("abs", x), _INTEGRAL_FROM[x.dtype.name])
    x = A.where(small, x, A.zeros(x, ()))
    low = _floor(x)
    rest = A.binary("sub", x, low)  # in [0, 1)
    half_of_low = A.scalar("mul", low, 0.5)
    odd = A.binary("ne", _floor(half_of_low), half_of_low)
    tie_up = A.binary("logical_and", A.scalar("eq", rest, 0.5), odd)
    up = A.binary("logical_or", A.scalar("gt", rest, 0.5), tie_up)
    return A.where(small, A.binary("add", low, A.cast(up, x.dtype)), original)


_MODES = {"trunc": _trunc, "floor": _floor, "ceil": _ceil, "round": _round_half_even}


class Rounding(Function):
    """trunc / floor / ceil / round of a float array.  A -> A; the gradient is 0."""

    def forward(self, x: NDArray, mode: str = "floor") -> NDArray:
        return _MODES[mode](x)

    def backward(self, grad: NDArray) -> NDArray:
        return A.zeros(grad)


def _rounded(mode: str, x: Tensor) -> Tensor:
    if x.dtype.kind == "b":
        raise DTypeError(f"{mode}: not defined for bool tensors; use x.long() first")
    if not x.dtype.is_floating_point:
        return x.clone()  # an integer is already whole (PyTorch returns a copy too)
    return Rounding.apply(x, mode=mode)


def trunc(input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
    """Round toward zero."""
    return _rounded("trunc", input)


def floor(input: Tensor) -> Tensor:  # noqa: A002
    """Round toward -inf."""
    return _rounded("floor", input)


def ceil(input: Tensor) -> Tensor:  # noqa: A002
    """Round toward +inf."""
    return _rounded("ceil", input)


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001, A002
    """Round to the nearest integer (or to `decimals` places); ties go to the even one."""
    if decimals == 0:
        return _rounded("round", input)
    if not input.dtype.is_floating_point:
        raise DTypeError(f"round: decimals={decimals} needs a floating tensor, got {input.dtype}")
    scale = 10.0**decimals
    return _rounded("round", input * scale) / scale


def frac(input: Tensor) -> Tensor:  # noqa: A002
    """The fractional part x - trunc(x), with x's sign; its gradient is 1."""
    return input - trunc(input)


def _operands(op: str, a: object, b: object) -> tuple[Tensor, Tensor]:
    """Both sides as tensors of one dtype and device (a Python number adopts the other's)."""
    if isinstance(a, Tensor) and isinstance(b, (bool, int, float)):
        b = full((), b, dtype=result_type(a.dtype, b), device=a.device)
    elif isinstance(b, Tensor) and isinstance(a, (bool, int, float)):
        a = full((), a, dtype=result_type(b.dtype, a), device=b.device)
    elif isinstance(a, Tensor) and not isinstance(b, Tensor):
        b = as_tensor_like(b, a)  # a list or a NumPy array
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise DTypeError(
            f"{op}: needs a tensor and a tensor or number, got {type(a).__name__} and "
            f"{type(b).__name__}"
        )
    a, b = promote(op, a, b)
    if a.dtype.kind == "b":
        a, b = cast(a, int64), cast(b, int64)
    return a, b


def _int_floor_divide(a: Tensor, b: Tensor) -> Tensor:
    """Exact integer floor division (|a| < 2**53): a float64 quotient, then one correction."""
    if env_checks() and bool((b == 0).any()):
        raise ZeroDivisionError(f"floor_divide: integer division by zero ({a.dtype} // 0)")
    quotient = floor(cast(a, float64) / cast(b, float64))
    q = cast(quotient, a.dtype)
    # the float quotient can round up onto an integer: then the remainder has the wrong sign
    r = a - q * b
    overshot = (r != 0) & ((r < 0) != (b < 0))
    return q - cast(overshot, a.dtype)


def floor_divide(input: Tensor | int | float, other: object) -> Tensor:  # noqa: A002
    """a // b rounded toward -inf (`torch.floor_divide`, `torch.div(rounding_mode="floor")`).

    Broadcasts; ints stay ints. No gradient (the quotient is piecewise constant).
    """
    a, b = _operands("floor_divide", input, other)
    if a.dtype.is_floating_point:
        return floor(binary("div", a, b))
    return _int_floor_divide(a, b)


def div(
    input: Tensor | int | float,  # noqa: A002
    other: object,
    *,
    rounding_mode: str | None = None,
) -> Tensor:
    """`torch.div`: true division, or rounded with rounding_mode "floor" (as `//`) or
    "trunc" (toward zero, as C's integer division)."""
    if rounding_mode is None:
        a, b = _operands("div", input, other)
        return binary("div", a, b)
    if rounding_mode == "floor":
        return floor_divide(input, other)
    if rounding_mode != "trunc":
        raise ValueError(
            f"div: rounding_mode must be None, 'floor' or 'trunc', not {rounding_mode!r}"
        )
    a, b = _operands("div_trunc", input, other)  # NOTE: not "div", which promotes ints
    if a.dtype.is_floating_point:
        return trunc(binary("div", a, b))
    # toward zero: the floor quotient, one step up where it rounded a negative quotient down
    q = floor_divide(a, b)
    inexact = (a - q * b) != 0
    return q + cast(inexact & ((a < 0) != (b < 0)), a.dtype)


def remainder(input: Tensor | int | float, other: object) -> Tensor:  # noqa: A002
    """a - b * (a // b): the remainder with the sign of the divisor (Python's `%`).

    Differentiable for floats: d/da = 1, d/db = -(a // b).
    """
    a, b = _operands("remainder", input, other)
    if not a.dtype.is_floating_point:
        return a - floor_divide(a, b) * b
    # as PyTorch: an infinite divisor leaves a finite a of its sign unchanged (a - inf *
    # floor(a / inf) would be nan), and gives b itself for the opposite sign; it is swapped
    # for 1 in the arithmetic so no inf * 0 is computed at all
    infinite = b.abs() == float("inf")
    finite_b = where(infinite, 1.0, b)
    out = a - floor_divide(a, finite_b) * finite_b
    same_sign = (a < 0) == (b < 0)
    keeps_a = infinite & (a.abs() < float("inf"))
    return where(keeps_a, where(same_sign | (a == 0), a, b), out)
