"""The Tensor methods that are one-line calls into `tinygpt.ops`: operators, maths,
reductions, shape changes, indexing and in-place updates.

Every method here is also a `tg.<name>` function where PyTorch has one. `tinygpt.ops`
imports `Tensor` (its functions take and return tensors), so `tensor.py` cannot import it
back: instead the ops package binds itself here when it is imported (`bind`, called once
from `tinygpt/ops/__init__.py`), and each method looks its function up at call time.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any

from . import fast_paths, tensor_aliases, tensor_more, tensor_parity
from .autograd.function import records, untracked
from .ndarray import WHOLE

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = ["TensorMethods", "bind"]

#: the `tinygpt.ops` package, set by `bind` when it is imported
ops: ModuleType = ModuleType("tinygpt.ops (not imported yet)")


#: every axis of a tensor of n dims, `_ALL_AXES[n]` (`x.sum()`'s fast path)
_ALL_AXES = tuple(tuple(range(n)) for n in range(9))
#: `slice(None)` for each dim an int index leaves whole (`x[i]`'s fast path)
_FULL_SLICE = (WHOLE,)


def bind(package: ModuleType) -> None:
    """Point every Tensor method at the op families of `package` (tinygpt.ops)."""
    global ops
    ops = package
    tensor_parity.bind(package)
    tensor_aliases.bind(package)
    tensor_more.bind(package)


class TensorMethods(
    tensor_more.MoreMethods, tensor_parity.ParityMethods, tensor_aliases.AliasMethods
):
    """Mixin of Tensor: operators and ops as methods (more in `tensor_parity.py`,
    `tensor_aliases.py` and `tensor_more.py`; the last comes first so its `unique`, which
    adds `dim=`, is the one found)."""

    __slots__ = ()

    # ---------------------------------------------------------- arithmetic
    def __add__(self, other: Any) -> Tensor:
        return ops.elementwise.binary("add", self, other)

    def __radd__(self, other: Any) -> Tensor:
        return ops.elementwise.binary("add", self, other, reflected=True)

    def __sub__(self, other: Any) -> Tensor:
        return ops.elementwise.binary("sub", self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return ops.elementwise.binary("sub", self, other, reflected=True)

    def __mul__(self, other: Any) -> Tensor:
        return ops.elementwise.binary("mul", self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return ops.elementwise.binary("mul", self, other, reflected=True)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.elementwise.binary("div", self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.elementwise.binary("div", self, other, reflected=True)

    def __pow__(self, other: Any) -> Tensor:
        return ops.elementwise.binary("pow", self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return ops.elementwise.binary("pow", self, other, reflected=True)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.matmul.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.matmul.matmul(ops.promotion.as_tensor_like(other, self), self)

    def __neg__(self) -> Tensor:
        return ops.elementwise.neg(self)

    def __pos__(self) -> Tensor:
        return self  # type: ignore[return-value]  # a Tensor: this class is its mixin

    def __abs__(self) -> Tensor:
        return ops.elementwise.abs(self)

    # bool masks (the common case) take the logical ops directly; integers the bitwise ones
    def __invert__(self) -> Tensor:
        if self._data.dtype.kind == "b":  # type: ignore[attr-defined]  # Tensor's field
            return ops.comparison.logical_not(self)
        return ops.bits_more.bitwise_not(self)

    def __and__(self, other: Any) -> Tensor:
        if self._data.dtype.kind == "b":  # type: ignore[attr-defined]
            return ops.comparison.logical("logical_and", self, other)
        return ops.bits_more.bitwise_and(self, other)

    def __or__(self, other: Any) -> Tensor:
        if self._data.dtype.kind == "b":  # type: ignore[attr-defined]
            return ops.comparison.logical("logical_or", self, other)
        return ops.bits_more.bitwise_or(self, other)

    # --------------------------------------------------------- comparisons
    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return ops.comparison.compare("eq", self, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return ops.comparison.compare("ne", self, other)

    def __lt__(self, other: Any) -> Tensor:
        return ops.comparison.compare("lt", self, other)

    def __le__(self, other: Any) -> Tensor:
        return ops.comparison.compare("le", self, other)

    def __gt__(self, other: Any) -> Tensor:
        return ops.comparison.compare("gt", self, other)

    def __ge__(self, other: Any) -> Tensor:
        return ops.comparison.compare("ge", self, other)

    # --------------------------------------------------------------- maths
    def exp(self) -> Tensor:
        return ops.elementwise.exp(self)

    def log(self) -> Tensor:
        return ops.elementwise.log(self)

    def sqrt(self) -> Tensor:
        return ops.elementwise.sqrt(self)

    def rsqrt(self) -> Tensor:
        return ops.elementwise.rsqrt(self)

    def abs(self) -> Tensor:
        return ops.elementwise.abs(self)

    def sign(self) -> Tensor:
        return ops.elementwise.sign(self)

    def sin(self) -> Tensor:
        return ops.elementwise.sin(self)

    def cos(self) -> Tensor:
        return ops.elementwise.cos(self)

    def erf(self) -> Tensor:
        return ops.elementwise.erf(self)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        return ops.comparison.clamp(self, min, max)

    def maximum(self, other: Any) -> Tensor:
        return ops.elementwise.maximum(self, other)

    def minimum(self, other: Any) -> Tensor:
        return ops.elementwise.minimum(self, other)

    def masked_fill(self, mask: Tensor, value: Any) -> Tensor:
        return ops.comparison.masked_fill(self, mask, value)

    def pow(self, other: Any) -> Tensor:
        return ops.elementwise.binary("pow", self, other)

    def logical_not(self) -> Tensor:
        return ops.comparison.logical_not(self)

    # ---------------------------------------------------------- activations
    def tanh(self) -> Tensor:
        return ops.activation.tanh(self)

    def sigmoid(self) -> Tensor:
        return ops.activation.sigmoid(self)

    def relu(self) -> Tensor:
        return ops.activation.relu(self)

    def gelu(self, approximate: str = "none") -> Tensor:
        return ops.activation.gelu(self, approximate)

    def silu(self) -> Tensor:
        return ops.activation.silu(self)

    def softmax(self, dim: int = -1) -> Tensor:
        return ops.activation.softmax(self, dim)

    def log_softmax(self, dim: int = -1) -> Tensor:
        return ops.activation.log_softmax(self, dim)

    # ----------------------------------------------------------- reductions
    def sum(
        self, dim: Any = None, keepdim: bool = False, *, axis: Any = None, keepdims: Any = None
    ) -> Tensor:
        data = self._data  # type: ignore[attr-defined]  # Tensor's field
        keepdim = keepdim if keepdims is None else keepdims  # NumPy's name, as PyTorch takes it
        if (
            dim is None
            and axis is None  # axis: NumPy's name for dim; PyTorch takes it too
            and data.dtype.kind == "f"
            and len(data.shape) < len(_ALL_AXES)
            and fast_paths.enabled
        ):
            # x.sum() of a floating tensor (a loss): every axis, nothing to normalize or cast
            return ops.reductions.Sum.apply(self, axes=_ALL_AXES[len(data.shape)], keepdim=keepdim)
        return ops.reductions.sum(self, dim if axis is None else axis, keepdim)

    def mean(
        self, dim: Any = None, keepdim: bool = False, *, axis: Any = None, keepdims: Any = None
    ) -> Tensor:
        keep = keepdim if keepdims is None else keepdims  # NumPy's name, as PyTorch takes it
        return ops.reductions.mean(self, dim if axis is None else axis, keep)

    def var(self, dim: Any = None, keepdim: bool = False, **kw: Any) -> Tensor:
        return ops.reductions.var(self, dim, keepdim, **kw)

    def std(self, dim: Any = None, keepdim: bool = False, **kw: Any) -> Tensor:
        return ops.reductions.std(self, dim, keepdim, **kw)

    def max(self, dim: Any = None, keepdim: bool = False) -> Any:
        return ops.reductions.max(self, dim, keepdim)

    def min(self, dim: Any = None, keepdim: bool = False) -> Any:
        return ops.reductions.min(self, dim, keepdim)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return ops.reductions.argmax(self, dim, keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return ops.reductions.argmin(self, dim, keepdim)

    def logsumexp(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return ops.reductions.logsumexp(self, dim, keepdim)

    def any(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return ops.reductions.any(self, dim, keepdim)

    def all(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return ops.reductions.all(self, dim, keepdim)

    # ------------------------------------------------------ shape and views
    @property
    def T(self) -> Tensor:  # noqa: N802 - the PyTorch name
        """All dims reversed (the matrix transpose for 2-D), as a view."""
        return ops.movement.reverse_dims(self)

    @property
    def mT(self) -> Tensor:  # noqa: N802 - the PyTorch name
        """The last two dims swapped (a batch of transposed matrices), as a view."""
        return ops.movement.transpose(self, -2, -1)

    def reshape(self, *shape: Any) -> Tensor:
        if shape and fast_paths.enabled and all(type(size) is int for size in shape):
            # x.reshape(2, 3), the common spelling: the sizes as given, one frame fewer
            if not records(self):  # type: ignore[arg-type]  # no node: the view (or copy) itself
                return untracked(self, self._data.reshape(shape))  # type: ignore[arg-type, attr-defined]
            return ops.movement.Reshape.apply(self, shape=shape)
        return ops.movement.reshape(self, *shape)

    def permute(self, *dims: Any) -> Tensor:
        return ops.movement.permute(self, *dims)

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        return ops.movement.transpose(self, dim0, dim1)

    def expand(self, *shape: Any) -> Tensor:
        return ops.movement.expand(self, *shape)

    def broadcast_to(self, *shape: Any) -> Tensor:
        return ops.movement.expand(self, *shape)

    def expand_as(self, other: Tensor) -> Tensor:
        return ops.movement.expand(self, *other.shape)

    def squeeze(self, dim: Any = None) -> Tensor:
        return ops.movement.squeeze(self, dim)

    def unsqueeze(self, dim: int) -> Tensor:
        return ops.movement.unsqueeze(self, dim)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        return ops.movement.flatten(self, start_dim, end_dim)

    def contiguous(self) -> Tensor:
        return ops.movement.contiguous(self)

    def split(self, split_size: Any, dim: int = 0) -> tuple[Tensor, ...]:
        return ops.movement.split(self, split_size, dim)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        return ops.movement.chunk(self, chunks, dim)

    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        return ops.movement.unbind(self, dim)

    def tril(self, diagonal: int = 0) -> Tensor:
        return ops.comparison.tril(self, diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        return ops.comparison.triu(self, diagonal)

    def matmul(self, other: Tensor) -> Tensor:
        return ops.matmul.matmul(self, other)

    def clone(self) -> Tensor:
        """A copy with its own memory; gradients flow back to the original."""
        return ops.movement.clone(self)

    # ------------------------------------------------------------- indexing
    def __getitem__(self, index: object) -> Tensor:
        ndim = len(self._data.shape)  # type: ignore[attr-defined]  # Tensor's field
        if type(index) is int and ndim and fast_paths.enabled:
            # x[i], the most common index, straight to its view without parsing: the same
            # Slice node `getitem` makes (which checks the bounds)
            items = (index,) + _FULL_SLICE * (ndim - 1)
            if not records(self):  # type: ignore[arg-type]  # no node to make: the view itself
                return untracked(self, self._data.slice(items))  # type: ignore[arg-type, attr-defined]
            return ops.movement.Slice.apply(self, items=items)
        return ops.indexing.getitem(self, index)

    def __setitem__(self, index: object, value: object) -> None:
        ops.indexing.setitem(self, index, value)

    # ------------------------------------------------------------ in place
    # `x += y` updates x's memory, as in PyTorch (views of x see it), instead of rebinding x
    def __iadd__(self, other: Any) -> Tensor:
        return ops.inplace.augmented("add", self, other)

    def __isub__(self, other: Any) -> Tensor:
        return ops.inplace.augmented("sub", self, other)

    def __imul__(self, other: Any) -> Tensor:
        return ops.inplace.augmented("mul", self, other)

    def __itruediv__(self, other: Any) -> Tensor:
        return ops.inplace.augmented("div", self, other)

    def copy_(self, src: Any) -> Tensor:
        return ops.inplace.copy_(self, src)

    def fill_(self, value: Any) -> Tensor:
        return ops.inplace.fill_(self, value)

    def zero_(self) -> Tensor:
        return ops.inplace.zero_(self)

    def add_(self, other: Any, alpha: float = 1.0) -> Tensor:
        return ops.inplace.add_(self, other, alpha)

    def sub_(self, other: Any, alpha: float = 1.0) -> Tensor:
        return ops.inplace.sub_(self, other, alpha)

    def mul_(self, other: Any) -> Tensor:
        return ops.inplace.mul_(self, other)

    def div_(self, other: Any) -> Tensor:
        return ops.inplace.div_(self, other)

    def uniform_(self, low: float = 0.0, high: float = 1.0) -> Tensor:
        return ops.inplace.uniform_(self, low, high)

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
        return ops.inplace.normal_(self, mean, std)

    # ------------------------------------------------- devices and dtypes
    # NOTE: last in the class: `float`, `int` and `bool` shadow the builtins below them
    def to(
        self, *args: Any, dtype: Any = None, device: Any = None, non_blocking: bool = False
    ) -> Tensor:
        """`.to("cpu")`, `.to(tg.float64)`, `.to("cuda", tg.float16)`; differentiable.
        `non_blocking` is accepted for PyTorch code; copies are ordered by the backend."""
        return ops.movement.to(self, *args, dtype=dtype, device=device)

    def float(self) -> Tensor:
        return ops.promotion.cast(self, "float32")

    def double(self) -> Tensor:
        return ops.promotion.cast(self, "float64")

    def half(self) -> Tensor:
        return ops.promotion.cast(self, "float16")

    def long(self) -> Tensor:
        return ops.promotion.cast(self, "int64")

    def int(self) -> Tensor:
        return ops.promotion.cast(self, "int32")

    def bool(self) -> Tensor:
        return ops.promotion.cast(self, "bool")
