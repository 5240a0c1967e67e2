"""`PureBackend`: every kernel of `tinygpt.backend.protocol.Backend` as a plain Python loop.

Read it next to the protocol: each method is the protocol's sentence written as a loop over
elements. It sets ``dense_inputs = True``, so core compacts views before calling a compute
kernel: every input is dense and row-major (`buffers.dense`), and element (i, j, k) of a
(I, J, K) input is ``buffer[(i * J + j) * K + k]``. Only the memory movers (copy, setitem,
fill, to_host) read arbitrary views, through `buffers.positions`. Each kernel returns a new
dense buffer, an `array.array`, in row-major order.

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
from array import array
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tinygpt import philox
from tinygpt.backend.protocol import Backend
from tinygpt.device import Device
from tinygpt.dtypes import DTYPES, DType, int64
from tinygpt.errors import BackendError
from tinygpt.ndarray import prod

from . import scalar
from .buffers import TYPECODES, convert, dense, new_buffer, positions, typecode, values

if TYPE_CHECKING:
    from tinygpt.ndarray import NDArray

__all__ = ["PureBackend"]


class PureBackend(Backend):
    """Kernels as loops over Python numbers: slow, dependency-free, and easy to check."""

    name = "pure"
    dtypes = frozenset(DTYPES[name] for name in TYPECODES)  # all but float16
    fused_ops = frozenset({"softmax"})  # attention comes from plugin.tinygpt_register_kernels
    dense_inputs = True  # core compacts views for the compute kernels: no strides below

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

    def export_buffer(self, buffer: array) -> array:
        return buffer  # array.array has the buffer protocol: MPI works on it in place

    # ------------------------------------- strided memory: the only readers of any view
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

    # ------------------------------------------- elementwise (inputs dense from here on)
    def cast(self, x: NDArray, dtype: DType) -> array:
        return new_buffer(dtype, [convert(item, dtype) for item in dense(x)])

    def unary(self, op: str, x: NDArray) -> array:
        fn = scalar.UNARY[op]
        return new_buffer(x.dtype, [fn(item) for item in dense(x)])

    def binary(self, op: str, a: NDArray, b: NDArray) -> array:
        fn = scalar.BINARY[op]
        out_dtype = DTYPES["bool"] if op in _COMPARISONS else a.dtype
        return new_buffer(out_dtype, [fn(p, q) for p, q in zip(dense(a), dense(b))])

    def binary_scalar(
        self, op: str, a: NDArray, value: bool | int | float, reflected: bool
    ) -> array:
        fn = scalar.BINARY[op]
        s = convert(value, a.dtype)  # the scalar becomes an element of a's dtype first
        out_dtype = DTYPES["bool"] if op in _COMPARISONS else a.dtype
        if reflected:
            return new_buffer(out_dtype, [fn(s, item) for item in dense(a)])
        return new_buffer(out_dtype, [fn(item, s) for item in dense(a)])

    def where(self, cond: NDArray, a: NDArray, b: NDArray) -> array:
        picked = [p if c else q for c, p, q in zip(dense(cond), dense(a), dense(b))]
        return new_buffer(a.dtype, picked)

    # ----------------------------------------------------------------- reductions
    def reduce(self, op: str, x: NDArray, axes: tuple[int, ...]) -> array:
        # One axis at a time, the last first: each pass reduces every line along one axis.
        fn = scalar.REDUCE[op]
        items: Sequence[bool | int | float] = dense(x)
        shape = x.shape
        for axis in reversed(axes):
            items = [fn([items[p] for p in line]) for line in _lines(shape, axis)]
            shape = shape[:axis] + shape[axis + 1 :]
        return new_buffer(x.dtype, items)

    def arg_reduce(self, op: str, x: NDArray, axis: int) -> array:
        better = scalar.BINARY["gt" if op == "argmax" else "lt"]
        items = dense(x)
        out = []
        for line in _lines(x.shape, axis):
            row = [items[p] for p in line]
            best = 0
            for i, item in enumerate(row):
                if item != item:  # NaN wins, as in NumPy: the first one
                    best = i
                    break
                if better(item, row[best]):  # strictly better: ties keep the first index
                    best = i
            out.append(best)
        return new_buffer(int64, out)

    # --------------------------------------------------------------------- matmul
    def matmul(self, a: NDArray, b: NDArray) -> array:
        # out[..., i, j] = sum over t of a[..., i, t] * b[..., t, j]. NOTE: `x @ w.T` arrives
        # compacted (dense_inputs), so this is one copy of w per call: the price of simplicity.
        m, k = a.shape[-2:]
        n = b.shape[-1]
        abuf = dense(a)
        bbuf = dense(b)
        out: list[float] = []
        for batch in range(prod(a.shape[:-2])):
            a0 = batch * m * k  # where this batch's (M, K) and (K, N) matrices start
            b0 = batch * k * n
            columns = [bbuf[b0 + j : b0 + k * n : n] for j in range(n)]  # every n-th: column j
            for i in range(m):
                row = abuf[a0 + i * k : a0 + (i + 1) * k]
                out.extend(sum(p * q for p, q in zip(row, column)) for column in columns)
        return new_buffer(a.dtype, out)

    # ----------------------------------------------------------------- indexing
    def gather(self, x: NDArray, axis: int, index: NDArray) -> array:
        # x as (outer, n, inner): out[o, j..., :] = x[o, index[j...], :], a run of `inner`
        outer, n, inner = _split(x.shape, axis)
        indices = _in_bounds("gather", index, axis, n)
        items = dense(x)
        out: list[bool | int | float] = []
        for o in range(outer):
            for j in indices:
                start = (o * n + j) * inner
                out.extend(items[start : start + inner])
        return new_buffer(x.dtype, out)

    def scatter_add(self, dst: NDArray, axis: int, index: NDArray, src: NDArray) -> None:
        # dst[o, index[j...], :] += src[o, j..., :], one element at a time, so repeated
        # indices accumulate. dst is dense too (core updates a dense copy when it is not).
        outer, n, inner = _split(dst.shape, axis)
        indices = _in_bounds("scatter_add", index, axis, n)  # before the first write
        buffer = dst.buffer
        updates = iter(dense(src))  # src has gather's output shape: the same walk order
        for o in range(outer):
            for j in indices:
                start = (o * n + j) * inner
                for i in range(inner):
                    buffer[start + i] += next(updates)

    # ------------------------------------------------------------------- random
    def random(
        self, dist: str, size: int, dtype: DType, seed: int, a: float, b: float, counter: int = 0
    ) -> array:
        # core's reference implementation of its Philox spec is plain Python: use it as is
        if dist not in ("uniform", "normal", "bernoulli"):
            raise BackendError(f"pure: unknown distribution {dist!r}")
        samples = philox.reference_samples(dist, size, dtype.name, seed, counter, a, b)
        return new_buffer(dtype, samples)

    def random_bits(self, seed: int, counter: int, size: int) -> array:
        blocks = philox.block_words(seed, counter, (size + 3) // 4)
        words = [word for block in blocks for word in block]
        return new_buffer(int64, words[:size])

    # ------------------------------------------------- optional fused kernels
    def softmax(self, x: NDArray, axis: int, log: bool) -> array:
        items = dense(x)
        out = [0.0] * x.size
        if x.shape[axis] == 0:
            return new_buffer(x.dtype, out)  # an empty axis: nothing to normalize
        for line in _lines(x.shape, axis):  # each result goes where its input was
            row = [items[p] for p in line]
            # NOTE: softmax(x) == softmax(x - max(x)); with the max subtracted every exponent
            # is <= 0, so exp cannot overflow even for logits of 1e4.
            top = scalar.largest(row)
            shifted = [item - top for item in row]
            denominator = math.fsum(scalar.exp(item) for item in shifted)
            for p, item in zip(line, shifted):
                if log:
                    out[p] = item - scalar.log(denominator)
                else:
                    out[p] = scalar.exp(item) / denominator
        return new_buffer(x.dtype, out)


_COMPARISONS = frozenset({"eq", "ne", "lt", "le", "gt", "ge"})


def _split(shape: tuple[int, ...], axis: int) -> tuple[int, int, int]:
    """A dense array of `shape` seen as (outer, n, inner): the dims before, at, after `axis`."""
    return prod(shape[:axis]), shape[axis], prod(shape[axis + 1 :])


def _in_bounds(op: str, index: NDArray, axis: int, size: int) -> array:
    """The values of `index`, once each is in [0, size); else an IndexError naming the first
    bad one. Core wraps negative indices but does not check bounds: that is the kernel's job."""
    items = dense(index)
    for i in items:
        if not 0 <= i < size:
            raise IndexError(
                f"{op}: index {i} is out of bounds for dim {axis} with size {size}; "
                f"indices must be in [0, {size})"
            )
    return items


def _lines(shape: tuple[int, ...], axis: int) -> list[range]:
    """The indices of every line along `axis` in a dense array of `shape`, one range per index
    of the other dims, in row-major order: results computed line by line come out in order."""
    outer, n, inner = _split(shape, axis)
    starts = [o * n * inner + i for o in range(outer) for i in range(inner)]
    return [range(start, start + n * inner, inner) for start in starts]
