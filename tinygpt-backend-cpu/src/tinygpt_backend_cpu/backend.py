"""`CpuBackend`: `tinygpt.backend.protocol.Backend` on compiled Cython kernels.

Each method hands core's views (NDArray: buffer, shape, strides, offset, dtype) straight to
a compiled kernel, which reads them in place whatever their strides and returns a new dense
`Buffer`. The kernels live in one extension module per concept, in reading order:

- `memory`: buffers, host copies, compact, setitem, fill, cast;
- `elementwise`: unary, binary, scalar ops, comparisons, where;
- `reduce`: sum/max/min over any axes; `argreduce`: argmax/argmin;
- `matmul`: batched matmul on OpenBLAS; `indexing`: gather, scatter_add; `random`: fills;
- `softmax`: softmax, cross-entropy; `layernorm`; `attention`: causal attention;
- `activation`: GELU and its backward; `optim`: the AdamW step.

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
)

if TYPE_CHECKING:
    from tinygpt.ndarray import NDArray

    from .buffer import Buffer

__all__ = ["CpuBackend"]


class CpuBackend(Backend):
    """Compiled kernels on OpenMP threads; matmul in OpenBLAS."""

    name = "cpu"
    dtypes = frozenset(DTYPES.values())
    fused_ops = frozenset({"softmax", "layer_norm", "cross_entropy", "attention", "gelu", "adamw"})

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
        return elementwise.unary(op, x)

    def binary(self, op: str, a: NDArray, b: NDArray) -> Buffer:
        return elementwise.binary(op, a, b)

    def binary_scalar(
        self, op: str, a: NDArray, value: bool | int | float, reflected: bool
    ) -> Buffer:
        return elementwise.binary_scalar(op, a, value, reflected)

    def where(self, cond: NDArray, a: NDArray, b: NDArray) -> Buffer:
        return elementwise.where(cond, a, b)

    # ----------------------------------------------------------------- reductions
    def reduce(self, op: str, x: NDArray, axes: tuple[int, ...]) -> Buffer:
        return reduce.reduce(op, x, axes)

    def arg_reduce(self, op: str, x: NDArray, axis: int) -> Buffer:
        return argreduce.arg_reduce(op, x, axis)

    # --------------------------------------------------------------------- matmul
    def matmul(self, a: NDArray, b: NDArray) -> Buffer:
        return matmul.matmul(a, b)

    # ----------------------------------------------------------------- indexing
    def gather(self, x: NDArray, axis: int, index: NDArray) -> Buffer:
        return indexing.gather(x, axis, index)

    def scatter_add(self, dst: NDArray, axis: int, index: NDArray, src: NDArray) -> None:
        indexing.scatter_add(dst, axis, index, src)

    # ------------------------------------------------------------------- random
    def random(self, dist: str, size: int, dtype: DType, seed: int, a: float, b: float) -> Buffer:
        return random.random(dist, size, dtype, seed, a, b)

    # ------------------------------------------------- optional fused kernels
    def softmax(self, x: NDArray, axis: int, log: bool) -> Buffer:
        return softmax.softmax(x, axis, log)

    def layer_norm(
        self, x: NDArray, weight: NDArray | None, bias: NDArray | None, eps: float
    ) -> tuple[Buffer, Buffer, Buffer]:
        return layernorm.layer_norm(x, weight, bias, eps)

    def layer_norm_backward(
        self, dy: NDArray, x: NDArray, weight: NDArray | None, mean: NDArray, rstd: NDArray
    ) -> tuple[Buffer, Buffer | None, Buffer]:
        return layernorm.layer_norm_backward(dy, x, weight, mean, rstd)

    def cross_entropy(
        self, logits: NDArray, targets: NDArray, ignore_index: int
    ) -> tuple[Buffer, Buffer]:
        return softmax.cross_entropy(logits, targets, ignore_index)

    def cross_entropy_backward(
        self, dloss: NDArray, logits: NDArray, targets: NDArray, lse: NDArray, ignore_index: int
    ) -> Buffer:
        return softmax.cross_entropy_backward(dloss, logits, targets, lse, ignore_index)

    def attention(
        self, q: NDArray, k: NDArray, v: NDArray, causal: bool, scale: float
    ) -> tuple[Buffer, Buffer]:
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
        return attention.attention_backward(dout, q, k, v, out, lse, causal, scale)

    def gelu(self, x: NDArray, approximate: str) -> Buffer:
        return activation.gelu(x, approximate)

    def gelu_backward(self, dy: NDArray, x: NDArray, approximate: str) -> Buffer:
        return activation.gelu_backward(dy, x, approximate)

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
        optim.adamw(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, weight_decay, step)
