"""What each elementwise op does to one number, with IEEE float semantics.

Python's `math` raises where IEEE arithmetic (and so NumPy, C and every GPU) returns inf or
NaN: ``math.log(0)`` raises instead of giving -inf, ``math.exp(1000)`` raises instead of
giving inf. The functions here give the IEEE answers, so a kernel is one loop over elements.

>>> log(0.0), exp(1000.0), div(1.0, 0.0), maximum(float("nan"), 1.0)
(-inf, inf, inf, nan)
>>> sign(-3), sign(2.5), sigmoid(-1000.0)
(-1, 1.0, 0.0)
"""

from __future__ import annotations

import math

__all__ = ["UNARY", "BINARY", "REDUCE", "maximum", "minimum", "sign", "sigmoid"]

INF = math.inf
NAN = math.nan


# ----------------------------------------------------------------------- unary
def exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return INF


def log(x: float) -> float:
    if x > 0:
        return math.log(x)
    if x == 0:
        return -INF
    return NAN  # negative, or NaN


def sqrt(x: float) -> float:
    return math.sqrt(x) if x >= 0 else NAN


def sin(x: float) -> float:
    return math.sin(x) if math.isfinite(x) else NAN


def cos(x: float) -> float:
    return math.cos(x) if math.isfinite(x) else NAN


def sign(x: int | float) -> int | float:
    """-1, 0 or 1 in x's own type; NaN stays NaN."""
    if x != x:
        return x
    if isinstance(x, float):
        return 1.0 if x > 0 else -1.0 if x < 0 else 0.0
    return (x > 0) - (x < 0)


def sigmoid(x: float) -> float:
    # NOTE: exp(-x) overflows for x << 0; with e = exp(-|x|) in (0, 1] it cannot:
    # sigmoid(x) = 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = exp(x)  # NaN lands here too, and stays NaN
    return e / (1.0 + e)


UNARY = {
    "neg": lambda x: -x,
    "exp": exp,
    "log": log,
    "sqrt": sqrt,
    "abs": abs,
    "sign": sign,
    "sin": sin,
    "cos": cos,
    "tanh": math.tanh,
    "sigmoid": sigmoid,
    "erf": math.erf,
    "logical_not": lambda x: not x,
}


# ---------------------------------------------------------------------- binary
def div(a: float, b: float) -> float:
    """True division; x / 0 is +-inf (or NaN for 0 / 0), as in IEEE arithmetic."""
    if b != 0:
        return a / b
    if a != a or a == 0:
        return NAN
    return math.copysign(INF, a) * math.copysign(1.0, b)


def power(a: int | float, b: int | float) -> int | float:
    """a ** b: integers stay integers (wrapped when stored); floats follow C's pow()."""
    if isinstance(a, int) and isinstance(b, int):
        if b < 0:
            raise ValueError("pow: integers to negative integer powers are not allowed")
        return a**b
    try:
        return math.pow(a, b)
    except OverflowError:
        odd = float(b).is_integer() and int(b) % 2 == 1
        return -INF if a < 0 and odd else INF
    except ValueError:
        return INF if a == 0 else NAN  # 0 ** negative, or a negative base ** a fraction


def maximum(a: int | float, b: int | float) -> int | float:
    """The larger of a and b; NaN if either is NaN (as torch.maximum and np.maximum)."""
    if a != a:
        return a
    if b != b:
        return b
    return a if a >= b else b


def minimum(a: int | float, b: int | float) -> int | float:
    if a != a:
        return a
    if b != b:
        return b
    return a if a <= b else b


BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": div,
    "pow": power,
    "maximum": maximum,
    "minimum": minimum,
    "logical_and": lambda a, b: bool(a) and bool(b),
    "logical_or": lambda a, b: bool(a) or bool(b),
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


# ------------------------------------------------------------------ reductions
def total(items: list) -> int | float:
    """The sum. For floats, the exact sum rounded once (math.fsum): order cannot matter."""
    if not items or not isinstance(items[0], float):
        return sum(items)
    try:
        return math.fsum(items)
    except (OverflowError, ValueError):  # inf - inf, or an intermediate overflow
        return sum(items)


def largest(items: list) -> int | float:
    best = items[0]
    for item in items:
        best = maximum(best, item)
    return best


def smallest(items: list) -> int | float:
    best = items[0]
    for item in items:
        best = minimum(best, item)
    return best


REDUCE = {"sum": total, "max": largest, "min": smallest}
