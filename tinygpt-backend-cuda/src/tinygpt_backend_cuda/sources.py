"""The CUDA C source of every kernel, one template per kernel family, rendered per dtype.

The templates live in ``kernels/*.cu`` (``$T``-style placeholders, `string.Template`); each
rendered source is a whole translation unit: ``kernels/prelude.cuh`` + the template. This
module imports neither CuPy nor NumPy, so CI compile-checks every instantiation
(`all_sources`) with NVRTC or nvcc on a machine without a GPU.

>>> "extern \\"C\\" __global__ void binary" in binary_source("add", "float32")
True
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from string import Template

from tinygpt import philox

__all__ = [
    "ATTENTION_GROUP",
    "ATTENTION_HEAD_SIZES",
    "ATTENTION_TILES",
    "CTYPES",
    "FLOATS",
    "attention_tiles",
    "all_sources",
    "arg_reduce_source",
    "binary_source",
    "cast_source",
    "fused_source",
    "gelu_source",
    "adamw_source",
    "index_source",
    "matmul_tiled_source",
    "random_source",
    "reduce_source",
    "scalar_source",
    "setitem_source",
    "sort_source",
    "unary_source",
    "where_source",
    "unary_ops",
    "binary_ops",
]

KERNELS = Path(__file__).parent / "kernels"

#: tinygpt dtype name -> the C type a buffer element has in a kernel.
CTYPES = {
    "float16": "f16",
    "float32": "float",
    "float64": "double",
    "int32": "int",
    "int64": "i64",
    "bool": "bool",
}
FLOATS = ("float16", "float32", "float64")
INTS = ("int32", "int64")


def compute_type(dtype: str) -> str:
    """The C type arithmetic on `dtype` happens in: float for float16, the type itself else."""
    return "float" if dtype == "float16" else CTYPES[dtype]


# ------------------------------------------------------------------ elementwise expressions
# `x` is the operand of a unary op, `a` and `b` those of a binary one, all of type $A.
_FLOAT_UNARY = {
    "neg": "-x",
    "exp": "exp(x)",
    "log": "log(x)",
    "sqrt": "sqrt(x)",
    "abs": "fabs(x)",
    "sign": "(x != x ? x : ($A)((x > 0) - (x < 0)))",  # sign(NaN) is NaN
    "sin": "sin(x)",
    "cos": "cos(x)",
    "tanh": "tanh(x)",
    "sigmoid": "($A)1 / (($A)1 + exp(-x))",
    "erf": "erf(x)",
}
_INT_UNARY = {"neg": "-x", "abs": "(x < 0 ? -x : x)", "sign": "($A)((x > 0) - (x < 0))"}
_BOOL_UNARY = {"logical_not": "!x"}

_COMPARISONS = {"eq": "a == b", "ne": "a != b", "lt": "a < b", "le": "a <= b", "gt": "a > b"}
_COMPARISONS["ge"] = "a >= b"
_ARITHMETIC = {
    "add": "a + b",
    "sub": "a - b",
    "mul": "a * b",
    "maximum": "MaxOp()(a, b)",  # NaN-propagating, as numpy.maximum
    "minimum": "MinOp()(a, b)",
}
_FLOAT_BINARY = {**_ARITHMETIC, "div": "a / b", "pow": "pow(a, b)"}
_INT_BINARY = {**_ARITHMETIC, "pow": "ipow(a, b)"}
_BOOL_BINARY = {
    "logical_and": "a && b",
    "logical_or": "a || b",
    "add": "a || b",  # NumPy's bool add and mul
    "mul": "a && b",
    "maximum": "a || b",
    "minimum": "a && b",
}


def unary_ops(dtype: str) -> dict[str, str]:
    """The unary ops defined on `dtype`, each with its C expression."""
    if dtype in FLOATS:
        return _FLOAT_UNARY
    return _INT_UNARY if dtype in INTS else _BOOL_UNARY


def binary_ops(dtype: str) -> dict[str, str]:
    """The binary ops and comparisons defined on `dtype`, each with its C expression."""
    if dtype in FLOATS:
        table = _FLOAT_BINARY
    else:
        table = _INT_BINARY if dtype in INTS else _BOOL_BINARY
    return {**table, **_COMPARISONS}


def _result(op: str, dtype: str) -> str:
    return "bool" if op in _COMPARISONS else CTYPES[dtype]


# ---------------------------------------------------------------------------- rendering
@functools.cache
def _template(name: str) -> Template:
    return Template((KERNELS / name).read_text())


@functools.cache
def _prelude() -> str:
    return (KERNELS / "prelude.cuh").read_text()


def render(name: str, **subs: str) -> str:
    """prelude + kernels/`name` with its placeholders filled; the expression may use $A."""
    body = _template(name).substitute(subs)
    body = Template(body).safe_substitute(subs)  # once more: expressions mention $A
    return f"// {name} {subs}\n{_prelude()}\n{body}"


def _types(dtype: str) -> dict[str, str]:
    return {"T": CTYPES[dtype], "A": compute_type(dtype)}


@functools.cache
def unary_source(op: str, dtype: str) -> str:
    expr = unary_ops(dtype)[op]
    return render("unary.cu", **_types(dtype), R=CTYPES[dtype], EXPR=expr)


@functools.cache
def cast_source(src: str, dst: str) -> str:
    """Copy (src == dst) or convert; float16 on either side converts through float."""
    middle = "float" if "float16" in (src, dst) else CTYPES[dst]
    return render("unary.cu", T=CTYPES[src], A=middle, R=CTYPES[dst], EXPR="x")


@functools.cache
def binary_source(op: str, dtype: str) -> str:
    expr = binary_ops(dtype)[op]
    return render("binary.cu", **_types(dtype), R=_result(op, dtype), EXPR=expr)


@functools.cache
def scalar_source(op: str, dtype: str, reflected: bool) -> str:
    lhs, rhs = ("s", "x") if reflected else ("x", "s")
    expr = binary_ops(dtype)[op]
    types = _types(dtype)
    return render("scalar.cu", **types, R=_result(op, dtype), EXPR=expr, LHS=lhs, RHS=rhs)


@functools.cache
def where_source(dtype: str) -> str:
    return render("where.cu", **_types(dtype))


@functools.cache
def setitem_source(dtype: str) -> str:
    return render("setitem.cu", **_types(dtype))


_REDUCE_OPS = {"sum": "SumOp", "max": "MaxOp", "min": "MinOp"}
_LOWEST = {
    "float": "-__int_as_float(0x7f800000)",
    "double": "-__longlong_as_double(0x7ff0000000000000LL)",
}
_LOWEST.update({"int": "(-2147483647 - 1)", "i64": "(-9223372036854775807LL - 1)"})
_HIGHEST = {
    "float": "__int_as_float(0x7f800000)",
    "double": "__longlong_as_double(0x7ff0000000000000LL)",
}
_HIGHEST.update({"int": "2147483647", "i64": "9223372036854775807LL"})


def _reduce_types(dtype: str) -> dict[str, str]:
    # bool reduces as int: warp shuffles move 32-bit words
    return {"T": CTYPES[dtype], "A": "int" if dtype == "bool" else compute_type(dtype)}


@functools.cache
def reduce_source(op: str, dtype: str) -> str:
    """sum accumulates in $A (float for float16); max starts from -inf, min from +inf."""
    types = _reduce_types(dtype)
    acc = types["A"]
    init = {"sum": "0", "max": _LOWEST.get(acc, "0"), "min": _HIGHEST.get(acc, "1")}[op]
    return render("reduce.cu", **types, OP=_REDUCE_OPS[op], INIT=init, BETTER="v > best")


@functools.cache
def arg_reduce_source(op: str, dtype: str) -> str:
    better = "v > best" if op == "argmax" else "v < best"
    return render("reduce.cu", **_reduce_types(dtype), OP="SumOp", INIT="0", BETTER=better)


@functools.cache
def index_source(dtype: str) -> str:
    """gather and scatter_add for every dtype (bool's scatter_add is a logical or)."""
    return render("index.cu", **_types(dtype))


@functools.cache
def sort_source(dtype: str) -> str:
    """argsort: the stable sorting permutation along one axis (kernels/sort.cu)."""
    return render("sort.cu", **_types(dtype))


@functools.cache
def check_source() -> str:
    """check_index: the device-side bounds check of an int64 index (see errors.py)."""
    return render("check.cu")


def _literals(values: tuple[float, ...]) -> str:
    """C double literals that parse back to exactly these doubles (repr round-trips)."""
    return ", ".join(repr(v) for v in values)


@functools.cache
def random_source(dtype: str) -> str:
    """random and random_bits: core's Philox spec, its constants rendered from core."""
    if dtype in FLOATS:
        store = "w" if dtype == "float64" else "(float)w"  # float16: via float32, as the spec
    elif dtype == "bool":
        store = "w != 0.0"
    else:
        store = "dist == 0 ? floor(w) : w"  # uniform floors; the others truncate
    constants = {
        "LOG_C": _literals(philox.LOG_COEFFS),
        "SIN_C": _literals(philox.SIN_COEFFS),
        "COS_C": _literals(philox.COS_COEFFS),
        "LN2": repr(philox.LN2),
        "SQRT_HALF": repr(philox.SQRT_HALF),
        "HALF_PI": repr(philox.HALF_PI),
    }
    clamp = "1" if dtype in FLOATS else "0"
    return render("random.cu", T=CTYPES[dtype], STORE=store, CLAMP=clamp, **constants)


@functools.cache
def matmul_tiled_source(dtype: str) -> str:
    return render("matmul_tiled.cu", **_types(dtype))


#: The fused kernels, one source file each, instantiated for the floating dtypes.
FUSED_FILES = ("softmax.cu", "layer_norm.cu", "cross_entropy.cu", "attention.cu")
FUSED_FILES += ("attention_tiled.cu",)

#: attention_tiled.cu's tiles by compute type: (rows a block owns, rows per streamed shared
#: tile). A double tile holds half the rows, so that the two streamed tiles stay at 32 KiB for
#: D = 128 (2 x 32 x 128 x 4 bytes in float, 2 x 16 x 128 x 8 in double), under the 48 KiB a
#: block gets without opting in. A block must hold its own rows for staging: rows <= 2 x tile.
ATTENTION_TILES = {"float": (64, 32), "double": (32, 16)}
#: threads per row in attention_tiled.cu: each holds every 4th head dimension of its row
ATTENTION_GROUP = 4
#: the head sizes attention_tiled.cu is compiled for (each thread holds size / GROUP values of
#: a row in registers); a call takes the smallest that covers its D, none past the last
ATTENTION_HEAD_SIZES = (64, 128)


def attention_tiles(dtype: str, head_size: int) -> dict[str, str]:
    """attention_tiled.cu's placeholders for `dtype` compiled up to `head_size`."""
    rows, tile = ATTENTION_TILES[compute_type(dtype)]
    group = str(ATTENTION_GROUP)
    return {"ROWS": str(rows), "TILE": str(tile), "GROUP": group, "HEAD": str(head_size)}


@functools.cache
def fused_source(
    name: str, dtype: str, log: bool = False, head_size: int = ATTENTION_HEAD_SIZES[-1]
) -> str:
    """One fused file for `dtype`; attention_tiled.cu also gets its tiles for `head_size`
    (the other files have no such placeholders, and ignore them)."""
    tiles = attention_tiles(dtype, head_size)
    return render(name, **_types(dtype), LOG="1" if log else "0", **tiles)


#: gelu's `approximate` -> gelu.cu's TANH flag: GPT-2's tanh form, or the exact erf one
GELU_APPROXIMATIONS = {"none": "0", "tanh": "1"}


@functools.cache
def gelu_source(dtype: str, approximate: str) -> str:
    """gelu and gelu_backward, one instantiation per dtype and `approximate`."""
    return render("gelu.cu", **_types(dtype), TANH=GELU_APPROXIMATIONS[approximate])


@functools.cache
def adamw_source(dtype: str) -> str:
    return render("adamw.cu", **_types(dtype))


# ------------------------------------------------------------------------ every instance
def all_sources() -> Iterator[tuple[str, str]]:
    """(label, source) for every kernel instantiation the backend can ask for."""
    dtypes = list(CTYPES)
    yield "check", check_source()
    for dtype in dtypes:
        for op in unary_ops(dtype):
            yield f"unary/{op}/{dtype}", unary_source(op, dtype)
        for op in binary_ops(dtype):
            yield f"binary/{op}/{dtype}", binary_source(op, dtype)
            for reflected in (False, True):
                yield f"scalar/{op}/{dtype}/{reflected}", scalar_source(op, dtype, reflected)
        for dst in dtypes:
            yield f"cast/{dtype}->{dst}", cast_source(dtype, dst)
        yield f"where/{dtype}", where_source(dtype)
        yield f"setitem/{dtype}", setitem_source(dtype)
        for op in ("sum", "max", "min"):
            yield f"reduce/{op}/{dtype}", reduce_source(op, dtype)
        for op in ("argmax", "argmin"):
            yield f"arg_reduce/{op}/{dtype}", arg_reduce_source(op, dtype)
        yield f"random/{dtype}", random_source(dtype)
        yield f"index/{dtype}", index_source(dtype)
        yield f"sort/{dtype}", sort_source(dtype)
        if dtype != "bool":
            yield f"matmul_tiled/{dtype}", matmul_tiled_source(dtype)
    for dtype in FLOATS:
        for name in FUSED_FILES:
            yield f"{name}/{dtype}", fused_source(name, dtype)
        yield f"softmax.cu/{dtype}/log", fused_source("softmax.cu", dtype, log=True)
        for size in ATTENTION_HEAD_SIZES[:-1]:  # the last is fused_source's default, above
            label = f"attention_tiled.cu/{dtype}/d{size}"
            yield label, fused_source("attention_tiled.cu", dtype, head_size=size)
        for approximate in GELU_APPROXIMATIONS:
            yield f"gelu.cu/{dtype}/{approximate}", gelu_source(dtype, approximate)
        yield f"adamw.cu/{dtype}", adamw_source(dtype)
