"""Elementwise ops: the binary primitives (A, A -> A and A, scalar -> A) next to the
functions built on them; the unary primitives (A -> A) are in `elementwise_unary.py`.

Binary primitives take two arrays of one shape and dtype: `binary` below promotes dtypes
(`promotion.py`) and broadcasts with `Expand` (`movement.py`), the one op that broadcasts, so
its backward is the one place that un-broadcasts. Activations (relu, gelu, tanh, sigmoid,
softmax) live in `activation.py`.

>>> import tinygpt as tg
>>> (tg.tensor([1.0, 2.0]) * tg.tensor([[3.0], [4.0]])).tolist()
[[3.0, 6.0], [4.0, 8.0]]
"""

from __future__ import annotations

import math

from .. import array_ops as A
from .. import fast_paths
from ..autograd.function import Function
from ..creation import full
from ..dtypes import (
    bool_,
    check_fits,
    exact_in,
    float16,
    float32,
    get_default_dtype,
    int64,
    result_type,
)
from ..errors import DTypeError
from ..ndarray import NDArray, broadcast_shapes
from ..tensor import Tensor
from .elementwise_unary import Abs, Cos, Erf, Exp, Log, Neg, Sin, Sqrt
from .movement import Expand
from .promotion import as_tensor_like, cast, detached, promote, to_float

__all__ = [
    "Neg",
    "Exp",
    "Log",
    "Sqrt",
    "Abs",
    "Sin",
    "Cos",
    "Erf",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Pow",
    "Maximum",
    "Minimum",
    "ScalarOp",
    "binary",
    "neg",
    "exp",
    "log",
    "sqrt",
    "rsqrt",
    "abs",
    "sign",
    "sin",
    "cos",
    "erf",
    "maximum",
    "minimum",
]

Scalar = bool | int | float


# ------------------------------------------------------------ A, A -> A
class Add(Function):
    def forward(self, a: NDArray, b: NDArray) -> NDArray:
        return A.binary("add", a, b)

    def backward(self, grad: NDArray) -> tuple[NDArray, NDArray]:
        return grad, grad


class Sub(Function):
    def forward(self, a: NDArray, b: NDArray) -> NDArray:
        return A.binary("sub", a, b)

    def backward(self, grad: NDArray) -> tuple[NDArray, NDArray | None]:
        return grad, A.unary("neg", grad) if self.needs_grad[1] else None


class Mul(Function):
    def forward(self, a: NDArray, b: NDArray) -> NDArray:
        self.save_for_backward(a, b)
        return A.binary("mul", a, b)

    def backward(self, grad: NDArray) -> tuple[NDArray | None, NDArray | None]:
        a, b = self.saved
        da = A.binary("mul", grad, b) if self.needs_grad[0] else None
        db = A.binary("mul", grad, a) if self.needs_grad[1] else None
        return da, db


class Div(Function):
    def forward(self, a: NDArray, b: NDArray) -> NDArray:
        self.save_for_backward(a, b)
        return A.binary("div", a, b)

    def backward(self, grad: NDArray) -> tuple[NDArray | None, NDArray | None]:
        a, b = self.saved
        da = A.binary("div", grad, b) if self.needs_grad[0] else None
        db = None
        if self.needs_grad[1]:
            # d(a/b)/db = -a / b^2
            db = A.unary("neg", A.binary("div", A.binary("mul", grad, a), A.binary("mul", b, b)))
        return da, db


class Pow(Function):
    def forward(self, a: NDArray, b: NDArray) -> NDArray:
        out = A.binary("pow", a, b)
        self.save_for_backward(a, b, out)
        return out

    def backward(self, grad: NDArray) -> tuple[NDArray | None, NDArray | None]:
        a, b, out = self.saved
        da = db = None
        if self.needs_grad[0]:
            # d a^b / da = b a^(b-1)
            slope = A.binary("mul", b, A.binary("pow", a, A.scalar("sub", b, 1.0)))
            da = A.binary("mul", grad, slope)
        if self.needs_grad[1]:
            # d a^b / db = a^b log(a)
            db = A.binary("mul", grad, A.binary("mul", out, A.unary("log", a)))
        return da, db


class _Extremum(Function):
    """maximum/minimum: the gradient goes to the winner; a tie splits it in half."""

    op = ""

    def forward(self, a: NDArray, b: NDArray) -> NDArray:
        self.save_for_backward(a, b)
        return A.binary(self.op, a, b)

    def backward(self, grad: NDArray) -> tuple[NDArray, NDArray]:
        a, b = self.saved
        wins = "gt" if self.op == "maximum" else "lt"
        share_a = A.cast(A.binary(wins, a, b), grad.dtype)
        tie = A.scalar("mul", A.cast(A.binary("eq", a, b), grad.dtype), 0.5)
        share_a = A.binary("add", share_a, tie)
        share_b = A.scalar("sub", share_a, 1.0, reflected=True)
        return A.binary("mul", grad, share_a), A.binary("mul", grad, share_b)


class Maximum(_Extremum):
    op = "maximum"


class Minimum(_Extremum):
    op = "minimum"


# --------------------------------------------------------- A, scalar -> A
class ScalarOp(Function):
    """`x op c` (or `c op x` when reflected) for a Python scalar c."""

    def forward(self, x: NDArray, op: str = "", value: float = 0.0, reflected: bool = False):
        self.op = op
        self.value = value
        self.reflected = reflected
        out = A.scalar(op, x, value, reflected)
        # keep only what backward reads (a kept array pins its memory's version)
        if op in ("maximum", "minimum") or (op == "pow" and not reflected):
            self.save_for_backward(x)
        elif op == "pow" or (op == "div" and reflected):
            self.save_for_backward(out)
        return out

    @property
    def graph_reads(self) -> tuple[int, ...] | None:  # type: ignore[override]
        """x + c, x - c, x * c and x / c differentiate without x (see `Function`)."""
        if self.op in ("add", "sub", "mul") or (self.op == "div" and not self.reflected):
            return ()
        return None

    def backward(self, grad: NDArray) -> NDArray:
        op = self.op
        c = self.value
        if op == "add":
            return grad
        if op == "sub":
            return A.unary("neg", grad) if self.reflected else grad
        if op == "mul":
            return A.scalar("mul", grad, c)
        if op == "div" and not self.reflected:
            return A.scalar("div", grad, c)
        if op == "div":
            # d (c / x) = -c / x^2 = -out^2 / c
            (out,) = self.saved
            return A.unary(
                "neg", A.binary("mul", grad, A.scalar("div", A.binary("mul", out, out), c))
            )
        if op == "pow" and not self.reflected:
            # d x^c = c x^(c-1)
            (x,) = self.saved
            return A.binary("mul", grad, A.scalar("mul", A.scalar("pow", x, c - 1), c))
        if op == "pow":
            # d c^x = c^x log c
            (out,) = self.saved
            return A.scalar("mul", A.binary("mul", grad, out), math.log(c))
        # maximum / minimum with a constant: the gradient flows where x won (half on ties)
        (x,) = self.saved
        wins = A.cast(A.scalar("gt" if op == "maximum" else "lt", x, c), grad.dtype)
        ties = A.scalar("mul", A.cast(A.scalar("eq", x, c), grad.dtype), 0.5)
        return A.binary("mul", grad, A.binary("add", wins, ties))


# ------------------------------------------------------------------ functions
_PRIMITIVE = {
    "add": Add,
    "sub": Sub,
    "mul": Mul,
    "div": Div,
    "pow": Pow,
    "maximum": Maximum,
    "minimum": Minimum,
}

#: bool arithmetic as in PyTorch: + is or, * is and (the kernels' add/mul need numbers)
_BOOL_OPS = {
    "add": "logical_or",
    "mul": "logical_and",
    "maximum": "logical_or",
    "minimum": "logical_and",
}


def binary(op: str, a: Tensor, b: object, reflected: bool = False) -> Tensor:
    """`a op b` for a tensor and a tensor, a Python scalar, a list or an array."""
    if not reflected and fast_paths.enabled:
        # the common case first, checked cheaply (per-op overhead): two floating tensors of
        # one dtype, device and shape, or a floating tensor and a float, have nothing to
        # promote, convert or broadcast; everything else takes the general path below
        if isinstance(b, Tensor):
            x = a._data
            y = b._data
            if x.dtype is y.dtype and x.shape == y.shape and x.backend is y.backend:
                if x.dtype.kind == "f":
                    return _PRIMITIVE[op].apply(a, b)
        elif type(b) is float or (type(b) is int and -_SMALL_INT < b < _SMALL_INT):
            dtype = a._data.dtype
            if dtype.kind == "f" and dtype is not float16:
                return ScalarOp.apply(a, op=op, value=b, reflected=False)
    if isinstance(b, (bool, int, float)):
        return _scalar_binary(op, a, b, reflected)
    other = as_tensor_like(b, a)
    if reflected:
        a, other = other, a
    a, other = promote(op, a, other)
    if a.dtype.kind == "b":
        return _bool_binary(op, a, other)
    if a.shape != other.shape:
        shape = broadcast_shapes(op, a.shape, other.shape)
        if a.shape != shape:
            a = Expand.apply(a, shape=shape)
        if other.shape != shape:
            other = Expand.apply(other, shape=shape)
    if op == "pow" and a.dtype.kind == "i":
        return _int_pow(a, other)
    return _PRIMITIVE[op].apply(a, other)


#: ints this small convert to any float dtype (`check_fits` has nothing to refuse)
_SMALL_INT = 1 << 62

#: ops whose float16 result PyTorch computes in float32 with the scalar unrounded
_WIDE_SCALAR_OPS = frozenset({"add", "sub", "mul", "div"})


def _scalar_binary(op: str, a: Tensor, value: Scalar, reflected: bool) -> Tensor:
    """`a op value` (or `value op a`) for a Python scalar `value`."""
    dtype = result_type(a.dtype, value)
    if op == "div" and not dtype.is_floating_point:
        dtype = get_default_dtype()
    if dtype.kind == "b":
        return _bool_binary(op, a, as_tensor_like(value, a))
    check_fits(op, value, dtype)
    if op == "pow" and dtype.kind == "i":
        if reflected:  # value ** a: a tensor exponent, maybe negative
            base = full((), value, dtype=dtype, device=a.device)
            return binary("pow", base, cast(a, dtype))
        if value < 0:
            raise DTypeError(
                f"pow: integers to negative integer powers are not allowed ({dtype} ** "
                f"{value}); use a floating tensor: x.float() ** {value}"
            )
    if dtype is float16 and op in _WIDE_SCALAR_OPS and not exact_in(value, float16):
        # NOTE: the backend would round the scalar to float16 first (h / 100000.0 would
        # divide by inf); like PyTorch, compute in float32 and round the result once
        wide = ScalarOp.apply(cast(a, float32), op=op, value=value, reflected=reflected)
        return cast(wide, float16)
    return ScalarOp.apply(cast(a, dtype), op=op, value=value, reflected=reflected)


def _int_pow(a: Tensor, b: Tensor) -> Tensor:
    """Integer a ** b with PyTorch's answer for b < 0: 1 ** b = 1, (-1) ** b = +-1, else 0.

    Backends are only asked for non-negative exponents (no host read decides which).
    """
    negative = A.scalar("lt", b._data, 0)
    raw = A.binary("pow", a._data, A.unary("abs", b._data))  # a ** |b|: right for +-1
    unit = A.scalar("eq", A.unary("abs", a._data), 1)  # a is 1 or -1
    zero = A.binary("logical_and", negative, A.unary("logical_not", unit))
    return detached(A.where(zero, A.zeros(raw, ()), raw))


def _bool_binary(op: str, a: Tensor, b: Tensor) -> Tensor:
    if op in _BOOL_OPS:
        return detached(A.binary(_BOOL_OPS[op], a._data, b._data))
    if op == "sub":
        raise DTypeError("sub: subtracting bool tensors is not supported; use ^ or logical_not")
    return binary(op, cast(a, int64), cast(b, int64))  # pow: as integers


def neg(x: Tensor) -> Tensor:
    if x.dtype == bool_:
        raise DTypeError(
            "neg: negating a bool tensor is not supported; use ~x or x.logical_not() to "
            "invert a mask"
        )
    return Neg.apply(x)


# NOTE: the float maths below test the common floating input inline (`to_float` would be
# one more call per op for a tensor it returns as it is)
def exp(x: Tensor) -> Tensor:
    return Exp.apply(x if x._data.dtype.kind == "f" else to_float(x))


def log(x: Tensor) -> Tensor:
    return Log.apply(x if x._data.dtype.kind == "f" else to_float(x))


def sqrt(x: Tensor) -> Tensor:
    return Sqrt.apply(x if x._data.dtype.kind == "f" else to_float(x))


def rsqrt(x: Tensor) -> Tensor:
    return binary("div", sqrt(x), 1.0, reflected=True)


def abs(x: Tensor) -> Tensor:  # noqa: A001 - the PyTorch name
    if x.dtype == bool_:
        raise DTypeError("abs: not defined for bool tensors (as in PyTorch); use x.long()")
    return Abs.apply(x)


def sign(x: Tensor) -> Tensor:
    if x.dtype == bool_:
        return detached(A.copy(x._data))  # as PyTorch: sign(True) is True
    out = A.unary("sign", x._data)
    if x.dtype.kind == "f":
        # as PyTorch: sign(nan) is 0 (nan is the one value that is not equal to itself)
        out = A.where(A.binary("ne", x._data, x._data), A.zeros(out, ()), out)
    return detached(out)


def sin(x: Tensor) -> Tensor:
    return Sin.apply(x if x._data.dtype.kind == "f" else to_float(x))


def cos(x: Tensor) -> Tensor:
    return Cos.apply(x if x._data.dtype.kind == "f" else to_float(x))


def erf(x: Tensor) -> Tensor:
    return Erf.apply(x if x._data.dtype.kind == "f" else to_float(x))


def maximum(a: Tensor | Scalar, b: object) -> Tensor:
    """Elementwise max; either side may be a Python number (it is commutative)."""
    return binary("maximum", *_tensor_first("maximum", a, b))


def minimum(a: Tensor | Scalar, b: object) -> Tensor:
    """Elementwise min; either side may be a Python number (it is commutative)."""
    return binary("minimum", *_tensor_first("minimum", a, b))


def _tensor_first(op: str, a: object, b: object) -> tuple[Tensor, object]:
    if isinstance(a, Tensor):
        return a, b
    if isinstance(b, Tensor):
        return b, a
    raise DTypeError(
        f"{op}: needs at least one tensor, got {type(a).__name__} and {type(b).__name__}"
    )
