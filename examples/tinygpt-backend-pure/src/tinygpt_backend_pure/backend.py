"""`PureBackend`: every kernel of `tinygpt.backend.protocol.Backend` as a plain Python loop.

Read it next to the protocol: each method is the protocol's sentence written as a loop over
elements. A kernel reads its input views in place through `buffers.positions` (whatever the
strides) and returns a new dense buffer, an `array.array`, in row-major order.

>>> from tinygpt.device import Device
>>> from tinygpt.dtypes import float32
>>> from tinygpt.ndarray import NDArray
>>> backend = PureBackend(Device("pure"))
>>> x = NDArray(backend, backend.full(3, float32, 2.0), (3,), float32)
>>> backend.binary("mul", x, x)
array('f', [4.0, 4.0, 4.0])
"""

from __future__ import annotations

import math
import random as _random
from array import array
from typing import TYPE_CHECKING

from tinygpt.backend.protocol import Backend
from tinygpt.device import Device
from tinygpt.dtypes import DTYPES, DType, int64
from tinygpt.ndarray import prod

from . import scalar
from .buffers import TYPECODES, convert, new_buffer, positions, typecode, values, walk

if TYPE_CHECKING:
    from tinygpt.ndarray import NDArray

__all__ = ["PureBackend"]


class PureBackend(Backend):
    """Kernels as loops over Python numbers: slow, dependency-free, and easy to check."""

    name = "pure"
    dtypes = frozenset(DTYPES[name] for name in TYPECODES)  # all but float16
    fused_ops = frozenset({"softmax"})  # attention comes from plugin.tinygpt_register_kernels

    def __init__(self, device: Device | None = None) -> None:
        self.device = device if device is not None else Device("pure")

    # ------------------------------------------------------------------ buffers
    def empty(self, size: int, dtype: DType) -> array:
        return array(typecode(dtype), bytes(size * dtype.itemsize))  # zeros, in fact

    def full(self, size: int, dtype: DType, value: bool | int | float) -> array:
        return new_buffer(dtype, [convert(value, dtype)]) * size

    def from_host(self, data: memoryview, dtype: DType) -> array:
        buffer = array(typecode(dtype))
        buffer.frombytes(data)  # copies the bytes: the caller may reuse its memory
        return buffer

    def to_host(self, x: NDArray) -> array:
        return self.copy(x)  # a new array: it supports the buffer protocol, as asked

    # ----------------------------------------------------------- strided memory
    def copy(self, x: NDArray) -> array:
        return new_buffer(x.dtype, values(x))

    def setitem(self, dst: NDArray, src: NDArray) -> None:
        items = values(src)  # read all of src first: it may overlap dst
        buffer = dst.buffer
        for position, item in zip(positions(dst), items):
            buffer[position] = item

    def fill(self, dst: NDArray, value: bool | int | float) -> None:
        item = convert(value, dst.dtype)
        buffer = dst.buffer
        for position in positions(dst):
            buffer[position] = item

    def cast(self, x: NDArray, dtype: DType) -> array:
        return new_buffer(dtype, [convert(item, dtype) for item in values(x)])

    # ---------------------------------------------------------------- elementwise
    def unary(self, op: str, x: NDArray) -> array:
        fn = scalar.UNARY[op]
        return new_buffer(x.dtype, [fn(item) for item in values(x)])

    def binary(self, op: str, a: NDArray, b: NDArray) -> array:
        fn = scalar.BINARY[op]
        out_dtype = DTYPES["bool"] if op in _COMPARISONS else a.dtype
        return new_buffer(out_dtype, [fn(p, q) for p, q in zip(values(a), values(b))])

    def binary_scalar(
        self, op: str, a: NDArray, value: bool | int | float, reflected: bool
    ) -> array:
        fn = scalar.BINARY[op]
        s = convert(value, a.dtype)  # the scalar becomes an element of a's dtype first
        out_dtype = DTYPES["bool"] if op in _COMPARISONS else a.dtype
        if reflected:
            return new_buffer(out_dtype, [fn(s, item) for item in values(a)])
        return new_buffer(out_dtype, [fn(item, s) for item in values(a)])

    def where(self, cond: NDArray, a: NDArray, b: NDArray) -> array:
        picked = [p if c else q for c, p, q in zip(values(cond), values(a), values(b))]
        return new_buffer(a.dtype, picked)

    # ----------------------------------------------------------------- reductions
    def reduce(self, op: str, x: NDArray, axes: tuple[int, ...]) -> array:
        # Walk the kept dims outermost and the reduced ones innermost: each output element's
        # inputs are then `group` consecutive items, and the outputs come out in row-major order.
        kept = tuple(i for i in range(x.ndim) if i not in axes)
        source = positions(x.permute(kept + axes))
        group = prod(tuple(x.shape[i] for i in axes))
        outputs = prod(tuple(x.shape[i] for i in kept))
        fn = scalar.REDUCE[op]
        buffer = x.buffer
        out = []
        for k in range(outputs):
            out.append(fn([buffer[p] for p in source[k * group : (k + 1) * group]]))
        return new_buffer(x.dtype, out)

    def arg_reduce(self, op: str, x: NDArray, axis: int) -> array:
        kept = tuple(i for i in range(x.ndim) if i != axis)
        source = positions(x.permute(kept + (axis,)))
        group = x.shape[axis]
        better = scalar.BINARY["gt" if op == "argmax" else "lt"]
        buffer = x.buffer
        out = []
        for start in range(0, len(source), group):
            items = [buffer[p] for p in source[start : start + group]]
            best = 0
            for i, item in enumerate(items):
                if item != item:  # NaN wins, as in NumPy: the first one
                    best = i
                    break
                if better(item, items[best]):  # strictly better: ties keep the first index
                    best = i
            out.append(best)
        return new_buffer(int64, out)

    # --------------------------------------------------------------------- matmul
    def matmul(self, a: NDArray, b: NDArray) -> array:
        # out[..., i, j] = sum over t of a[..., i, t] * b[..., t, j], read through the strides:
        # a transposed operand (`x @ w.T`) just has its last two strides swapped.
        m, k = a.shape[-2:]
        n = b.shape[-1]
        a_row_stride, a_col_stride = a.strides[-2:]
        b_row_stride, b_col_stride = b.strides[-2:]
        a_starts = _outer(a, a.ndim - 2)  # where each matrix of the batch starts
        b_starts = _outer(b, b.ndim - 2)
        abuf = a.buffer
        bbuf = b.buffer
        out = []
        for a0, b0 in zip(a_starts, b_starts):
            for i in range(m):
                row = [abuf[a0 + i * a_row_stride + t * a_col_stride] for t in range(k)]
                for j in range(n):
                    column = b0 + j * b_col_stride
                    out.append(sum(row[t] * bbuf[column + t * b_row_stride] for t in range(k)))
        return new_buffer(a.dtype, out)

    # ----------------------------------------------------------------- indexing
    def gather(self, x: NDArray, axis: int, index: NDArray) -> array:
        # out[outer, j..., inner] = x[outer, index[j...], inner]
        buffer = x.buffer
        stride = x.strides[axis]
        inner = _inner(x, axis)
        out = []
        for start in _outer(x, axis):
            for i in values(index):
                out.extend(buffer[start + i * stride + p] for p in inner)
        return new_buffer(x.dtype, out)

    def scatter_add(self, dst: NDArray, axis: int, index: NDArray, src: NDArray) -> None:
        # dst[outer, index[j...], inner] += src[outer, j..., inner], one element at a time,
        # so repeated indices accumulate
        buffer = dst.buffer
        stride = dst.strides[axis]
        inner = _inner(dst, axis)
        items = iter(values(src))  # src has gather's output shape: the same walk order
        for start in _outer(dst, axis):
            for i in values(index):
                for p in inner:
                    buffer[start + i * stride + p] += next(items)

    # ------------------------------------------------------------------- random
    def random(self, dist: str, size: int, dtype: DType, seed: int, a: float, b: float) -> array:
        # A fresh generator per call (Python's Mersenne Twister): numbers depend on `seed` only.
        generator = _random.Random(seed)
        draw = _SAMPLERS[dist]
        return new_buffer(dtype, [draw(generator, dtype, a, b) for _ in range(size)])

    # ------------------------------------------------- optional fused kernels
    def softmax(self, x: NDArray, axis: int, log: bool) -> array:
        # Visit x one row along `axis` at a time; `targets` says where each result goes.
        order = tuple(i for i in range(x.ndim) if i != axis) + (axis,)
        source, targets = walk(x, order)
        group = x.shape[axis]
        buffer = x.buffer
        out = [0.0] * x.size
        for start in range(0, len(source), group):
            row = [buffer[p] for p in source[start : start + group]]
            # NOTE: softmax(x) == softmax(x - max(x)); with the max subtracted every exponent
            # is <= 0, so exp cannot overflow even for logits of 1e4.
            top = scalar.largest(row)
            shifted = [item - top for item in row]
            denominator = math.fsum(scalar.exp(item) for item in shifted)
            for target, item in zip(targets[start : start + group], shifted):
                if log:
                    out[target] = item - scalar.log(denominator)
                else:
                    out[target] = scalar.exp(item) / denominator
        return new_buffer(x.dtype, out)


_COMPARISONS = frozenset({"eq", "ne", "lt", "le", "gt", "ge"})


def _outer(x: NDArray, axis: int) -> list[int]:
    """Buffer index of x[outer..., 0, 0, ...] for every index `outer` of the dims before axis."""
    return positions(x.view(x.shape[:axis], x.strides[:axis], x.offset))


def _inner(x: NDArray, axis: int) -> list[int]:
    """How far x[..., inner...] lies from x[..., 0...], for every index of the dims after axis."""
    return positions(x.view(x.shape[axis + 1 :], x.strides[axis + 1 :], 0))


# ---------------------------------------------------------------------- samplers
def _uniform(generator: _random.Random, dtype: DType, low: float, high: float) -> float | int:
    """A number in [low, high); integer dtypes get floor(U[low, high))."""
    if dtype.kind != "f":
        return math.floor(low + (high - low) * generator.random())
    while True:
        item = convert(low + (high - low) * generator.random(), dtype)
        # subtle: rounding to float32 can land exactly on `high`; the interval is half-open,
        # so draw again (rare, and still a function of the seed alone)
        if item < high or high <= low:
            return item


def _normal(generator: _random.Random, dtype: DType, mean: float, std: float) -> float:
    return generator.gauss(mean, std)


def _bernoulli(generator: _random.Random, dtype: DType, p: float, _unused: float) -> int:
    return 1 if generator.random() < p else 0


_SAMPLERS = {"uniform": _uniform, "normal": _normal, "bernoulli": _bernoulli}
