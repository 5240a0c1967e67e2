"""`NumpyBackend`: the reference implementation of `tinygpt.backend.protocol.Backend`.

Buffers are 1-D, C-contiguous NumPy arrays. A kernel turns each input view into a NumPy view
of its buffer (`views.as_numpy`, no copy), calls NumPy, and flattens the fresh result with
``.reshape(-1)``, which also turns NumPy's 0-d scalars back into 1-element arrays.

Every method is a few lines on purpose: this file is what a backend author reads next to the
protocol. NOTE: NumPy's floating-point warnings (``log(0)``, overflow in ``exp``) pass through
as they are; silencing them per call would double the cost of a tiny op.

>>> from tinygpt.device import Device
>>> from tinygpt.dtypes import float32
>>> from tinygpt.ndarray import NDArray
>>> backend = NumpyBackend(Device("numpy"))
>>> x = NDArray(backend, backend.full(3, float32, 2.0), (3,), float32)
>>> backend.binary("mul", x, x).tolist()
[4.0, 4.0, 4.0]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tinygpt.backend.protocol import Backend
from tinygpt.device import Device
from tinygpt.dtypes import DTYPES, DType, float32, float64
from tinygpt.errors import BackendError, OutOfMemoryError, ShapeError
from tinygpt.ndarray import MAX_BYTES, format_bytes

from . import fused, philox, special
from .views import NARROW_FLOATS, NUMPY_NAMES, as_numpy, numpy_dtype

if TYPE_CHECKING:
    from tinygpt.ndarray import NDArray

__all__ = ["NumpyBackend"]

_UNARY = {
    "neg": np.negative,
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "abs": np.absolute,
    "sign": np.sign,
    "sin": np.sin,
    "cos": np.cos,
    "tanh": np.tanh,
    "sigmoid": special.sigmoid,
    "erf": special.erf,
    "logical_not": np.logical_not,
}
_BINARY = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "div": np.true_divide,
    "pow": np.power,
    "maximum": np.maximum,  # NaN-propagating, as torch.maximum
    "minimum": np.minimum,
    "logical_and": np.logical_and,
    "logical_or": np.logical_or,
    "eq": np.equal,
    "ne": np.not_equal,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
}
#: the protocol's dtype rules (UNARY_OPS, BINARY_OPS): NumPy would compute most of these
#: anyway, in another dtype (exp of int64 gives float64), or raise its own exceptions
_FLOAT_ONLY = frozenset({"exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "erf", "div"})
_BOOL_ONLY = frozenset({"logical_not", "logical_and", "logical_or"})
_NOT_FOR_BOOL = frozenset({"neg", "abs", "sign", "add", "sub", "mul", "pow"})
_REDUCE = {"sum": np.add.reduce, "max": np.maximum.reduce, "min": np.minimum.reduce}
_ARG_REDUCE = {"argmax": np.argmax, "argmin": np.argmin}


class NumpyBackend(Backend):
    """Kernels written with NumPy: correct everywhere, the oracle for the other backends."""

    name = "numpy"
    dtypes = frozenset(DTYPES[name] for name in NUMPY_NAMES)  # bfloat16 needs ml_dtypes
    fused_ops = frozenset({"softmax", "cross_entropy", "layer_norm", "attention", "gelu", "adamw"})

    def __init__(self, device: Device | None = None) -> None:
        self.device = device if device is not None else Device("numpy")

    # ------------------------------------------------------------------ buffers
    def empty(self, size: int, dtype: DType) -> np.ndarray:
        _check_size("empty", size, dtype)
        try:
            return np.empty(size, numpy_dtype(dtype))
        except MemoryError as error:
            raise _out_of_memory("empty", size, dtype, error) from error

    def full(self, size: int, dtype: DType, value: bool | int | float) -> np.ndarray:
        _check_size("full", size, dtype)
        try:
            return np.full(size, value, numpy_dtype(dtype))
        except MemoryError as error:
            raise _out_of_memory("full", size, dtype, error) from error

    def from_host(self, data: memoryview, dtype: DType) -> np.ndarray:
        # frombuffer shares the caller's memory; the copy gives the backend its own.
        return np.frombuffer(data, numpy_dtype(dtype)).copy()

    def to_host(self, x: NDArray) -> np.ndarray:
        flat = as_numpy(x).flatten()  # flatten always copies, in row-major order
        # subtle: ml_dtypes' bfloat16 arrays refuse the buffer protocol; its bits do not
        return flat.view(np.uint16) if x.dtype.name == "bfloat16" else flat

    # ----------------------------------------------------------- strided memory
    def export_buffer(self, buffer: np.ndarray) -> np.ndarray:
        # its bytes, aliased (a bfloat16 array has no buffer protocol of its own)
        return buffer.view(np.uint8)

    def copy(self, x: NDArray) -> np.ndarray:
        return as_numpy(x).flatten()

    def setitem(self, dst: NDArray, src: NDArray) -> None:
        # NumPy detects overlapping src/dst and reads src into a temporary first.
        np.copyto(as_numpy(dst), as_numpy(src))

    def fill(self, dst: NDArray, value: bool | int | float) -> None:
        as_numpy(dst)[...] = value

    def cast(self, x: NDArray, dtype: DType) -> np.ndarray:
        # astype is C's conversion: float -> int truncates toward zero, nonzero -> True.
        return as_numpy(x).astype(numpy_dtype(dtype), order="C").reshape(-1)

    # ---------------------------------------------------------------- elementwise
    # NOTE: run once per op, so cheap on the valid path: `_check_op` remembers the (op, dtype)
    # pairs that passed, and NumPy's errors are caught without a context manager
    def unary(self, op: str, x: NDArray) -> np.ndarray:
        if (op, x.dtype) not in _UNARY_OK:
            _check_op(op, _UNARY, x.dtype)
        return _UNARY[op](as_numpy(x)).reshape(-1)

    def binary(self, op: str, a: NDArray, b: NDArray) -> np.ndarray:
        if (op, a.dtype) not in _BINARY_OK:
            _check_op(op, _BINARY, a.dtype)
        try:
            return _BINARY[op](as_numpy(a), as_numpy(b)).reshape(-1)
        except _NUMPY_ERRORS as error:
            raise _numpy_error(op, a.dtype, error) from error

    def binary_scalar(
        self, op: str, a: NDArray, value: bool | int | float, reflected: bool
    ) -> np.ndarray:
        if (op, a.dtype) not in _BINARY_OK:
            _check_op(op, _BINARY, a.dtype)
        view = as_numpy(a)
        # A NumPy scalar of a's own dtype: a Python float would not upcast float32 either
        # (NEP 50), but an int into a float16 tensor or a float into an int one must convert.
        # For float32/float64 and a float (or an int that converts exactly) the Python
        # scalar itself is the same value and skips making a NumPy scalar per op.
        try:
            if (a.dtype is float32 or a.dtype is float64) and (
                type(value) is float or (type(value) is int and -_EXACT_INT <= value <= _EXACT_INT)
            ):
                scalar = value
            else:
                scalar = view.dtype.type(value)
            if reflected:
                return _BINARY[op](scalar, view).reshape(-1)
            return _BINARY[op](view, scalar).reshape(-1)
        except _NUMPY_ERRORS as error:
            raise _numpy_error(op, a.dtype, error) from error

    def where(self, cond: NDArray, a: NDArray, b: NDArray) -> np.ndarray:
        return np.where(as_numpy(cond), as_numpy(a), as_numpy(b)).reshape(-1)

    # ----------------------------------------------------------------- reductions
    def reduce(self, op: str, x: NDArray, axes: tuple[int, ...]) -> np.ndarray:
        if op != "sum":
            _check_nonempty(op, x, axes)
        view = as_numpy(x)
        if op == "sum" and view.dtype in NARROW_FLOATS:
            # float16 accumulates badly (2048 + 1 == 2048); sum in float32, round once.
            total = np.add.reduce(view, axis=axes, dtype=np.float32)
            return np.asarray(total).astype(view.dtype).reshape(-1)
        # dtype= keeps int32 sums in int32 (NumPy would widen them to int64)
        return _REDUCE[op](view, axis=axes, dtype=view.dtype).reshape(-1)

    def arg_reduce(self, op: str, x: NDArray, axis: int) -> np.ndarray:
        _check_nonempty(op, x, (axis,))
        index = _ARG_REDUCE[op](as_numpy(x), axis=axis)  # ties: the first index
        return np.asarray(index, dtype=np.int64).reshape(-1)

    # --------------------------------------------------------------------- matmul
    def matmul(self, a: NDArray, b: NDArray) -> np.ndarray:
        # np.matmul reads transposed and stride-0 batch operands as they are (BLAS takes
        # a transposed matrix directly), so `x @ w.T` costs no copy.
        av = as_numpy(a)
        bv = as_numpy(b)
        if av.dtype in NARROW_FLOATS:
            # NumPy has no float16 BLAS: its fallback loop is slow and accumulates in half.
            product = np.matmul(av.astype(np.float32), bv.astype(np.float32))
            return product.astype(av.dtype).reshape(-1)
        return np.matmul(av, bv).reshape(-1)

    # ----------------------------------------------------------------- indexing
    def gather(self, x: NDArray, axis: int, index: NDArray) -> np.ndarray:
        # (x.shape[:axis] + index.shape + x.shape[axis+1:]), exactly np.take's shape rule
        ix = _check_bounds("gather", as_numpy(index), axis, x.shape[axis])
        return np.take(as_numpy(x), ix, axis=axis).reshape(-1)

    def scatter_add(self, dst: NDArray, axis: int, index: NDArray, src: NDArray) -> None:
        # subtle: `dst[idx] += src` would keep only the last of repeated indices;
        # np.add.at applies every one of them (unbuffered), so repeats accumulate.
        ix = _check_bounds("scatter_add", as_numpy(index), axis, dst.shape[axis])
        where = (slice(None),) * axis + (ix,)
        np.add.at(as_numpy(dst), where, as_numpy(src))

    # ------------------------------------------------------------------ sorting
    def argsort(self, x: NDArray, axis: int, descending: bool) -> np.ndarray:
        view = as_numpy(x)
        if not descending:
            order = np.argsort(view, axis=axis, kind="stable")  # nan sorts last
            return np.asarray(order, dtype=np.int64).reshape(-1)
        # stable descending = reverse, sort ascending, reverse back: ties keep their order
        order = np.flip(np.argsort(np.flip(view, axis), axis=axis, kind="stable"), axis)
        return np.asarray(x.shape[axis] - 1 - order, dtype=np.int64).reshape(-1)

    # ------------------------------------------------------------------- random
    def random(
        self, dist: str, size: int, dtype: DType, seed: int, a: float, b: float, counter: int = 0
    ) -> np.ndarray:
        # core's Philox spec, vectorized: the same numbers as every other backend
        _check_size(dist, size, dtype)
        _check_size(dist, size, DTYPES["float64"])  # (the doubles before rounding)
        if dist not in _DISTRIBUTIONS:
            raise BackendError(f"numpy backend: unknown distribution {dist!r}")
        try:
            return philox.samples(dist, size, numpy_dtype(dtype), seed, counter, a, b)
        except MemoryError as error:
            raise _out_of_memory(dist, size, dtype, error) from error

    def random_bits(self, seed: int, counter: int, size: int) -> np.ndarray:
        _check_size("random_bits", size, DTYPES["int64"])
        return philox.random_bits(seed, counter, size)

    # ------------------------------------------------- optional fused kernels
    def softmax(self, x: NDArray, axis: int, log: bool) -> np.ndarray:
        return fused.softmax(as_numpy(x), axis, log).reshape(-1)

    def layer_norm(
        self, x: NDArray, weight: NDArray | None, bias: NDArray | None, eps: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        y, mean, rstd = fused.layer_norm(as_numpy(x), _maybe(weight), _maybe(bias), eps)
        return y.reshape(-1), mean.reshape(-1), rstd.reshape(-1)

    def layer_norm_backward(
        self, dy: NDArray, x: NDArray, weight: NDArray | None, mean: NDArray, rstd: NDArray
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        dx, dweight, dbias = fused.layer_norm_backward(
            as_numpy(dy), as_numpy(x), _maybe(weight), as_numpy(mean), as_numpy(rstd)
        )
        if dweight is not None:
            dweight = dweight.reshape(-1)
        return dx.reshape(-1), dweight, dbias.reshape(-1)

    def cross_entropy(
        self, logits: NDArray, targets: NDArray, ignore_index: int
    ) -> tuple[np.ndarray, np.ndarray]:
        loss, lse = fused.cross_entropy(as_numpy(logits), as_numpy(targets), ignore_index)
        return loss.reshape(-1), lse.reshape(-1)

    def cross_entropy_backward(
        self, dloss: NDArray, logits: NDArray, targets: NDArray, lse: NDArray, ignore_index: int
    ) -> np.ndarray:
        dlogits = fused.cross_entropy_backward(
            as_numpy(dloss), as_numpy(logits), as_numpy(targets), as_numpy(lse), ignore_index
        )
        return dlogits.reshape(-1)

    def attention(
        self, q: NDArray, k: NDArray, v: NDArray, causal: bool, scale: float
    ) -> tuple[np.ndarray, np.ndarray]:
        out, lse = fused.attention(as_numpy(q), as_numpy(k), as_numpy(v), causal, scale)
        return out.reshape(-1), lse.reshape(-1)

    def attention_backward(
        self,
        dout: NDArray,
        q: NDArray,
        k: NDArray,
        v: NDArray,
        out: NDArray,
        lse: NDArray,
        causal: bool,
        scale: float,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        views = [as_numpy(a) for a in (dout, q, k, v, out, lse)]
        dq, dk, dv = fused.attention_backward(*views, causal, scale)
        return dq.reshape(-1), dk.reshape(-1), dv.reshape(-1)

    def gelu(self, x: NDArray, approximate: str) -> np.ndarray:
        return fused.gelu(as_numpy(x), approximate).reshape(-1)

    def gelu_backward(
        self, dy: NDArray, x: NDArray, approximate: str, y: NDArray | None = None
    ) -> np.ndarray:
        y_view = None if y is None else as_numpy(y)  # core passes y when it can (protocol.py)
        return fused.gelu_backward(as_numpy(dy), as_numpy(x), approximate, y_view).reshape(-1)

    def adamw(
        self,
        param: NDArray,
        grad: NDArray,
        exp_avg: NDArray,
        exp_avg_sq: NDArray,
        lr: float,
        beta1: float,
        beta2: float,
        eps: float,
        weight_decay: float,
        step: int,
    ) -> None:
        arrays = [as_numpy(t) for t in (param, grad, exp_avg, exp_avg_sq)]
        fused.adamw(*arrays, lr, beta1, beta2, eps, weight_decay, step)


def _check_size(op: str, size: int, dtype: DType) -> None:
    """A buffer of `size` elements of `dtype` can exist: checked before NumPy allocates,
    so the error names the op (NumPy would say "array is too big", or wrap around)."""
    nbytes = size * dtype.itemsize
    if size < 0:
        raise ShapeError(f"numpy backend: {op}: a buffer of {size} elements; sizes are >= 0")
    if nbytes > MAX_BYTES:
        raise OutOfMemoryError(
            f"numpy backend: {op}: {size} x {dtype} needs {nbytes} bytes "
            f"({format_bytes(nbytes)}); that is more than this machine can address"
        )


def _out_of_memory(op: str, size: int, dtype: DType, error: MemoryError) -> OutOfMemoryError:
    """NumPy's MemoryError (the allocation failed) as tinygpt's, naming the op and size."""
    nbytes = size * dtype.itemsize
    return OutOfMemoryError(
        f"numpy backend: {op}: cannot allocate {size} x {dtype}, {nbytes} bytes "
        f"({format_bytes(nbytes)}): {error}"
    )


def _check_op(op: str, table: dict, dtype: DType) -> None:
    """BackendError unless elementwise `op` is defined on `dtype` (the protocol's rules)."""
    if op not in table:
        raise BackendError(f"numpy backend: unknown elementwise op {op!r}")
    if op in _FLOAT_ONLY and dtype.kind != "f":
        raise BackendError(f"numpy backend: {op!r} needs a floating dtype, got {dtype}")
    if op in _BOOL_ONLY and dtype.kind != "b":
        raise BackendError(f"numpy backend: {op!r} needs bool, got {dtype}")
    if op in _NOT_FOR_BOOL and dtype.kind == "b":
        raise BackendError(f"numpy backend: {op!r} does not take bool")
    (_UNARY_OK if table is _UNARY else _BINARY_OK).add((op, dtype))


_EXACT_INT = 1 << 24  # ints that float32 (and so float64) holds exactly
_UNARY_OK: set[tuple[str, DType]] = set()  # (op, dtype) pairs that passed `_check_op`
_BINARY_OK: set[tuple[str, DType]] = set()
#: what NumPy raises refusing values (an int to a negative power, a scalar out of range)
_NUMPY_ERRORS = (TypeError, ValueError, OverflowError)


def _numpy_error(op: str, dtype: DType, error: Exception) -> BackendError:
    """NumPy's refusal as a BackendError naming the op, not NumPy's own exception."""
    return BackendError(f"numpy backend: {op} on {dtype}: {error}")


def _check_nonempty(op: str, x: NDArray, axes: tuple[int, ...]) -> None:
    """max/min/argmax/argmin have no identity: an empty axis is a BackendError (core never
    asks for one), not NumPy's "zero-size array" ValueError."""
    if any(x.shape[axis] == 0 for axis in axes):
        raise BackendError(f"numpy backend: {op} over an empty axis of shape {x.shape}")


def _maybe(x: NDArray | None) -> np.ndarray | None:
    return None if x is None else as_numpy(x)


def _check_bounds(op: str, index: np.ndarray, axis: int, size: int) -> np.ndarray:
    """`index`, once every value is in [0, size); else IndexError naming the first bad one.

    NOTE: NumPy would wrap -1 to the last row without a word; the protocol says core has
    already wrapped negative indices, so one reaching a kernel is a bug to report.
    """
    if index.size == 0 or (index.min() >= 0 and index.max() < size):
        return index
    bad = index.reshape(-1)[np.flatnonzero((index < 0) | (index >= size))[0]]
    hint = ""
    if bad < 0 and size > 0:
        hint = f" (negative ones arrive wrapped: this one was below -{size})"
    raise IndexError(
        f"{op}: index {bad} is out of bounds for dim {axis} with size {size}; "
        f"indices must be in [0, {size}){hint}"
    )


_DISTRIBUTIONS = frozenset({"uniform", "normal", "bernoulli"})
