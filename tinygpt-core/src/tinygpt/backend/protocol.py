"""The backend protocol: everything a device must implement for tinygpt to run on it.

Read this file top to bottom to write a backend. The numpy backend
(`tinygpt_backend_numpy.backend`) is the living reference: each method there is a few lines.

Vocabulary
----------
Buffer
    An opaque, flat, 1-D block of elements of one dtype that the backend owns (a NumPy array,
    a CuPy array, a Cython object, ...). Core never looks inside; it only hands buffers back.
View (an `NDArray`)
    ``buffer`` + ``shape`` + ``strides`` + ``offset`` + ``dtype``, strides and offset counted
    in *elements*. Element ``(i0, i1, ...)`` lives at ``buffer[offset + i0*s0 + i1*s1 + ...]``.
    Strides may be 0 (a broadcast) or negative (a reversed slice); views may overlap.
    Every kernel input is a view, so a transposed or broadcast operand is read in place:
    never copy it first just to feed a kernel. (Or set `Backend.dense_inputs`, and core
    compacts views for the compute kernels: simpler kernels, at the cost of the copies.)
Output
    Every method that returns a Buffer returns a *new, dense, C-contiguous* buffer holding the
    result in row-major order of the output shape. It must never alias an input.

Dtypes
------
Core promotes before calling: the inputs of a binary op, `where` and `matmul` share one dtype,
and that dtype is in `self.dtypes`. Comparisons return bool. Core never calls a kernel with a
dtype the backend did not list; it raises a DTypeError naming the backend instead.

Errors
------
Core validates shapes, dtypes and devices before it calls a kernel, so a kernel may assume its
arguments are consistent. A kernel that cannot do something raises `BackendError`.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any

from ..host import argsort_on_host

if TYPE_CHECKING:
    from ..device import Device
    from ..dtypes import DType
    from ..ndarray import NDArray

__all__ = [
    "Backend",
    "Buffer",
    "UNARY_OPS",
    "BINARY_OPS",
    "COMPARISON_OPS",
    "REDUCE_OPS",
    "ARG_REDUCE_OPS",
    "RANDOM_DISTRIBUTIONS",
    "FUSED_OPS",
]

Buffer = Any

#: A -> A, same dtype. `logical_not` is for bool; `sign` and `abs` for every numeric dtype;
#: the rest for floating dtypes only.
UNARY_OPS = frozenset(
    {
        "neg",
        "exp",
        "log",
        "sqrt",
        "abs",
        "sign",
        "sin",
        "cos",
        "tanh",
        "sigmoid",
        "erf",
        "logical_not",
    }
)
#: A, A -> A, same dtype. `div` is true division (core only sends floating dtypes);
#: `logical_and` / `logical_or` take bool.
BINARY_OPS = frozenset(
    {"add", "sub", "mul", "div", "pow", "maximum", "minimum", "logical_and", "logical_or"}
)
#: A, A -> bool.
COMPARISON_OPS = frozenset({"eq", "ne", "lt", "le", "gt", "ge"})
#: A -> reduced A, same dtype (core casts bool/int to int64 before `sum`).
REDUCE_OPS = frozenset({"sum", "max", "min"})
#: A -> reduced int64 along one axis; ties resolve to the first index, as in NumPy.
ARG_REDUCE_OPS = frozenset({"argmax", "argmin"})
#: uniform(low, high), normal(mean, std), bernoulli(p) -> 0/1 in the requested dtype.
RANDOM_DISTRIBUTIONS = frozenset({"uniform", "normal", "bernoulli"})
#: Optional kernels a backend may list in `Backend.fused_ops`; core falls back to a
#: composition of the required ops for any it does not list.
FUSED_OPS = frozenset(
    {"softmax", "layer_norm", "cross_entropy", "attention", "gelu", "adamw", "topk"}
)
#: the `approximate` values of the fused gelu: x * Phi(x) with erf, or GPT-2's tanh form
GELU_APPROXIMATIONS = frozenset({"none", "tanh"})


class Backend(abc.ABC):
    """One device's kernels. Instances are made by the factory a plugin registers."""

    #: the backend name used in device strings ("numpy", "cpu", "cuda", ...)
    name: str = ""
    #: the device this instance runs on (set by the constructor)
    device: Device
    #: dtypes this backend stores and computes in
    dtypes: frozenset[DType] = frozenset()
    #: names from FUSED_OPS that this backend implements
    fused_ops: frozenset[str] = frozenset()
    #: Dense-inputs mode (`tinygpt.backend.dense`): when True, core compacts views first, so
    #: every NDArray argument of the compute methods (cast, unary, binary, binary_scalar, where,
    #: reduce, arg_reduce, matmul, gather, scatter_add, every fused op) is dense: offset 0 and
    #: C-contiguous, its elements exactly ``x.buffer[0:x.size]`` in row-major order (the buffer
    #: may be longer); a broadcast arrives expanded. In-place arguments (scatter_add's dst,
    #: adamw's param and state) too: core passes a dense copy and writes it back if need be.
    #: copy, setitem, fill and to_host still take any view.
    dense_inputs: bool = False

    # ------------------------------------------------------------------ buffers
    @abc.abstractmethod
    def empty(self, size: int, dtype: DType) -> Buffer:
        """A new buffer of `size` elements with undefined contents. `size` may be 0."""

    @abc.abstractmethod
    def full(self, size: int, dtype: DType, value: bool | int | float) -> Buffer:
        """A new buffer of `size` elements, each `value` converted to `dtype`."""

    @abc.abstractmethod
    def from_host(self, data: memoryview, dtype: DType) -> Buffer:
        """Copy host memory in: `data` is a memoryview of raw bytes (format "B"), holding
        `len(data) // dtype.itemsize` elements of `dtype`, native byte order, row-major.

        The result must not alias `data` (the caller may reuse its memory).
        """

    @abc.abstractmethod
    def to_host(self, x: NDArray) -> memoryview:
        """Copy the view `x` out to host memory, dense and row-major, `x.size` elements.

        Return any object with the buffer protocol (bytes, memoryview, a NumPy array).
        The result must not alias device memory that a later kernel could overwrite.
        """

    def synchronize(self) -> None:  # noqa: B027 - optional, no-op for synchronous backends
        """Wait until every kernel queued so far has finished (used by timers)."""

    # ------------------------------------------ communication (tinygpt.distributed)
    def export_buffer(self, buffer: Buffer) -> Any:
        """(Optional) `buffer`'s own memory (aliased) for MPI/NCCL to write in place: a
        writable buffer-protocol object, or a CuPy array for device memory. The default
        raises NotImplementedError and core copies through `to_host` / `from_host`."""
        raise NotImplementedError(f"{self.name}: no export_buffer")

    def native_stream(self) -> int | None:
        """(Optional) the CUDA stream the kernels go to (NCCL queues after them); None when
        kernels finish before they return."""
        return None

    # ----------------------------------------------------------- strided memory
    @abc.abstractmethod
    def copy(self, x: NDArray) -> Buffer:
        """Compact: a dense buffer holding the elements of view `x` in row-major order."""

    @abc.abstractmethod
    def setitem(self, dst: NDArray, src: NDArray) -> None:
        """Write view `src` into view `dst` in place; the shapes are equal, dtypes equal.

        `src` may be a broadcast view (stride 0) and may overlap `dst` (read it all first
        when it does). `dst` never has stride 0 on a dimension of size > 1.
        """

    @abc.abstractmethod
    def fill(self, dst: NDArray, value: bool | int | float) -> None:
        """Set every element of view `dst` to `value`, in place."""

    @abc.abstractmethod
    def cast(self, x: NDArray, dtype: DType) -> Buffer:
        """Convert view `x` to `dtype` (C semantics: float -> int truncates toward zero)."""

    # ---------------------------------------------------------------- elementwise
    @abc.abstractmethod
    def unary(self, op: str, x: NDArray) -> Buffer:
        """`op` (from UNARY_OPS) applied to every element of view `x`.  A -> A."""

    @abc.abstractmethod
    def binary(self, op: str, a: NDArray, b: NDArray) -> Buffer:
        """`a op b` elementwise; `op` from BINARY_OPS or COMPARISON_OPS.  A, A -> A.

        `a` and `b` have the same shape (core broadcast them with stride-0 views) and dtype.
        """

    @abc.abstractmethod
    def binary_scalar(
        self, op: str, a: NDArray, value: bool | int | float, reflected: bool
    ) -> Buffer:
        """`a op value` (or `value op a` when `reflected`), with a Python scalar.

        The scalar is converted to `a.dtype` first; the result has `a.dtype`
        (bool for a comparison).
        """

    @abc.abstractmethod
    def where(self, cond: NDArray, a: NDArray, b: NDArray) -> Buffer:
        """`a` where `cond` is true, else `b`. Same shapes; `cond` is bool; a, b share a dtype."""

    # ----------------------------------------------------------------- reductions
    @abc.abstractmethod
    def reduce(self, op: str, x: NDArray, axes: tuple[int, ...]) -> Buffer:
        """Reduce view `x` over `axes` (sorted, non-negative, non-empty) with `op`.

        A -> reduced A: the output shape is `x.shape` without `axes`. Core never asks
        for max/min over an empty axis. Read `x` in place whatever its strides.
        """

    @abc.abstractmethod
    def arg_reduce(self, op: str, x: NDArray, axis: int) -> Buffer:
        """Index of the max/min along `axis`. A -> int64 with `axis` removed."""

    # --------------------------------------------------------------------- matmul
    @abc.abstractmethod
    def matmul(self, a: NDArray, b: NDArray) -> Buffer:
        """Batched matrix product: (..., M, K) @ (..., K, N) -> (..., M, N).

        Both have the same rank >= 2 and the same batch shape (core broadcast the batch
        dims, maybe with stride 0). Either operand may be transposed (`x @ w.T` arrives
        as a view with swapped strides): read it as it is, do not copy it.
        """

    # ----------------------------------------------------------------- indexing
    @abc.abstractmethod
    def gather(self, x: NDArray, axis: int, index: NDArray) -> Buffer:
        """Pick along `axis`: out[..., j..., :] = x[..., index[j...], :].

        `index` is int64; core has wrapped negative indices, but does not check the range
        (that would read the index back to the host): raise IndexError naming the op, the bad
        value and the size for any index outside [0, x.shape[axis]), before reading. The
        output shape is `x.shape[:axis] + index.shape + x.shape[axis+1:]`.
        """

    @abc.abstractmethod
    def scatter_add(self, dst: NDArray, axis: int, index: NDArray, src: NDArray) -> None:
        """The adjoint of `gather`, in place: dst[..., index[j...], :] += src[..., j..., :].

        `dst` is dense; repeated indices accumulate (they must not overwrite each other).
        An index outside [0, dst.shape[axis]) raises IndexError before anything is written.
        """

    # ------------------------------------------------------------------ sorting
    def argsort(self, x: NDArray, axis: int, descending: bool) -> Buffer:
        """The stable sorting permutation of view `x` along `axis`.  A -> int64, same shape.

        out[..., j, ...] is the position along `axis` of the j-th smallest element (largest
        when `descending`). Equal elements keep their order in both directions, and nan counts
        as larger than every number (last ascending, first descending), as in PyTorch.
        `axis` is non-negative and x has at least one dim. Not abstract: this default sorts
        on the host (one round trip through `to_host`/`from_host`); override it with a kernel.
        """
        return argsort_on_host(self, x, axis, descending)

    # ------------------------------------------------------------------- random
    @abc.abstractmethod
    def random(
        self, dist: str, size: int, dtype: DType, seed: int, a: float, b: float, counter: int = 0
    ) -> Buffer:
        """`size` samples of `dist` (RANDOM_DISTRIBUTIONS) with parameters `a`, `b`.

        uniform: [a, b); normal: mean a, std b; bernoulli: 1 with probability a, else 0.
        Exactly the numbers `tinygpt.philox` specifies for key `seed` (64-bit) and first
        block `counter` (128-bit), bit for bit: every backend gives the same numbers for a
        seed. `tinygpt.philox.reference_samples` is the reference; the kit compares with it.
        """

    def random_bits(self, seed: int, counter: int, size: int) -> Buffer:
        """`size` raw Philox4x32-10 words as int64 (each in [0, 2**32)): word i is word
        i % 4 of the block at counter + i // 4 under key `seed` (see `tinygpt.philox`).

        Core never calls it: the kit checks a backend's generator with it against the
        published known answers, apart from the arithmetic that turns bits into samples.
        """
        raise NotImplementedError(f"{self.name}: no random_bits")

    # ------------------------------------------------- optional fused kernels
    def softmax(self, x: NDArray, axis: int, log: bool) -> Buffer:
        """(Fused, optional) softmax or log-softmax of view `x` along `axis`.  A -> A.

        List "softmax" in `fused_ops` to have core call it.
        """
        raise NotImplementedError(f"{self.name}: no fused softmax")

    def layer_norm(
        self, x: NDArray, weight: NDArray | None, bias: NDArray | None, eps: float
    ) -> tuple[Buffer, Buffer, Buffer]:
        """(Fused, optional) layer norm over the last axis of `x` (..., C).

        Returns (y (..., C), mean (...,), rstd (...,)); y of x.dtype, the statistics of
        `dtypes.statistics_dtype(x.dtype)` (float32 for float16 x, else x.dtype); weight and
        bias have shape (C,). Empty x: no rows gives empty outputs; C = 0 gives an empty y
        and nan statistics (0 / 0).
        Pair with `layer_norm_backward`; list "layer_norm" in `fused_ops`.
        """
        raise NotImplementedError(f"{self.name}: no fused layer_norm")

    def layer_norm_backward(
        self, dy: NDArray, x: NDArray, weight: NDArray | None, mean: NDArray, rstd: NDArray
    ) -> tuple[Buffer, Buffer | None, Buffer | None]:
        """(Fused, optional) gradients (dx, dweight, dbias) of `layer_norm`.

        dx of x.dtype, dweight and dbias (C,) of x.dtype; `mean` and `rstd` are what
        `layer_norm` returned (float32 for float16 x). dweight is None when weight is None;
        dbias is always returned. With no rows, dweight and dbias are zeros.
        """
        raise NotImplementedError(f"{self.name}: no fused layer_norm_backward")

    def cross_entropy(
        self, logits: NDArray, targets: NDArray, ignore_index: int
    ) -> tuple[Buffer, Buffer]:
        """(Fused, optional) per-row loss of logits (N, C) against int64 targets (N,).

        Returns (loss (N,) of logits.dtype, logsumexp (N,) of
        `dtypes.statistics_dtype(logits.dtype)`: float32 for float16 logits, whose gradient
        needs its low bits); rows whose target is `ignore_index` get loss 0. A target outside
        [0, C) that is not `ignore_index` raises IndexError naming the row (so does the
        backward), never reads out of bounds. N = 0 gives empty outputs; C = 0 (every target
        ignored) gives loss 0 and logsumexp -inf.
        Pair with `cross_entropy_backward`; list "cross_entropy" in `fused_ops`.
        """
        raise NotImplementedError(f"{self.name}: no fused cross_entropy")

    def cross_entropy_backward(
        self, dloss: NDArray, logits: NDArray, targets: NDArray, lse: NDArray, ignore_index: int
    ) -> Buffer:
        """(Fused, optional) d logits (N, C) = dloss * (softmax(logits) - onehot(targets)).

        Of logits.dtype; `lse` is the logsumexp `cross_entropy` returned (float32 for
        float16 logits). Ignored rows get 0.
        """
        raise NotImplementedError(f"{self.name}: no fused cross_entropy_backward")

    def attention(
        self, q: NDArray, k: NDArray, v: NDArray, causal: bool, scale: float
    ) -> tuple[Buffer, Buffer]:
        """(Fused, optional) softmax(q @ k^T * scale [+ causal mask]) @ v.

        q (B, H, Tq, D), k and v (B, H, Tk, D) -> (out (B, H, Tq, D), logsumexp (B, H, Tq)),
        out of q.dtype, lse of `dtypes.statistics_dtype(q.dtype)` (float32 for float16 q).
        With `causal` and Tq < Tk the mask is bottom-right aligned: query i sits at position
        Tk - Tq + i (the KV-cache case). A query that sees no key (Tk = 0, or causal with
        Tq > Tk) gets out 0 and lse -inf (as PyTorch's sdpa for a fully masked row) and no
        gradient; D = 0 gives an empty out and lse = log(visible keys).
        Pair with `attention_backward`; list "attention" in `fused_ops`.
        """
        raise NotImplementedError(f"{self.name}: no fused attention")

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
        """(Fused, optional) gradients (dq, dk, dv) of `attention`, of q.dtype.

        `out` and `lse` are what `attention` returned (lse float32 for float16 q). A
        gradient with nothing to sum (Tq, Tk or D is 0) is zeros of its shape.
        """
        raise NotImplementedError(f"{self.name}: no fused attention_backward")

    def gelu(self, x: NDArray, approximate: str) -> Buffer:
        """(Fused, optional) GELU of view `x`.  A -> A (floating).

        approximate "none": x * Phi(x) = 0.5 x (1 + erf(x / sqrt(2)));
        approximate "tanh": 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).
        Pair with `gelu_backward`; list "gelu" in `fused_ops`.
        """
        raise NotImplementedError(f"{self.name}: no fused gelu")

    def gelu_backward(
        self, dy: NDArray, x: NDArray, approximate: str, y: NDArray | None = None
    ) -> Buffer:
        """(Fused, optional) dx = dy * gelu'(x); `dy` and `x` are views of one shape.

        `y`, when not None, is `gelu(x)` as this backend computed it (core passes it when the
        forward's output is still alive and unchanged): a backend may use it (Phi(x) =
        y / x for the exact form) or ignore it. Leave `y` out of the signature and core
        never passes it.
        """
        raise NotImplementedError(f"{self.name}: no fused gelu_backward")

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
        """(Fused, optional) one AdamW step, in place on `param`, `exp_avg` and `exp_avg_sq`.

        All four have one shape and floating dtype; core passes `param`, `exp_avg` and
        `exp_avg_sq` contiguous (`grad` may be any view). With t = `step` (from 1):

            param   *= 1 - lr * weight_decay
            exp_avg  = beta1 * exp_avg + (1 - beta1) * grad
            exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad * grad
            param   -= lr / (1 - beta1**t) * exp_avg / (sqrt(exp_avg_sq / (1 - beta2**t)) + eps)

        exactly PyTorch's AdamW (amsgrad off). Arithmetic in at least float32. List "adamw" in
        `fused_ops`; there is no backward.
        """
        raise NotImplementedError(f"{self.name}: no fused adamw")

    def topk(self, x: NDArray, axis: int, k: int, descending: bool) -> Buffer:
        """(Fused, optional) the first `k` positions of `argsort(x, axis, descending)`, in
        that order, without sorting the rest: int64, x's shape with `axis` of length k.
        Core calls it only for 0 < k <= n // 8. No backward (core gathers the values)."""
        raise NotImplementedError(f"{self.name}: no fused topk")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.device}>"
