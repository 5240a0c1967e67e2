"""dtypes: the element types a tensor can hold, and how they combine.

Promotion follows PyTorch, which agrees with NumPy 2 except where NumPy would silently widen
to float64 (int32 + float32 -> float32 here, float64 in NumPy):

- same kind: the wider type wins (float32 + float64 -> float64, int32 + int64 -> int64);
- bool < integer < floating: the higher kind wins (int64 + float32 -> float32);
- a Python scalar never widens a tensor of its own kind (float32 * 2.5 -> float32), and lifts
  a tensor of a lower kind to the default type of its own kind (int64 * 0.5 -> float32);
- two types of one size that cannot hold each other meet in a wider one, as in PyTorch:
  float16 + bfloat16 -> float32; uint8 + int8 -> int32 (PyTorch: int16, which tinygpt lacks).

bfloat16 (8 exponent bits like float32, 8 significand bits) and int8/uint8 are storage types:
backends may compute in float32 / int32 and round back (the cpu backend does).

>>> promote_types(int64, float32)
tinygpt.float32
"""

from __future__ import annotations

import math
import struct
import sys
from dataclasses import dataclass

from .errors import DTypeError
from .philox import round_to

__all__ = [
    "DType",
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "uint8",
    "int8",
    "int32",
    "int64",
    "bool_",
    "ALIASES",
    "DTYPES",
    "as_dtype",
    "promote_types",
    "scalar_dtype",
    "result_type",
    "get_default_dtype",
    "statistics_dtype",
    "exact_in",
    "check_fits",
]


@dataclass(frozen=True, repr=False, eq=False)
class DType:
    """One element type: its name, size in bytes, kind ('b', 'i', 'f') and NumPy spelling.

    There is exactly one instance per dtype, so dtypes compare by identity (fast).
    """

    name: str
    itemsize: int
    kind: str  # 'b' bool, 'i' integer (uint8 too: see `is_signed`), 'f' floating point
    numpy_name: str
    safetensors_name: str

    @property
    def is_floating_point(self) -> bool:
        return self.kind == "f"

    @property
    def is_signed(self) -> bool:
        """False for bool and uint8, as `torch.dtype.is_signed`."""
        return self.kind != "b" and self.name != "uint8"

    def __repr__(self) -> str:
        return f"tinygpt.{self.name}"

    def __str__(self) -> str:
        return self.name

    def __reduce__(self) -> tuple[object, tuple[str]]:
        # unpickling gives back the one instance, so `is` and == keep working
        return as_dtype, (self.name,)


float16 = DType("float16", 2, "f", "float16", "F16")
bfloat16 = DType("bfloat16", 2, "f", "bfloat16", "BF16")  # NumPy needs `ml_dtypes` for it
float32 = DType("float32", 4, "f", "float32", "F32")
float64 = DType("float64", 8, "f", "float64", "F64")
uint8 = DType("uint8", 1, "i", "uint8", "U8")
int8 = DType("int8", 1, "i", "int8", "I8")
int32 = DType("int32", 4, "i", "int32", "I32")
int64 = DType("int64", 8, "i", "int64", "I64")
bool_ = DType("bool", 1, "b", "bool", "BOOL")

DTYPES: dict[str, DType] = {
    d.name: d for d in (float16, bfloat16, float32, float64, uint8, int8, int32, int64, bool_)
}
#: PyTorch's other names for the same dtypes (`tg.long`, `tg.half`, ...)
ALIASES: dict[str, DType] = {
    "float": float32,
    "double": float64,
    "half": float16,
    "long": int64,
    "int": int32,
    "byte": uint8,
    "char": int8,
}
_KIND_RANK = {"b": 0, "i": 1, "f": 2}
_DEFAULT_OF_KIND = {"b": bool_, "i": int64, "f": float32}  # "f": see get_default_dtype

#: the dtype of floating tensors made without one: a one-element list, changed in place by
#: set_default_dtype, so every module that imported it sees the change
_DEFAULT_FLOAT: list[DType] = [float32]


def get_default_dtype() -> DType:
    """The dtype of floating tensors made without an explicit dtype (float32 unless
    `set_default_dtype` changed it): Python floats, creation ops, int -> float maths."""
    return _DEFAULT_FLOAT[0]


def set_default_dtype(dtype: object) -> None:
    """Make `dtype` the default float dtype, as `torch.set_default_dtype`: float32 (the
    default), float64, float16 or bfloat16. It applies to tensors made from Python floats,
    float creation ops without a dtype (zeros, ones, rand, arange with floats, ...), layers'
    new parameters, int tensors in float maths, and `int_tensor * 0.5`.

    >>> set_default_dtype(float64); get_default_dtype()
    tinygpt.float64
    >>> set_default_dtype(float32)
    """
    chosen = as_dtype(dtype)
    if chosen not in (float32, float64, float16, bfloat16):
        raise TypeError(
            f"set_default_dtype: only floating point types can be the default, got {chosen}; "
            "use tg.float32 (the default), tg.float64, tg.float16 or tg.bfloat16"
        )
    _DEFAULT_FLOAT[0] = chosen


def as_dtype(dtype: object) -> DType:
    """Turn a DType, its name ('float32'), a NumPy dtype or a Python type into a DType."""
    if isinstance(dtype, DType):
        return dtype
    if dtype is float:
        return float32
    if dtype is int:
        return int64
    if dtype is bool:
        return bool_
    name = getattr(dtype, "name", dtype)  # numpy dtypes and numpy scalar types
    if isinstance(dtype, type) and hasattr(dtype, "__name__"):
        name = dtype.__name__
    if isinstance(name, str) and name in DTYPES:
        return DTYPES[name]
    if isinstance(name, str) and name in ALIASES:
        return ALIASES[name]
    known = ", ".join(DTYPES)
    raise DTypeError(f"unknown dtype {dtype!r}: expected one of {known}")


def promote_types(a: DType, b: DType) -> DType:
    """The dtype of `x op y` for tensors of dtypes a and b."""
    if a == b:
        return a
    rank_a = _KIND_RANK[a.kind]
    rank_b = _KIND_RANK[b.kind]
    if rank_a != rank_b:
        return a if rank_a > rank_b else b
    if a.itemsize == b.itemsize:  # float16/bfloat16 or uint8/int8: neither holds the other
        return float32 if a.kind == "f" else int32
    return a if a.itemsize > b.itemsize else b  # (a wider signed int holds every uint8)


def scalar_dtype(value: object) -> DType:
    """The dtype a bare Python scalar would get as a tensor."""
    if isinstance(value, bool):
        return bool_
    if isinstance(value, int):
        return int64
    if isinstance(value, float):
        return _DEFAULT_FLOAT[0]
    raise DTypeError(f"expected a Python bool, int or float, got {type(value).__name__}")


def result_type(tensor_dtype: DType, scalar: object) -> DType:
    """The dtype of `tensor op scalar`: a scalar only lifts a tensor of a lower kind."""
    kind = scalar_dtype(scalar).kind
    if _KIND_RANK[kind] > _KIND_RANK[tensor_dtype.kind]:
        return _DEFAULT_FLOAT[0] if kind == "f" else _DEFAULT_OF_KIND[kind]
    return tensor_dtype


def statistics_dtype(dtype: DType) -> DType:
    """The dtype of the statistics a fused kernel saves for its backward (logsumexp, mean,
    rstd): float32 for float16 inputs, whose 11-bit mantissa cannot hold them, else `dtype`.

    >>> statistics_dtype(float16), statistics_dtype(float64)
    (tinygpt.float32, tinygpt.float64)
    """
    return float32 if dtype is float16 or dtype is bfloat16 else dtype


def exact_in(value: bool | int | float, dtype: DType) -> bool:
    """True when the Python scalar `value` converts to `dtype` without rounding or overflow.

    Only float16, bfloat16 and float32 can round a Python float; nan and inf are exact in each.

    >>> exact_in(0.5, float16), exact_in(0.1, float16), exact_in(100000.0, float16)
    (True, False, False)
    >>> exact_in(257.0, bfloat16), exact_in(256.0, bfloat16)
    (False, True)
    """
    if dtype.kind != "f" or dtype is float64:
        return True
    if isinstance(value, float) and not math.isfinite(value):
        return True
    if dtype is bfloat16:
        # subtle: rounding goes through float32, so check that step exactly first
        return exact_in(value, float32) and round_to(float(value), "bfloat16") == value
    code = "e" if dtype is float16 else "f"
    try:
        rounded = struct.unpack(code, struct.pack(code, float(value)))[0]
    except OverflowError:  # beyond the dtype's largest finite value
        return False
    return rounded == value


_INT_RANGE = {
    "uint8": (0, 255),
    "int8": (-128, 127),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
}
#: ints up to this many convert to a Python float (a double); float16/32 round them to inf
_FLOAT_INT_LIMIT = int(sys.float_info.max)


def check_fits(op: str, value: bool | int | float, dtype: DType) -> None:
    """DTypeError unless the Python scalar `value` can be stored in `dtype`: as PyTorch, nan,
    inf and out-of-range values cannot go into an integer dtype (a finite float truncates
    toward zero), nor an int beyond any float's range into a floating one.

    >>> check_fits("full", float("nan"), int64)
    Traceback (most recent call last):
    ...
    tinygpt.errors.DTypeError: full: cannot convert float NaN to integer (dtype int64); ...
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or dtype.kind == "b":
        return  # bool fits anywhere; tensors and other objects are checked by their ops
    if dtype.kind == "f":
        if isinstance(value, int) and abs(value) > _FLOAT_INT_LIMIT:
            raise DTypeError(
                f"{op}: an int of {value.bit_length()} bits is out of range for any float "
                f"({dtype}); the largest is about 1.8e308"
            )
        return
    if isinstance(value, float) and not math.isfinite(value):
        what = "NaN" if math.isnan(value) else "infinity"
        raise DTypeError(
            f"{op}: cannot convert float {what} to integer (dtype {dtype}); use a floating "
            "dtype, or a finite value"
        )
    low, high = _INT_RANGE[dtype.name]
    if not low <= value <= high:
        raise DTypeError(
            f"{op}: value {value} is out of range for {dtype} [{low}, {high}]; use a wider or "
            "a floating dtype"
        )
