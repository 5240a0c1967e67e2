"""The fused kernels of `CudaBackend` (softmax, layer norm, cross-entropy, attention, gelu,
adamw).

A mixin: `CudaBackend` inherits these methods; they use its `_new` and `_meta`. Each method
launches the kernels of one ``kernels/*.cu`` file, rendered for the input's dtype. The
statistics saved for a backward (mean, rstd, logsumexp) are in `statistics_dtype`: float32
for float16 inputs, as the kernels' compute type.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import cupy
import numpy as np

from tinygpt.dtypes import statistics_dtype
from tinygpt.errors import BackendError
from tinygpt.ndarray import prod, strides_for

from . import sources
from .launch import MAX_BLOCKS, kernel, launch, launch_rows
from .views import compute_dtype

if TYPE_CHECKING:
    from tinygpt.ndarray import NDArray

__all__ = [
    "FusedKernels",
    "ATTENTION_THREADS",
    "SHARED_LIMIT",
    "attention_plan",
    "tiled_shared_words",
]

#: attention.cu's row kernels: one block of this many threads per query (or key) row
#: (attention_tiled.cu's blocks are sized by sources.ATTENTION_TILES, see `attention_plan`)
ATTENTION_THREADS = 128
#: layer norm's weight/bias gradient, stage 1: blocks of 32 columns x 8 row lanes, each over
#: a chunk of at least ROWS_PER_CHUNK rows, at most MAX_CHUNKS chunks (kernels/layer_norm.cu)
DWDB_COLS, DWDB_LANES = 32, 8
ROWS_PER_CHUNK, MAX_CHUNKS = 64, 256
#: dynamic shared memory per block: 48 KiB (what a block may use without opting in, on every
#: GPU since Kepler) less 1 KiB for block_reduce's static scratch
SHARED_LIMIT = 47 * 1024


def _kernel(name: str, dtype, kernel_name: str, log: bool = False):
    return kernel(sources.fused_source(name, dtype.name, log), kernel_name)


class FusedKernels:
    """softmax, layer_norm(_backward), cross_entropy(_backward), attention(_backward),
    gelu(_backward), adamw."""

    # ---------------------------------------------------------------- softmax
    def softmax(self, x: NDArray, axis: int, log: bool) -> cupy.ndarray:
        # the axis last, for both the input view and the dense output (row k of the
        # permuted view is written through the output's strides permuted the same way)
        order = tuple(d for d in range(len(x.shape)) if d != axis) + (axis,)
        view = x.permute(order)
        dense = strides_for(x.shape)
        out_meta = self._meta.layout(view.shape, tuple(dense[d] for d in order), 0)
        k = x.shape[axis]
        rows = prod(x.shape) // k if k else 0
        out = self._new(prod(x.shape), x.dtype)
        function = _kernel("softmax.cu", x.dtype, "softmax", log)
        launch_rows(function, rows, (view.buffer, self._meta(view), out, out_meta, _n(rows), _n(k)))
        return out

    # ------------------------------------------------------------- layer norm
    def layer_norm(
        self, x: NDArray, weight: NDArray | None, bias: NDArray | None, eps: float
    ) -> tuple[cupy.ndarray, cupy.ndarray, cupy.ndarray]:
        C = x.shape[-1]
        rows = prod(x.shape[:-1])
        y, mean, rstd = (
            self._new(rows * C, x.dtype),
            self._new(rows, statistics_dtype(x.dtype)),
            self._new(rows, statistics_dtype(x.dtype)),
        )
        w, b = self._optional(weight, x), self._optional(bias, x)
        eps_a = compute_dtype(x.dtype).type(eps)
        function = _kernel("layer_norm.cu", x.dtype, "layer_norm")
        args = (x.buffer, self._meta(x), *w, *b, eps_a, y, mean, rstd, _n(rows), _n(C))
        launch_rows(function, rows, args)
        return y, mean, rstd

    def layer_norm_backward(
        self, dy: NDArray, x: NDArray, weight: NDArray | None, mean: NDArray, rstd: NDArray
    ) -> tuple[cupy.ndarray, cupy.ndarray | None, cupy.ndarray]:
        C = x.shape[-1]
        rows = prod(x.shape[:-1])
        saved = (mean.buffer, self._meta(mean), rstd.buffer, self._meta(rstd))
        inputs = (dy.buffer, self._meta(dy), x.buffer, self._meta(x))
        dx = self._new(rows * C, x.dtype)
        function = _kernel("layer_norm.cu", x.dtype, "layer_norm_backward_dx")
        w = self._optional(weight, x)
        launch_rows(function, rows, (*inputs, *w, *saved, dx, _n(rows), _n(C)))
        dweight, dbias = self._new(C, x.dtype), self._new(C, x.dtype)
        if C > 0:
            chunks = _row_chunks(rows)
            stats = statistics_dtype(x.dtype)
            partial = (self._new(chunks * C, stats), self._new(chunks * C, stats))
            function = _kernel("layer_norm.cu", x.dtype, "layer_norm_backward_dwdb_partial")
            grid = ((C + DWDB_COLS - 1) // DWDB_COLS, chunks)
            function(grid, (DWDB_COLS, DWDB_LANES), (*inputs, *saved, *partial, _n(rows), _n(C)))
            function = _kernel("layer_norm.cu", x.dtype, "layer_norm_backward_dwdb")
            launch(function, C, (*partial, dweight, dbias, _n(chunks), _n(C)))
        return dx, (dweight if weight is not None else None), dbias

    def _optional(self, x: NDArray | None, stand_in: NDArray) -> tuple:
        """(buffer, meta, present) for an optional operand; the kernel skips an absent one."""
        if x is None:
            return stand_in.buffer, self._meta(stand_in), np.int32(0)
        return x.buffer, self._meta(x), np.int32(1)

    # ---------------------------------------------------------- cross-entropy
    def cross_entropy(
        self, logits: NDArray, targets: NDArray, ignore_index: int
    ) -> tuple[cupy.ndarray, cupy.ndarray]:
        N, C = logits.shape
        loss, lse = self._new(N, logits.dtype), self._new(N, statistics_dtype(logits.dtype))
        function = _kernel("cross_entropy.cu", logits.dtype, "cross_entropy")
        self._errors.check("cross_entropy", targets.buffer, self._meta(targets), N, C, ignore_index)
        args = (logits.buffer, self._meta(logits), targets.buffer, self._meta(targets))
        launch_rows(function, N, (*args, np.int64(ignore_index), loss, lse, _n(N), _n(C)))
        return loss, lse

    def cross_entropy_backward(
        self, dloss: NDArray, logits: NDArray, targets: NDArray, lse: NDArray, ignore_index: int
    ) -> cupy.ndarray:
        N, C = logits.shape
        dlogits = self._new(N * C, logits.dtype)
        function = _kernel("cross_entropy.cu", logits.dtype, "cross_entropy_backward")
        check = (targets.buffer, self._meta(targets), N, C, ignore_index)
        self._errors.check("cross_entropy_backward", *check)
        args = (dloss.buffer, self._meta(dloss), logits.buffer, self._meta(logits))
        args += (targets.buffer, self._meta(targets), lse.buffer, self._meta(lse))
        launch_rows(function, N, (*args, np.int64(ignore_index), dlogits, _n(N), _n(C)))
        return dlogits

    # -------------------------------------------------------------- attention
    def attention(
        self, q: NDArray, k: NDArray, v: NDArray, causal: bool, scale: float
    ) -> tuple[cupy.ndarray, cupy.ndarray]:
        B, H, Tq, D = q.shape
        Tk = k.shape[2]
        out, lse = (
            self._new(B * H * Tq * D, q.dtype),
            self._new(B * H * Tq, statistics_dtype(q.dtype)),
        )
        flags = (np.int32(causal), compute_dtype(q.dtype).type(scale))
        args = _qkv(self, q, k, v) + flags + (out, lse)
        head_size = attention_plan(Tk, D)
        if head_size is not None:
            sizes = _tiled_sizes(B, H, Tq, Tk, D)
            _attend_tiled("attention_tiled", q.dtype, head_size, B * H, Tq, args + sizes)
            return out, lse
        shared = _shared_bytes("attention", q.dtype, D + Tk)
        function = _kernel("attention.cu", q.dtype, "attention")
        _attend(function, B * H * Tq, args + _sizes(H, Tq, Tk, D), shared)
        return out, lse

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
    ) -> tuple[cupy.ndarray, cupy.ndarray, cupy.ndarray]:
        B, H, Tq, D = q.shape
        Tk = k.shape[2]
        flags = (np.int32(causal), compute_dtype(q.dtype).type(scale))
        sizes = _sizes(H, Tq, Tk, D)
        dq = self._new(B * H * Tq * D, q.dtype)
        dk, dv = self._new(B * H * Tk * D, q.dtype), self._new(B * H * Tk * D, q.dtype)
        delta = cupy.empty(B * H * Tq, compute_dtype(q.dtype))  # dout_i . out_i, per query
        head = (dout.buffer, self._meta(dout)) + _qkv(self, q, k, v)
        saved_lse = (lse.buffer, self._meta(lse))
        head_size = attention_plan(Tk, D)
        if head_size is not None:
            # part 1 (dq, delta) must finish before part 2 reads delta: same stream, in order
            tiled = _tiled_sizes(B, H, Tq, Tk, D)
            args = head + (out.buffer, self._meta(out)) + saved_lse + flags + (dq, delta)
            _attend_tiled(
                "attention_tiled_backward_dq", q.dtype, head_size, B * H, Tq, args + tiled
            )
            args = head + saved_lse + (delta,) + flags + (dk, dv)
            _attend_tiled(
                "attention_tiled_backward_dkdv", q.dtype, head_size, B * H, Tk, args + tiled
            )
            return dq, dk, dv
        # part 1 (dq, delta) must finish before part 2 reads delta: same stream, in order
        function = _kernel("attention.cu", q.dtype, "attention_backward_dq")
        args = head + (out.buffer, self._meta(out)) + saved_lse + flags + (dq, delta)
        _attend(function, B * H * Tq, args + sizes, _shared_bytes("attention", q.dtype, 2 * D + Tk))
        function = _kernel("attention.cu", q.dtype, "attention_backward_dkdv")
        args = head + saved_lse + (delta,) + flags + (dk, dv)
        shared = _shared_bytes("attention_backward", q.dtype, 2 * D + 2 * Tq)
        _attend(function, B * H * Tk, args + sizes, shared)
        return dq, dk, dv

    # ------------------------------------------------------------------- gelu
    def gelu(self, x: NDArray, approximate: str) -> cupy.ndarray:
        n = prod(x.shape)
        out = self._new(n, x.dtype)
        function = kernel(sources.gelu_source(x.dtype.name, approximate), "gelu")
        launch(function, n, (x.buffer, self._meta(x), out, _n(n)))
        return out

    def gelu_backward(self, dy: NDArray, x: NDArray, approximate: str) -> cupy.ndarray:
        n = prod(x.shape)
        dx = self._new(n, x.dtype)
        function = kernel(sources.gelu_source(x.dtype.name, approximate), "gelu_backward")
        launch(function, n, (dy.buffer, self._meta(dy), x.buffer, self._meta(x), dx, _n(n)))
        return dx

    # ------------------------------------------------------------------ adamw
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
        n = prod(param.shape)
        if n == 0:
            return
        # the step's scalars in double here, each rounded once to the kernel's compute type
        a = compute_dtype(param.dtype).type
        step_size = lr / (1.0 - beta1**step)
        bias2_sqrt = math.sqrt(1.0 - beta2**step)
        scalars = (1.0 - lr * weight_decay, beta1, 1.0 - beta1, beta2, 1.0 - beta2, eps)
        scalars = tuple(a(value) for value in (*scalars, step_size, bias2_sqrt))
        p, m, v = _dense(param), _dense(exp_avg), _dense(exp_avg_sq)
        function = kernel(sources.adamw_source(param.dtype.name), "adamw")
        launch(function, n, (p, grad.buffer, self._meta(grad), m, v, *scalars, _n(n)))


def _row_chunks(rows: int) -> int:
    """How many chunks of rows layer norm's dweight/dbias stage 1 splits `rows` into."""
    return max(1, min(MAX_CHUNKS, -(-rows // ROWS_PER_CHUNK)))


def _dense(x: NDArray) -> cupy.ndarray:
    """The buffer of contiguous `x` from its first element on: the kernel indexes it by i."""
    if not x.is_contiguous():
        raise BackendError(
            f"cuda adamw: param, exp_avg and exp_avg_sq must be contiguous; got shape "
            f"{x.shape} with strides {x.strides} (core takes its composed path for those)"
        )
    # a CuPy slice is the same memory, its pointer advanced by offset * itemsize
    return x.buffer[x.offset :]


def _n(value: int) -> np.int64:
    return np.int64(value)


def _qkv(backend, q: NDArray, k: NDArray, v: NDArray) -> tuple:
    meta = backend._meta
    return (q.buffer, meta(q), k.buffer, meta(k), v.buffer, meta(v))


def _sizes(H: int, Tq: int, Tk: int, D: int) -> tuple:
    return (_n(H), _n(Tq), _n(Tk), _n(D))


def _shared_bytes(op: str, dtype, words: int) -> int:
    """Shared memory for `words` values of the compute type, or a BackendError."""
    size = words * compute_dtype(dtype).itemsize
    if size > SHARED_LIMIT:
        raise BackendError(
            f"cuda {op}: a row of {words} {dtype.name} scores needs {size} bytes of shared "
            f"memory, more than {SHARED_LIMIT}; use a shorter block_size"
        )
    return size


def _attend(function, blocks: int, args: tuple, shared: int) -> None:
    if blocks > 0:
        function((blocks,), (ATTENTION_THREADS,), args, shared_mem=shared)


# ------------------------------------------------------------------------- tiled attention
def attention_plan(Tk: int, D: int) -> int | None:
    """The one place attention picks its kernels: the head size attention_tiled.cu is
    compiled for that covers D (the smallest), or None for attention.cu's row kernels.

    The tiled kernels take any Tq and Tk and 1 <= D <= 128; the row kernels take the rest
    (larger D, D = 0, and no keys at all), with Tk bounded by their shared memory.

    >>> attention_plan(1024, 64), attention_plan(1024, 80), attention_plan(1024, 256)
    (64, 128, None)
    """
    if Tk == 0 or D == 0:
        return None
    for head_size in sources.ATTENTION_HEAD_SIZES:
        if D <= head_size:
            return head_size
    return None


def _tiled_sizes(B: int, H: int, Tq: int, Tk: int, D: int) -> tuple:
    return (_n(B), _n(H), _n(Tq), _n(Tk), _n(D))


def tiled_shared_words(dtype, head_size: int, kernel_name: str) -> int:
    """Shared memory of an attention_tiled.cu block, in compute-type words: two streamed
    tiles of (tile, head_size), and for dk/dv a tile's lse and delta.

    >>> from tinygpt.dtypes import DTYPES
    >>> tiled_shared_words(DTYPES["float32"], 128, "attention_tiled") * 4  # bytes
    32768
    """
    _, tile = sources.ATTENTION_TILES[sources.compute_type(dtype.name)]
    extra = 2 * tile if kernel_name.endswith("_dkdv") else 0
    return 2 * tile * head_size + extra


def _attend_tiled(kernel_name: str, dtype, head_size: int, heads: int, T: int, args: tuple) -> None:
    """Launch attention_tiled.cu's `kernel_name`: one block per (batch x head, tile of T
    rows), ROWS x GROUP threads; past MAX_BLOCKS blocks the kernels loop."""
    source = sources.fused_source("attention_tiled.cu", dtype.name, head_size=head_size)
    function = kernel(source, kernel_name)
    shared = _shared_bytes(kernel_name, dtype, tiled_shared_words(dtype, head_size, kernel_name))
    rows, _ = sources.ATTENTION_TILES[sources.compute_type(dtype.name)]
    blocks = heads * (-(-T // rows))
    if blocks > 0:
        threads = (rows * sources.ATTENTION_GROUP,)
        function((min(blocks, MAX_BLOCKS),), threads, args, shared_mem=shared)
