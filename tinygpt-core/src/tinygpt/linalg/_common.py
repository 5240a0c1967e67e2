"""What every linalg file shares: `LinAlgError`, input checks, small matrix helpers, and
`TensorFunction`, the primitive whose forward and backward are written with tensor ops.

Shapes: a "matrix" argument is (..., m, n): any number of leading batch dims, then the rows and
the columns. Every helper here works on the whole batch at once.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

from .. import amp
from ..autograd.differentiable import formula
from ..autograd.function import Function, no_grad
from ..creation import eye
from ..dtypes import float32, float64
from ..errors import DTypeError, ShapeError, TinyGPTError
from ..ndarray import NDArray
from ..ops.extras_linalg import diagonal as _diagonal
from ..tensor import Tensor

__all__ = [
    "LinAlgError",
    "TensorFunction",
    "check_matrix",
    "check_square",
    "check_float",
    "check_same_dtype",
    "identity_like",
    "diag_embed",
    "diagonal_of",
    "mT",
    "raise_for_info",
]


class LinAlgError(TinyGPTError, RuntimeError):
    """A matrix the op cannot factor: singular (inv, solve) or not positive-definite
    (cholesky). As `torch.linalg.LinAlgError`, a RuntimeError subclass."""


def check_float(op: str, x: Tensor) -> None:
    """linalg computes in float32 or float64 only (as PyTorch on the CPU)."""
    if x.dtype is not float32 and x.dtype is not float64:
        raise DTypeError(
            f"linalg.{op}: expected a float32 or float64 tensor, got {x.dtype}; "
            "cast it first with x.float() or x.double()"
        )


def check_same_dtype(op: str, a: Tensor, b: Tensor) -> None:
    """Two operands of one dtype: linalg does not promote (as PyTorch)."""
    if a.dtype != b.dtype:
        raise DTypeError(
            f"linalg.{op}: A and B must have one dtype, got {a.dtype} and {b.dtype}; cast one "
            "with .to(other.dtype)"
        )


def check_matrix(op: str, x: Tensor) -> None:
    """A (..., m, n) floating tensor."""
    if not isinstance(x, Tensor):
        raise TypeError(f"linalg.{op}: expected a Tensor, got {type(x).__name__}")
    if x.ndim < 2:
        raise ShapeError(
            f"linalg.{op}: expected a tensor of at least 2 dims (..., m, n), got shape {x.shape}"
        )
    check_float(op, x)


def check_square(op: str, x: Tensor) -> None:
    """A (..., n, n) floating tensor."""
    check_matrix(op, x)
    if x.shape[-1] != x.shape[-2]:
        raise ShapeError(
            f"linalg.{op}: expected square matrices (..., n, n), got shape {x.shape}: "
            f"{x.shape[-2]} rows and {x.shape[-1]} columns"
        )


def mT(x: Tensor) -> Tensor:  # noqa: N802 - PyTorch's name
    """The transpose of each matrix of a batch: (..., m, n) -> (..., n, m), a view."""
    return x.transpose(-2, -1)


def identity_like(x: Tensor, n: int | None = None) -> Tensor:
    """The (n, n) identity in x's dtype and device (n: x's last dim); broadcasts over a batch."""
    size = x.shape[-1] if n is None else n
    return eye(size, dtype=x.dtype, device=x.device)


def diag_embed(v: Tensor) -> Tensor:
    """(..., n) -> (..., n, n) with v on the diagonal and zeros elsewhere (differentiable)."""
    return v.unsqueeze(-1) * identity_like(v)


def diagonal_of(x: Tensor) -> Tensor:
    """(..., n, n) -> (..., n): the main diagonal of each matrix (a copy)."""
    return _diagonal(x, 0, -2, -1)


def raise_for_info(op: str, info: Tensor, what: str, fix: str) -> None:
    """Raise LinAlgError naming the first failing batch element when any info is nonzero.

    `info` is (...,) int64: 0 for a success, k > 0 when the factorization stopped at step k
    (as LAPACK's info). One host read for the whole batch.
    """
    flat = info.reshape(-1)
    if not bool((flat != 0).any().item()):
        return
    values = flat.tolist()
    index = next(i for i, v in enumerate(values) if v != 0)
    # the batch element as PyTorch counts it: its position in the flattened batch
    where = f"(batch element {index}) " if info.ndim > 0 else ""
    raise LinAlgError(f"linalg.{op}: {where}{what.format(k=values[index])}; {fix}")


def _wrap(data: NDArray) -> Tensor:
    return Tensor._make(data, False)


def _full_precision(like: Tensor) -> AbstractContextManager[Any]:
    """Inside a factorization, no `tg.autocast`: its matmuls would run in bfloat16 and lose
    the accuracy the loop depends on (the result keeps the input's dtype)."""
    if not amp.is_autocast_enabled():
        return nullcontext()
    return amp.autocast(str(like.device).split(":", 1)[0], enabled=False)


class TensorFunction(Function):
    """A primitive whose `compute` (forward) and `gradient` (backward) use tensor ops.

    The factorizations (LU, Cholesky, Jacobi, Householder) are loops of many small tensor ops;
    recording them would make a huge graph whose backward is slow and unstable. Here they run
    without a graph, and backward is the textbook formula instead, also written with tensor
    ops. Subclasses define:

    - `compute(*inputs, **options)` -> one tensor or a tuple of tensors;
    - `gradient(inputs, outputs, grads)` -> one gradient (or None) per input; `grads` has one
      entry per output, None for an output that got no gradient.

    Under `backward(create_graph=True)` the same `gradient` runs with recording on, on the
    node's inputs and a recorded recomputation of its outputs, so the gradient is
    differentiable too.
    """

    def forward(self, *arrays: NDArray, **options: Any) -> Any:
        self.options = options
        self.n_inputs = len(arrays)
        inputs = [_wrap(a) for a in arrays]
        with no_grad(), _full_precision(inputs[0]):
            result = self.compute(*inputs, **options)
        single = isinstance(result, Tensor)
        outputs = (result,) if single else tuple(result)
        self.save_for_backward(*arrays, *[out._data for out in outputs])
        if single:
            return outputs[0]._data
        return tuple(out._data for out in outputs)

    def backward(self, *grads: NDArray | None) -> tuple[NDArray | None, ...]:
        saved = [_wrap(a) for a in self.saved]
        inputs = tuple(saved[: self.n_inputs])
        outputs = tuple(saved[self.n_inputs :])
        wrapped = tuple(None if g is None else _wrap(g) for g in grads)
        with no_grad(), _full_precision(inputs[0]):
            result = self.gradient(inputs, outputs, wrapped)
        return tuple(None if g is None else g._data for g in result)

    def compute(self, *args: Any, **kwargs: Any) -> Any:
        """The outputs from the input tensors (no graph is recorded)."""
        raise NotImplementedError

    def gradient(self, *args: Any, **kwargs: Any) -> Any:
        """(inputs, outputs, grads) -> one gradient tensor (or None) per input."""
        raise NotImplementedError


@formula(TensorFunction)
def _differentiable_gradient(node: TensorFunction, *grads: Tensor | None) -> Any:
    """create_graph=True: the same formula, recorded, on a recorded recomputation."""
    inputs = tuple(node.parents)
    result = type(node).apply(*inputs, **node.options)
    outputs = (result,) if isinstance(result, Tensor) else tuple(result)
    return node.gradient(inputs, outputs, grads)
