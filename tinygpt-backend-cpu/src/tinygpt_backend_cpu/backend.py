"""`CpuBackend`: `tinygpt.backend.protocol.Backend` on compiled Cython kernels.

Each method hands core's views (NDArray: buffer, shape, strides, offset, dtype) straight to
a compiled kernel, which reads them in place whatever their strides and returns a new dense
`Buffer`. The kernels live in one extension module per concept, in reading order:

- `memory`: buffers, host copies, compact, setitem, fill, cast;
- `elementwise`: unary, binary, scalar ops, comparisons, where;
- `reduce`: sum/max/min over any axes; `argreduce`: argmax/argmin; `sorting`: argsort;
- `matmul`: batched matmul on OpenBLAS; `indexing`: gather, scatter_add; `random`: fills;
- `softmax`: softmax, cross-entropy; `layernorm`; `attention`: causal attention;
- `activation`: GELU and its backward; `optim`: the AdamW step.

bfloat16, int8 and uint8 are stored as such and computed in float32 / int32: each method
below widens them first (`storage.py`) and casts its result back.

>>> from tinygpt.device import Device
>>> from tinygpt.dtypes import float32
>>> from tinygpt.ndarray import NDArray
>>> backend = CpuBackend(Device("cpu"))
>>> x = NDArray(backend, backend.full(3, float32, 2.0), (3,), float32)
>>> bytes(backend.to_host(NDArray(backend, backend.binary("mul", x, x), (3,), float32)))
b'\\x00\\x00\\x80@\\x00\\x00\\x80@\\x00\\x00\\x80@'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinygpt.backend.protocol import Backend
from tinygpt.device import Device
from tinygpt.dtypes import DTYPES, DType

from .native import (
    activation,
    argreduce,
    attention,
    elementwise,
    indexing,
    layernorm,
    matmul,
    memory,
    optim,
    random,
    reduce,
    softmax,
    sorting,
)
from .storage import COMPARISONS, COMPUTE, narrow, widen, write_back

if TYPE_CHECKING:
    from tinygpt.ndarray import NDArray

    from .buffer import Buffer

__all__ = ["CpuBackend"]


class CpuBackend(Backend):
    """Compiled kernels on OpenMP threads; matmul in OpenBLAS."""

    name = "cpu"
    dtypes = frozenset(DTYPES.values())
    fused_ops = frozenset(
        {"softmax", "layer_norm", "cross_entropy", "attention", "gelu", "adamw", "topk"}
    )

    def __init__(self, device: Device | None = None) -> None:
        self.device = device if device is not None else Device("cpu")

    # ------------------------------------------------------------------ buffers
    def empty(self, size: int, dtype: DType) -> Buffer:
        return memory.empty(size, dtype)

    def full(self, size: int, dtype: DType, value: bool | int | float) -> Buffer:
        return memory.full(size, dtype, value)

    def from_host(self, data: memoryview, dtype: DType) -> Buffer:
        return memory.from_host(data, dtype)

    def to_host(self, x: NDArray) -> Buffer:
        return memory.to_host(x)  # a new Buffer: exposes its bytes, aliases nothing

    def export_buffer(self, buffer: Buffer) -> memoryview:
        return memoryview(buffer)  # writable raw bytes, no copy (buffer.pyx)

    # ----------------------------------------------------------- strided memory
    def copy(self, x: NDArray) -> Buffer:
        return memory.copy(x)

    def setitem(self, dst: NDArray, src: NDArray) -> None:
        memory.setitem(dst, src)

    def fill(self, dst: NDArray, value: bool | int | float) -> None:
        memory.fill(dst, value)

    def cast(self, x: NDArray, dtype: DType) -> Buffer:
        return memory.cast(x, dtype)

    # ---------------------------------------------------------------- elementwise
    def unary(self, op: str, x: NDArray) -> Buffer:
        if x.dtype in COMPUTE:
            return narrow(elementwise.unary(op, widen(x)), x.dtype)
        return elementwise.unary(op, x)

    def binary(self, op: str, a: NDArray, b: NDArray) -> Buffer:
        if a.dtype in COMPUTE:
            out = elementwise.binary(op, widen(a), widen(b))
            return out if op in COMPARISONS else narrow(out, a.dtype)
        return elementwise.binary(op, a, b)

    def binary_scalar(
        self, op: str, a: NDArray, value: bool | int | float, reflected: bool
    ) -> Buffer:
        if a.dtype in COMPUTE:
            out = elementwise.binary_scalar(op, widen(a), value, reflected)
            return out if op in COMPARISONS else narrow(out, a.dtype)
        return elementwise.binary_scalar(op, a, value, reflected)

    def where(self, cond: NDArray, a: NDArray, b: NDArray) -> Buffer:
        return elementwise.where(cond, a, b)

    # ----------------------------------------------------------------- reductions
    def reduce(self, op: str, x: NDArray, axes: tuple[int, ...]) -> Buffer:
        if x.dtype in COMPUTE:
            return narrow(reduce.reduce(op, widen(x), axes), x.dtype)
        return reduce.reduce(op, x, axes)

    def arg_reduce(self, op: str, x: NDArray, axis: int) -> Buffer:
        return argreduce.arg_reduce(op, widen(x), axis)

    # -------------------------------------------------------------------- sorting
    def argsort(self, x: NDArray, axis: int, descending: bool) -> Buffer:
        return sorting.argsort(widen(x), axis, descending)

    def topk(self, x: NDArray, axis: int, k: int, descending: bool) -> Buffer:
        return sorting.topk(widen(x), axis, k, descending)

    # --------------------------------------------------------------------- matmul
    def matmul(self, a: NDArray, b: NDArray) -> Buffer:
        if a.dtype in COMPUTE:
            return narrow(matmul.matmul(widen(a), widen(b)), a.dtype)
        return matmul.matmul(a, b)

    # ----------------------------------------------------------------- indexing
    def gather(self, x: NDArray, axis: int, index: NDArray) -> Buffer:
        return indexing.gather(x, axis, index)

    def scatter_add(self, dst: NDArray, axis: int, index: NDArray, src: NDArray) -> None:
        if dst.dtype in COMPUTE:
            wide = widen(dst)
            indexing.scatter_add(wide, axis, index, widen(src))
            write_back(dst, wide)
            return
        indexing.scatter_add(dst, axis, index, src)

    # ------------------------------------------------------------------- random
    def random(
        self, dist: str, size: int, dtype: DType, seed: int, a: float, b: float, counter: int = 0
    ) -> Buffer:
        return random.random(dist, size, dtype, seed, a, b, counter)

    def random_bits(self, seed: int, counter: int, size: int) -> Buffer:
        return random.random_bits(seed, counter, size)

    # ------------------------------------------------- optional fused kernels
    # (float kernels: a bfloat16 operand is widened, the outputs of x's dtype narrowed back,
    # and the float32 statistics kept, as for float16)
    def softmax(self, x: NDArray, axis: int, log: bool) -> Buffer:
        return narrow(softmax.softmax(widen(x), axis, log), x.dtype)

    def layer_norm(
        self, x: NDArray, weight: NDArray | None, bias: NDArray | None, eps: float
    ) -> tuple[Buffer, Buffer, Buffer]:
        if x.dtype not in COMPUTE:  # (no widening to do: the common case, without 4 calls)
            return layernorm.layer_norm(x, weight, bias, eps)  # type: ignore[no-any-return]
        y, mean, rstd = layernorm.layer_norm(widen(x), widen(weight), widen(bias), eps)
        return narrow(y, x.dtype), mean, rstd

    def layer_norm_backward(
        self, dy: NDArray, x: NDArray, weight: NDArray | None, mean: NDArray, rstd: NDArray
    ) -> tuple[Buffer, Buffer | None, Buffer]:
        grads = layernorm.layer_norm_backward(widen(dy), widen(x), widen(weight), mean, rstd)
        return tuple(narrow(g, dy.dtype) for g in grads)  # type: ignore[return-value]

    def cross_entropy(
        self, logits: NDArray, targets: NDArray, ignore_index: int
    ) -> tuple[Buffer, Buffer]:
        loss, lse = softmax.cross_entropy(widen(logits), targets, ignore_index)
        return narrow(loss, logits.dtype), lse

    def cross_entropy_backward(
        self, dloss: NDArray, logits: NDArray, targets: NDArray, lse: NDArray, ignore_index: int
    ) -> Buffer:
        grad = softmax.cross_entropy_backward(
            widen(dloss), widen(logits), targets, lse, ignore_index
        )
        return narrow(grad, logits.dtype)

    def attention(
        self, q: NDArray, k: NDArray, v: NDArray, causal: bool, scale: float
    ) -> tuple[Buffer, Buffer]:
        if q.dtype in COMPUTE:
            out, lse = attention.attention(widen(q), widen(k), widen(v), causal, scale)
            return narrow(out, q.dtype), lse
        return attention.attention(q, k, v, causal, scale)

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
    ) -> tuple[Buffer, Buffer, Buffer]:
        if q.dtype in COMPUTE:
            wide = [widen(t) for t in (dout, q, k, v, out)]
            grads = attention.attention_backward(*wide, lse, causal, scale)
            return tuple(narrow(g, q.dtype) for g in grads)  # type: ignore[return-value]
        return attention.attention_backward(dout, q, k, v, out, lse, causal, scale)

    def gelu(self, x: NDArray, approximate: str) -> Buffer:
        if x.dtype not in COMPUTE:
            return activation.gelu(x, approximate)
        return narrow(activation.gelu(widen(x), approximate), x.dtype)

    def gelu_backward(self, dy: NDArray, x: NDArray, approximate: str) -> Buffer:
        return narrow(activation.gelu_backward(widen(dy), widen(x), approximate), dy.dtype)

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
        if param.dtype not in COMPUTE and exp_avg.dtype not in COMPUTE:
            optim.adamw(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, weight_decay, step)
            return
        state = [widen(t) for t in (param, grad, exp_avg, exp_avg_sq)]
        optim.adamw(*state, lr, beta1, beta2, eps, weight_decay, step)
        for narrow_dst, wide in zip((param, exp_avg, exp_avg_sq), (state[0], state[2], state[3])):
            if narrow_dst.dtype in COMPUTE:
                write_back(narrow_dst, wide)
