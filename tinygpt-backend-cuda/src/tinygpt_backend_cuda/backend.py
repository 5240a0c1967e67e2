"""`CudaBackend`: the backend protocol on NVIDIA GPUs, with CuPy arrays as buffers.

Buffers are 1-D CuPy arrays from CuPy's memory pool. Every kernel except matmul is our own
CUDA C (``kernels/*.cu``, rendered per dtype by `sources`, compiled once per process by
CuPy's RawModule and cached on disk by CuPy). Matmul goes to cuBLAS through `cupy.matmul`;
`matmul_reference` runs the readable tiled kernel that checks it.

Host <-> device copies happen only in `from_host` and `to_host` (and once per distinct view
layout, to upload its small meta array: see `views.py`).

NOTE: nothing here has run on a GPU yet; CI compile-checks every kernel (see README.md).
"""

from __future__ import annotations

import functools
import os

import cupy
import numpy as np

from tinygpt import philox
from tinygpt.backend.protocol import Backend
from tinygpt.device import Device
from tinygpt.dtypes import DTYPES, DType
from tinygpt.errors import BackendError
from tinygpt.ndarray import NDArray, prod

from . import sources
from .errors import DeviceErrors
from .fused import FusedKernels
from .launch import kernel, launch, launch_rows
from .views import MetaCache, as_cupy, numpy_dtype, scalar

__all__ = ["CudaBackend", "tf32_enabled"]

_DIST_CODES = {"uniform": 0, "normal": 1, "bernoulli": 2}


def tf32_enabled() -> bool:
    """TINYGPT_CUDA_TF32=1 lets cuBLAS use TF32 tensor cores for float32 matmuls: about
    8x the throughput on Ampere and later, with a 10-bit mantissa in the products. Off by
    default, as in PyTorch, so results match the numpy reference to float32 tolerance.

    The one place this environment variable is read.
    """
    return os.environ.get("TINYGPT_CUDA_TF32", "0") == "1"


def enable_tf32() -> None:
    """Let cuBLAS run float32 matmuls on TF32 tensor cores (CuPy's one switch for it).

    CuPy keeps one compute type per dtype: `set_compute_type(dtype, compute_type)`.
    """
    from cupy._core import _routines_linalg as linalg  # noqa: PLC0415 - private CuPy module

    linalg.set_compute_type(np.float32, linalg.COMPUTE_TYPE_TF32)


class CudaBackend(FusedKernels, Backend):
    """Kernels written in CUDA C, launched through CuPy; one instance per GPU."""

    name = "cuda"
    dtypes = frozenset(
        DTYPES[name] for name in ("bool", "int32", "int64", "float16", "float32", "float64")
    )
    fused_ops = frozenset({"softmax", "cross_entropy", "layer_norm", "attention", "gelu", "adamw"})

    def __init__(self, device: Device | None = None) -> None:
        self.device = device if device is not None else Device("cuda")
        self._gpu = cupy.cuda.Device(self.device.index)
        self._meta = MetaCache()
        self._errors = DeviceErrors(self._new)
        # tg.cuda.memory_allocated and friends: CuPy's pool counts the bytes, the peaks are
        # taken at each allocation (one counter read; there is no other time they can grow)
        self._pool = cupy.get_default_memory_pool()
        self._peaks = {"allocated": 0, "reserved": 0}
        if tf32_enabled():
            enable_tf32()
        if self.device.index != 0:
            # subtle: CuPy allocates and launches on the *current* device; make every
            # protocol method switch to ours first (cuda:0 is current unless told otherwise).
            for name in _PROTOCOL_METHODS:
                setattr(self, name, _on_gpu(getattr(self, name), self._gpu))

    # ------------------------------------------------------------------ buffers
    def _new(self, size: int, dtype: DType) -> cupy.ndarray:
        out = cupy.empty(size, numpy_dtype(dtype))
        used = self._pool.used_bytes()
        if used > self._peaks["allocated"]:
            self._peaks["allocated"] = used
        return out

    # ------------------------------------------------------ memory (tg.cuda.*)
    def memory_stats(self) -> dict[str, int]:
        """Bytes held by tensors and taken from the driver, now and at their peaks."""
        reserved = self._pool.total_bytes()
        self._peaks["reserved"] = max(self._peaks["reserved"], reserved)
        return {
            "allocated": self._pool.used_bytes(),
            "reserved": reserved,
            "peak_allocated": self._peaks["allocated"],
            "peak_reserved": self._peaks["reserved"],
        }

    def reset_peak_memory_stats(self) -> None:
        self._peaks = {"allocated": self._pool.used_bytes(), "reserved": self._pool.total_bytes()}

    def empty_cache(self) -> None:
        """Give the pool's free blocks back to the driver (tensors keep theirs)."""
        self._pool.free_all_blocks()

    def device_name(self) -> str:
        props = cupy.cuda.runtime.getDeviceProperties(self.device.index)
        name = props["name"]
        return name.decode() if isinstance(name, bytes) else str(name)

    def empty(self, size: int, dtype: DType) -> cupy.ndarray:
        return self._new(size, dtype)

    def full(self, size: int, dtype: DType, value: bool | int | float) -> cupy.ndarray:
        return cupy.full(size, numpy_dtype(dtype).type(value), numpy_dtype(dtype))

    def from_host(self, data: memoryview, dtype: DType) -> cupy.ndarray:
        return cupy.asarray(np.frombuffer(data, numpy_dtype(dtype)))  # a host-to-device copy

    def to_host(self, x: NDArray) -> np.ndarray:
        host = cupy.asnumpy(self.copy(x))  # compact on the device, then one copy out
        self._errors.raise_pending()  # the device is idle up to here: report what it found
        return host

    def synchronize(self) -> None:
        self._gpu.synchronize()
        self._errors.raise_pending()

    def export_buffer(self, buffer: cupy.ndarray) -> cupy.ndarray:
        return buffer  # NCCL takes its device pointer; never handed to (host-only) MPI

    def native_stream(self) -> int:
        # every kernel goes to CuPy's current stream (the legacy default stream, 0, unless
        # the caller made another one current)
        return int(cupy.cuda.get_current_stream().ptr)

    # ----------------------------------------------------------- strided memory
    def copy(self, x: NDArray) -> cupy.ndarray:
        return self.cast(x, x.dtype)

    def setitem(self, dst: NDArray, src: NDArray) -> None:
        if src.buffer is dst.buffer:
            # they may overlap: read all of src before writing any of dst
            src = NDArray(self, self.copy(src), src.shape, src.dtype)
        function = kernel(sources.setitem_source(dst.dtype.name), "setitem")
        n = prod(dst.shape)
        launch(function, n, (dst.buffer, self._meta(dst), src.buffer, self._meta(src), _n(n)))

    def fill(self, dst: NDArray, value: bool | int | float) -> None:
        function = kernel(sources.setitem_source(dst.dtype.name), "fill")
        n = prod(dst.shape)
        args = (dst.buffer, self._meta(dst), scalar(value, dst.dtype), _n(n))
        launch(function, n, args)

    def cast(self, x: NDArray, dtype: DType) -> cupy.ndarray:
        source = sources.cast_source(x.dtype.name, dtype.name)
        return self._map(kernel(source, "unary"), x, dtype)

    def _map(self, function, x: NDArray, dtype: DType) -> cupy.ndarray:
        """Run a unary-shaped kernel (x, xm, out, n) into a new dense buffer of `dtype`."""
        n = prod(x.shape)
        out = self._new(n, dtype)
        launch(function, n, (x.buffer, self._meta(x), out, _n(n)))
        return out

    # ---------------------------------------------------------------- elementwise
    def unary(self, op: str, x: NDArray) -> cupy.ndarray:
        return self._map(kernel(sources.unary_source(op, x.dtype.name), "unary"), x, x.dtype)

    def binary(self, op: str, a: NDArray, b: NDArray) -> cupy.ndarray:
        function = kernel(sources.binary_source(op, a.dtype.name), "binary")
        n = prod(a.shape)
        out = self._new(n, _result_dtype(op, a.dtype))
        args = (a.buffer, self._meta(a), b.buffer, self._meta(b), out, _n(n))
        launch(function, n, args)
        return out

    def binary_scalar(
        self, op: str, a: NDArray, value: bool | int | float, reflected: bool
    ) -> cupy.ndarray:
        function = kernel(sources.scalar_source(op, a.dtype.name, reflected), "scalar")
        n = prod(a.shape)
        out = self._new(n, _result_dtype(op, a.dtype))
        launch(function, n, (a.buffer, self._meta(a), scalar(value, a.dtype), out, _n(n)))
        return out

    def where(self, cond: NDArray, a: NDArray, b: NDArray) -> cupy.ndarray:
        function = kernel(sources.where_source(a.dtype.name), "where")
        n = prod(a.shape)
        out = self._new(n, a.dtype)
        metas = (self._meta(cond), self._meta(a), self._meta(b))
        args = (cond.buffer, metas[0], a.buffer, metas[1], b.buffer, metas[2], out, _n(n))
        launch(function, n, args)
        return out

    # ----------------------------------------------------------------- reductions
    def reduce(self, op: str, x: NDArray, axes: tuple[int, ...]) -> cupy.ndarray:
        # the reduced axes last: each output element is one row of the permuted view
        kept = tuple(d for d in range(len(x.shape)) if d not in axes)
        view = x.permute(kept + axes)
        k = prod(tuple(x.shape[d] for d in axes))
        rows = prod(tuple(x.shape[d] for d in kept))
        out = self._new(rows, x.dtype)
        function = kernel(sources.reduce_source(op, x.dtype.name), "reduce")
        launch_rows(function, rows, (view.buffer, self._meta(view), out, _n(rows), _n(k)))
        return out

    def arg_reduce(self, op: str, x: NDArray, axis: int) -> cupy.ndarray:
        kept = tuple(d for d in range(len(x.shape)) if d != axis)
        view = x.permute(kept + (axis,))
        k = x.shape[axis]
        rows = prod(tuple(x.shape[d] for d in kept))
        out = cupy.empty(rows, np.int64)
        function = kernel(sources.arg_reduce_source(op, x.dtype.name), "arg_reduce")
        launch_rows(function, rows, (view.buffer, self._meta(view), out, _n(rows), _n(k)))
        return out

    # --------------------------------------------------------------------- matmul
    def matmul(self, a: NDArray, b: NDArray) -> cupy.ndarray:
        # cuBLAS reads a transposed operand directly (as a "T" op), so `x @ w.T` is no copy;
        # CuPy compacts only layouts cuBLAS cannot express (e.g. a stride-0 batch).
        av, bv = as_cupy(a), as_cupy(b)
        if a.dtype.name == "bool":
            product = cupy.matmul(av.astype(np.int32), bv.astype(np.int32)) != 0
        else:
            product = cupy.matmul(av, bv)
        return cupy.ascontiguousarray(product).reshape(-1)

    def matmul_reference(self, a: NDArray, b: NDArray) -> cupy.ndarray:
        """The same product with the tiled shared-memory kernel (kernels/matmul_tiled.cu)."""
        *batch, m, k = a.shape
        n = b.shape[-1]
        batches = prod(tuple(batch))
        if batches > 65535:
            raise BackendError(f"matmul_reference: {batches} batches; at most 65535")
        out = self._new(batches * m * n, a.dtype)
        if out.size == 0:
            return out
        function = kernel(sources.matmul_tiled_source(a.dtype.name), "matmul_tiled")
        grid = ((n + 15) // 16, (m + 15) // 16, batches)
        args = (a.buffer, self._meta(a), b.buffer, self._meta(b), out, _n(m), _n(k), _n(n))
        function(grid, (16, 16), args)
        return out

    # ----------------------------------------------------------------- indexing
    def gather(self, x: NDArray, axis: int, index: NDArray) -> cupy.ndarray:
        outer, size, inner = _around(x.shape, axis)
        count = prod(index.shape)
        n = outer * count * inner
        out = self._new(n, x.dtype)
        function = kernel(sources.index_source(x.dtype.name), "gather")
        metas = (self._meta(x), self._meta(index))
        self._errors.check("gather", index.buffer, metas[1], count, size)
        args = (x.buffer, metas[0], index.buffer, metas[1], out, _n(count), _n(size))
        launch(function, n, (*args, _n(inner), _n(n)))
        return out

    def argsort(self, x: NDArray, axis: int, descending: bool) -> cupy.ndarray:
        outer, k, inner = _around(x.shape, axis)
        n = outer * k * inner
        out = self._new(n, DTYPES["int64"])
        if n == 0:
            return out
        function = kernel(sources.sort_source(x.dtype.name), "argsort")
        args = (x.buffer, self._meta(x), out, _n(k), _n(inner), _n(int(descending)), _n(n))
        launch(function, n, args)
        return out

    def scatter_add(self, dst: NDArray, axis: int, index: NDArray, src: NDArray) -> None:
        outer, size, inner = _around(dst.shape, axis)
        count = prod(index.shape)
        n = prod(src.shape)
        function = kernel(sources.index_source(dst.dtype.name), "scatter_add")
        metas = (self._meta(dst), self._meta(index), self._meta(src))
        self._errors.check("scatter_add", index.buffer, metas[1], count, size)
        args = (dst.buffer, metas[0], index.buffer, metas[1], src.buffer, metas[2])
        flag = self._errors.flag
        launch(function, n, (*args, _n(count), _n(size), _n(inner), flag, _n(n)))

    # ------------------------------------------------------------------- random
    def random(
        self, dist: str, size: int, dtype: DType, seed: int, a: float, b: float, counter: int = 0
    ) -> cupy.ndarray:
        out = self._new(size, dtype)
        cap = np.float64(np.inf)
        if dist == "uniform" and dtype.kind == "f" and b > a:
            # the largest value of `dtype` below b: rounding must not reach b itself
            cap = np.float64(philox.largest_below(b, dtype.name))
        function = kernel(sources.random_source(dtype.name), "random")
        code = np.int32(_DIST_CODES[dist])
        args = (out, _n(size), *_key_and_counter(seed, counter), code, np.float64(a))
        launch(function, (size + 1) // 2, (*args, np.float64(b), cap))
        return out

    def random_bits(self, seed: int, counter: int, size: int) -> cupy.ndarray:
        out = self._new(size, DTYPES["int64"])
        function = kernel(sources.random_source("int64"), "random_bits")
        launch(function, (size + 3) // 4, (out, _n(size), *_key_and_counter(seed, counter)))
        return out


# -------------------------------------------------------------------------- helpers
def _key_and_counter(seed: int, counter: int) -> tuple[np.uint64, np.uint64, np.uint64]:
    """The Philox key (seed mod 2**64) and the 128-bit counter's low and high halves."""
    counter %= 2**128
    return np.uint64(seed % 2**64), np.uint64(counter % 2**64), np.uint64(counter >> 64)


def _n(value: int) -> np.int64:
    """A size argument, as the kernels' 64-bit `i64`."""
    return np.int64(value)


def _result_dtype(op: str, dtype: DType) -> DType:
    return DTYPES["bool"] if op in {"eq", "ne", "lt", "le", "gt", "ge"} else dtype


def _around(shape: tuple[int, ...], axis: int) -> tuple[int, int, int]:
    """(elements before `axis`, its size, elements after it)."""
    return prod(shape[:axis]), shape[axis], prod(shape[axis + 1 :])


def _on_gpu(method, gpu: cupy.cuda.Device):
    @functools.wraps(method)
    def pinned(*args, **kwargs):
        with gpu:
            return method(*args, **kwargs)

    return pinned


_PROTOCOL_METHODS = [
    name
    for name, value in vars(Backend).items()
    if callable(value) and not name.startswith("_") and name != "synchronize"
] + ["matmul_reference"]
