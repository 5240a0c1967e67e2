"""The Tensor methods that are one-line calls into `tinygpt.ops`: operators, maths,
reductions and shape changes. Kept apart from `tensor.py` so that file stays about data and
autograd; every method here is also a `tg.<name>` function where PyTorch has one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .ops import elementwise as E
from .ops import inplace as I
from .ops import math as M
from .ops import reductions as R
from .ops import shape as S
from .ops.movement import Clone

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = ["TensorMethods"]


class TensorMethods:
    """Mixin of Tensor: operators and ops as methods."""

    __slots__ = ()

    # ---------------------------------------------------------- arithmetic
    def __add__(self, other: Any) -> Tensor:
        return M.binary("add", self, other)  # type: ignore[arg-type]

    def __radd__(self, other: Any) -> Tensor:
        return M.binary("add", self, other, reflected=True)  # type: ignore[arg-type]

    def __sub__(self, other: Any) -> Tensor:
        return M.binary("sub", self, other)  # type: ignore[arg-type]

    def __rsub__(self, other: Any) -> Tensor:
        return M.binary("sub", self, other, reflected=True)  # type: ignore[arg-type]

    def __mul__(self, other: Any) -> Tensor:
        return M.binary("mul", self, other)  # type: ignore[arg-type]

    def __rmul__(self, other: Any) -> Tensor:
        return M.binary("mul", self, other, reflected=True)  # type: ignore[arg-type]

    def __truediv__(self, other: Any) -> Tensor:
        return M.binary("div", self, other)  # type: ignore[arg-type]

    def __rtruediv__(self, other: Any) -> Tensor:
        return M.binary("div", self, other, reflected=True)  # type: ignore[arg-type]

    def __pow__(self, other: Any) -> Tensor:
        return M.binary("pow", self, other)  # type: ignore[arg-type]

    def __rpow__(self, other: Any) -> Tensor:
        return M.binary("pow", self, other, reflected=True)  # type: ignore[arg-type]

    def __matmul__(self, other: Any) -> Tensor:
        return S.matmul(self, other)  # type: ignore[arg-type]

    def __rmatmul__(self, other: Any) -> Tensor:
        return S.matmul(M.as_tensor_like(other, self), self)  # type: ignore[arg-type]

    def __neg__(self) -> Tensor:
        return E.Neg.apply(self)  # type: ignore[arg-type]

    def __pos__(self) -> Tensor:
        return self  # type: ignore[return-value]

    def __abs__(self) -> Tensor:
        return M.abs(self)  # type: ignore[arg-type]

    def __invert__(self) -> Tensor:
        return M.logical_not(self)  # type: ignore[arg-type]

    def __and__(self, other: Any) -> Tensor:
        return _logical("logical_and", self, other)

    def __or__(self, other: Any) -> Tensor:
        return _logical("logical_or", self, other)

    # --------------------------------------------------------- comparisons
    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return M.compare("eq", self, other)  # type: ignore[arg-type]

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return M.compare("ne", self, other)  # type: ignore[arg-type]

    def __lt__(self, other: Any) -> Tensor:
        return M.compare("lt", self, other)  # type: ignore[arg-type]

    def __le__(self, other: Any) -> Tensor:
        return M.compare("le", self, other)  # type: ignore[arg-type]

    def __gt__(self, other: Any) -> Tensor:
        return M.compare("gt", self, other)  # type: ignore[arg-type]

    def __ge__(self, other: Any) -> Tensor:
        return M.compare("ge", self, other)  # type: ignore[arg-type]

    # --------------------------------------------------------------- maths
    def exp(self) -> Tensor:
        return M.exp(self)  # type: ignore[arg-type]

    def log(self) -> Tensor:
        return M.log(self)  # type: ignore[arg-type]

    def sqrt(self) -> Tensor:
        return M.sqrt(self)  # type: ignore[arg-type]

    def rsqrt(self) -> Tensor:
        return M.rsqrt(self)  # type: ignore[arg-type]

    def abs(self) -> Tensor:
        return M.abs(self)  # type: ignore[arg-type]

    def sign(self) -> Tensor:
        return M.sign(self)  # type: ignore[arg-type]

    def sin(self) -> Tensor:
        return M.sin(self)  # type: ignore[arg-type]

    def cos(self) -> Tensor:
        return M.cos(self)  # type: ignore[arg-type]

    def tanh(self) -> Tensor:
        return M.tanh(self)  # type: ignore[arg-type]

    def sigmoid(self) -> Tensor:
        return M.sigmoid(self)  # type: ignore[arg-type]

    def relu(self) -> Tensor:
        return M.relu(self)  # type: ignore[arg-type]

    def gelu(self, approximate: str = "none") -> Tensor:
        return M.gelu(self, approximate)  # type: ignore[arg-type]

    def silu(self) -> Tensor:
        return M.silu(self)  # type: ignore[arg-type]

    def erf(self) -> Tensor:
        return M.erf(self)  # type: ignore[arg-type]

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        return M.clamp(self, min, max)  # type: ignore[arg-type]

    def maximum(self, other: Any) -> Tensor:
        return M.maximum(self, other)  # type: ignore[arg-type]

    def minimum(self, other: Any) -> Tensor:
        return M.minimum(self, other)  # type: ignore[arg-type]

    def masked_fill(self, mask: Tensor, value: Any) -> Tensor:
        return M.masked_fill(self, mask, value)  # type: ignore[arg-type]

    def pow(self, other: Any) -> Tensor:
        return M.binary("pow", self, other)  # type: ignore[arg-type]

    def logical_not(self) -> Tensor:
        return M.logical_not(self)  # type: ignore[arg-type]

    # ----------------------------------------------------------- reductions
    def sum(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return R.sum(self, dim, keepdim)  # type: ignore[arg-type]

    def mean(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return R.mean(self, dim, keepdim)  # type: ignore[arg-type]

    def var(self, dim: Any = None, keepdim: bool = False, **kw: Any) -> Tensor:
        return R.var(self, dim, keepdim, **kw)  # type: ignore[arg-type]

    def std(self, dim: Any = None, keepdim: bool = False, **kw: Any) -> Tensor:
        return R.std(self, dim, keepdim, **kw)  # type: ignore[arg-type]

    def max(self, dim: Any = None, keepdim: bool = False) -> Any:
        return R.max(self, dim, keepdim)  # type: ignore[arg-type]

    def min(self, dim: Any = None, keepdim: bool = False) -> Any:
        return R.min(self, dim, keepdim)  # type: ignore[arg-type]

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return R.argmax(self, dim, keepdim)  # type: ignore[arg-type]

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return R.argmin(self, dim, keepdim)  # type: ignore[arg-type]

    def logsumexp(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return R.logsumexp(self, dim, keepdim)  # type: ignore[arg-type]

    def softmax(self, dim: int = -1) -> Tensor:
        return R.softmax(self, dim)  # type: ignore[arg-type]

    def log_softmax(self, dim: int = -1) -> Tensor:
        return R.log_softmax(self, dim)  # type: ignore[arg-type]

    def any(self) -> Tensor:
        return (self != 0).sum() > 0

    def all(self) -> Tensor:
        return (self == 0).sum() == 0

    # --------------------------------------------------------------- shape
    def reshape(self, *shape: Any) -> Tensor:
        return S.reshape(self, *shape)  # type: ignore[arg-type]

    def view(self, *shape: Any) -> Tensor:
        return S.reshape(self, *shape)  # type: ignore[arg-type]

    def permute(self, *dims: Any) -> Tensor:
        return S.permute(self, *dims)  # type: ignore[arg-type]

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        return S.transpose(self, dim0, dim1)  # type: ignore[arg-type]

    def expand(self, *shape: Any) -> Tensor:
        return S.expand(self, *shape)  # type: ignore[arg-type]

    def broadcast_to(self, *shape: Any) -> Tensor:
        return S.expand(self, *shape)  # type: ignore[arg-type]

    def expand_as(self, other: Tensor) -> Tensor:
        return S.expand(self, *other.shape)  # type: ignore[arg-type]

    def squeeze(self, dim: Any = None) -> Tensor:
        return S.squeeze(self, dim)  # type: ignore[arg-type]

    def unsqueeze(self, dim: int) -> Tensor:
        return S.unsqueeze(self, dim)  # type: ignore[arg-type]

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        return S.flatten(self, start_dim, end_dim)  # type: ignore[arg-type]

    def contiguous(self) -> Tensor:
        return S.contiguous(self)  # type: ignore[arg-type]

    def split(self, split_size: Any, dim: int = 0) -> tuple[Tensor, ...]:
        return S.split(self, split_size, dim)  # type: ignore[arg-type]

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        return S.chunk(self, chunks, dim)  # type: ignore[arg-type]

    def tril(self, diagonal: int = 0) -> Tensor:
        return S.tril(self, diagonal)  # type: ignore[arg-type]

    def triu(self, diagonal: int = 0) -> Tensor:
        return S.triu(self, diagonal)  # type: ignore[arg-type]

    def matmul(self, other: Tensor) -> Tensor:
        return S.matmul(self, other)  # type: ignore[arg-type]

    # ------------------------------------------------------------ in place
    def copy_(self, src: Any) -> Tensor:
        return I.copy_(self, src)  # type: ignore[arg-type]

    def fill_(self, value: Any) -> Tensor:
        return I.fill_(self, value)  # type: ignore[arg-type]

    def zero_(self) -> Tensor:
        return I.zero_(self)  # type: ignore[arg-type]

    def add_(self, other: Any, alpha: float = 1.0) -> Tensor:
        return I.add_(self, other, alpha)  # type: ignore[arg-type]

    def sub_(self, other: Any, alpha: float = 1.0) -> Tensor:
        return I.sub_(self, other, alpha)  # type: ignore[arg-type]

    def mul_(self, other: Any) -> Tensor:
        return I.mul_(self, other)  # type: ignore[arg-type]

    def div_(self, other: Any) -> Tensor:
        return I.div_(self, other)  # type: ignore[arg-type]

    def uniform_(self, low: float = 0.0, high: float = 1.0) -> Tensor:
        return I.uniform_(self, low, high)  # type: ignore[arg-type]

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
        return I.normal_(self, mean, std)  # type: ignore[arg-type]

    def clone(self) -> Tensor:
        """A copy with its own memory; gradients flow back to the original."""
        return Clone.apply(self)  # type: ignore[arg-type]


def _logical(op: str, a: Any, b: Any) -> Tensor:
    from . import array_ops as A
    from .dtypes import bool_
    from .tensor import Tensor

    other = M.as_tensor_like(b, a)
    if a.dtype != bool_ or other.dtype != bool_:
        raise M.DTypeError(f"{op}: needs bool tensors, got {a.dtype} and {other.dtype}")
    return Tensor._make(A.binary(op, a.data, other.data), False)
