"""Bit-level and number-format ops with PyTorch's names, built from arithmetic because the
backend protocol has no bit operations: `bitwise_not/and/or/xor`, `bitwise_left_shift`,
`bitwise_right_shift`, `frexp`; plus `vander` and `histogram`.

How the integer bit ops work: bit k of a two's-complement integer a is floor(a / 2^k) mod 2
(floor division rounds toward -inf, so this holds for negative a too), and the sign bit is
a < 0. An op combines the bits of both operands one position at a time and sums them back,
the sign bit weighing -2^63: about 64 rounds of whole-tensor arithmetic, exact for int64.
bool tensors use the logical ops; `~x` of an integer is -x - 1.

>>> import tinygpt as tg
>>> tg.bitwise_and(tg.tensor([12, -5]), tg.tensor([10, 3])).tolist()
[8, 3]
>>> tg.frexp(tg.tensor([8.0])).exponent.tolist()
[4]
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from ..creation import full, linspace
from ..dtypes import int32, int64
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor
from .comparison import logical, logical_not, where
from .elementwise_more import tensors
from .movement import stack
from .promotion import cast, to_float
from .scatter import scatter_add
from .structure_more import broadcast_shapes

__all__ = [
    "FrexpResult",
    "HistogramResult",
    "bitwise_and",
    "bitwise_left_shift",
    "bitwise_not",
    "bitwise_or",
    "bitwise_right_shift",
    "bitwise_xor",
    "frexp",
    "histogram",
    "vander",
]

#: bit width of each integer dtype (the sign bit is the last)
_BITS = {"uint8": 8, "int8": 8, "int32": 32, "int64": 64}


class FrexpResult(NamedTuple):
    mantissa: Tensor
    exponent: Tensor


class HistogramResult(NamedTuple):
    hist: Tensor
    bin_edges: Tensor


# ------------------------------------------------------------------ bitwise
def _integer_operands(op: str, a: Any, b: Any) -> tuple[Tensor, Tensor]:
    a, b = tensors(op, a, b)
    if a.dtype.is_floating_point:
        raise DTypeError(f"{op}: needs integer or bool tensors, got {a.dtype}")
    return a, b


def _combine_bits(a: Tensor, b: Tensor, rule: str) -> Tensor:
    """The integer whose bit k is rule(bit k of a, bit k of b), two's complement."""
    width = _BITS[a.dtype.name]
    signed = a.dtype.name != "uint8"
    wide_a, wide_b = cast(a, int64), cast(b, int64)
    total = full(broadcast_shapes(a.shape, b.shape), 0, dtype=int64, device=a.device)
    for k in range(width - 1 if signed else width):
        bit_a = (wide_a // (2**k)) % 2
        bit_b = (wide_b // (2**k)) % 2
        total = total + _rule(rule, bit_a, bit_b) * (2**k)
    if signed:
        sign = _rule(rule, cast(wide_a < 0, int64), cast(wide_b < 0, int64))
        total = total + sign * -(2 ** (width - 1))  # -2**63 fits int64; +2**63 would not
    return cast(total, a.dtype)


def _rule(rule: str, x: Tensor, y: Tensor) -> Tensor:
    """One bit of the result from one bit (0/1, int64) of each operand."""
    if rule == "and":
        return x * y
    if rule == "or":
        return x + y - x * y
    return (x + y) % 2  # xor


def bitwise_not(x: Tensor) -> Tensor:
    if x.dtype.name == "bool":
        return logical_not(x)
    if x.dtype.is_floating_point:
        raise DTypeError(f"bitwise_not: needs integer or bool tensors, got {x.dtype}")
    if x.dtype.name == "uint8":
        return cast(255 - cast(x, int64), x.dtype)
    return -x - 1  # two's complement: ~a == -a - 1


def bitwise_and(a: Any, b: Any) -> Tensor:
    a, b = _integer_operands("bitwise_and", a, b)
    if a.dtype.name == "bool":
        return logical("logical_and", a, b)
    return _combine_bits(a, b, "and")


def bitwise_or(a: Any, b: Any) -> Tensor:
    a, b = _integer_operands("bitwise_or", a, b)
    if a.dtype.name == "bool":
        return logical("logical_or", a, b)
    return _combine_bits(a, b, "or")


def bitwise_xor(a: Any, b: Any) -> Tensor:
    a, b = _integer_operands("bitwise_xor", a, b)
    if a.dtype.name == "bool":
        return a != b
    return _combine_bits(a, b, "xor")


def bitwise_left_shift(a: Any, b: Any) -> Tensor:
    """a * 2**b (bits shifted out of the top wrap, as in C)."""
    a, b = _integer_operands("bitwise_left_shift", a, b)
    return cast(cast(a, int64) * (2 ** cast(b, int64)), a.dtype)


def bitwise_right_shift(a: Any, b: Any) -> Tensor:
    """floor(a / 2**b): an arithmetic shift (negative numbers stay negative)."""
    a, b = _integer_operands("bitwise_right_shift", a, b)
    return cast(cast(a, int64) // (2 ** cast(b, int64)), a.dtype)


# ------------------------------------------------------------------ number formats
def frexp(x: Tensor) -> FrexpResult:
    """(mantissa, exponent) with x = mantissa * 2**exponent and 0.5 <= |mantissa| < 1
    (0, inf and nan keep exponent 0, as PyTorch)."""
    if not x.dtype.is_floating_point:
        raise DTypeError(f"frexp: needs a floating tensor, got {x.dtype}")
    magnitude = x.abs()
    regular = (magnitude > 0) & magnitude.isfinite()
    safe = where(regular, magnitude, 1.0)
    exponent = (safe.log() * (1 / math.log(2.0))).floor() + 1  # may be off by one: fixed below
    for _ in range(2):
        # subtle: split the power of two so neither half overflows or underflows
        half = (exponent * 0.5).floor()
        mantissa = safe * (2.0**-half) * (2.0 ** -(exponent - half))
        exponent = exponent + cast(mantissa >= 1.0, x.dtype) - cast(mantissa < 0.5, x.dtype)
    half = (exponent * 0.5).floor()
    mantissa = safe * (2.0**-half) * (2.0 ** -(exponent - half))
    signed = where(x < 0, -mantissa, mantissa)
    return FrexpResult(where(regular, signed, x), cast(where(regular, exponent, 0.0), int32))


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:  # noqa: N803
    """Columns of powers of 1-D x: x^(N-1), ..., x^0 (x^0 first when `increasing`)."""
    if x.ndim != 1:
        raise ShapeError(f"vander: x must be 1-D, got shape {tuple(x.shape)}")
    n = x.shape[0] if N is None else N
    # x^0 as constant ones (x**0 would send 0 * x^-1 = nan back at x = 0)
    powers = [full(x.shape, 1, dtype=x.dtype, device=x.device)]
    powers += [x if k == 1 else x**k for k in range(1, n)]
    powers = powers[:n]
    columns = powers if increasing else powers[::-1]
    if not columns:
        return x.reshape(-1, 1)[:, :0]
    return stack(columns, 1)


def histogram(
    x: Tensor,
    bins: Any = 100,
    *,
    range: tuple[float, float] | None = None,  # noqa: A002
    weight: Tensor | None = None,
    density: bool = False,
) -> HistogramResult:
    """(hist, bin_edges): counts (or summed weights) of x in `bins` equal bins over `range`
    (x's own range when None; NOTE: that reads x's min and max to the host), or in the bins
    between the given edges (a 1-D tensor). The last bin includes its right edge."""
    x = to_float(x)
    flat = x.detach().reshape(-1)
    if isinstance(bins, Tensor):
        edges = cast(bins, x.dtype)
    else:
        low, high = range if range is not None else (flat.min().item(), flat.max().item())
        if low == high:
            low, high = low - 0.5, high + 0.5
        edges = linspace(low, high, int(bins) + 1, dtype=x.dtype, device=x.device)
    count = edges.shape[0] - 1
    # the bin of each value: how many inner edges are <= it; the last edge closes the last bin
    slot = (flat.unsqueeze(-1) >= edges[1:-1]).sum(-1)
    inside = (flat >= edges[0]) & (flat <= edges[-1])
    w = cast(inside, x.dtype) if weight is None else where(inside, weight.reshape(-1), 0.0)
    hist = scatter_add(full((count,), 0.0, dtype=x.dtype, device=x.device), 0, slot, w)
    if density:
        widths = edges[1:] - edges[:-1]
        hist = hist / (hist.sum() * widths)
    return HistogramResult(hist, edges)
