"""The last everyday Tensor methods: `x.cuda()`, `x.is_cpu`, `x.itemsize`, `x.nbytes`,
`x.addcdiv(...)`, `x.argwhere()`, `x.nanmedian()`, `x.sum_to_size(...)`, the `*_scatter`
family, `x.gcd(y)`, and the random fills `x.random_()`, `x.log_normal_()`, `x.cauchy_()`,
`x.geometric_()` (compositions in `ops/misc_more.py`); writing at positions (`x.index_copy`,
`x.index_put`, `x.put`, `x.masked_scatter`, `x.scatter_reduce`) and `x.unique(dim=...)`
(`ops/scatter_more.py`); and `bind_linalg`, which adds linalg's Tensor methods.

A mixin of `MoreMethods` (so of Tensor); each method calls its function through `ops`, bound
at import like the others.
"""

from __future__ import annotations

import builtins
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = ["MiscMoreMethods", "bind", "bind_linalg"]

#: the `tinygpt.ops` package, set by `bind` (from `tensor_more.bind`)
ops: ModuleType = ModuleType("tinygpt.ops (not imported yet)")


def bind(package: ModuleType) -> None:
    global ops
    ops = package


def bind_linalg(toplevel: ModuleType) -> None:
    """Add `tinygpt.linalg.toplevel`'s Tensor methods (`x.det()`, `m.mv(v)`, ...): each name in
    its TENSOR_METHODS, called with the tensor as the first argument. Called from
    `tinygpt/__init__.py` (linalg imports Tensor, so no Tensor file can import linalg)."""
    for name in toplevel.TENSOR_METHODS:
        setattr(MiscMoreMethods, name, _as_method(getattr(toplevel, name)))


def _as_method(fn: Any) -> Any:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return fn(self, *args, **kwargs)

    method.__name__ = fn.__name__
    method.__doc__ = fn.__doc__
    return method


class MiscMoreMethods:
    """Mixin of Tensor (through MoreMethods)."""

    __slots__ = ()

    # ------------------------------------------------------ bit operators
    # `&`, `|` and `~` themselves are in tensor_methods.py (bool: logical, integers: these)
    def __rand__(self, other: Any) -> Tensor:
        return ops.bits_more.bitwise_and(other, self)

    def __ror__(self, other: Any) -> Tensor:
        return ops.bits_more.bitwise_or(other, self)

    def __xor__(self, other: Any) -> Tensor:
        return ops.bits_more.bitwise_xor(self, other)

    def __rxor__(self, other: Any) -> Tensor:
        return ops.bits_more.bitwise_xor(other, self)

    def __lshift__(self, other: Any) -> Tensor:
        return ops.bits_more.bitwise_left_shift(self, other)

    def __rshift__(self, other: Any) -> Tensor:
        return ops.bits_more.bitwise_right_shift(self, other)

    def bitwise_not(self) -> Tensor:
        return ops.bits_more.bitwise_not(self)

    def bitwise_and(self, other: Any) -> Tensor:
        return ops.bits_more.bitwise_and(self, other)

    def bitwise_or(self, other: Any) -> Tensor:
        return ops.bits_more.bitwise_or(self, other)

    def bitwise_xor(self, other: Any) -> Tensor:
        return ops.bits_more.bitwise_xor(self, other)

    def bitwise_left_shift(self, other: Any) -> Tensor:
        return ops.bits_more.bitwise_left_shift(self, other)

    def bitwise_right_shift(self, other: Any) -> Tensor:
        return ops.bits_more.bitwise_right_shift(self, other)

    def i0(self) -> Tensor:
        return ops.activation_more.i0(self)

    def hardshrink(self, lambd: float = 0.5) -> Tensor:
        return ops.activation_more.hardshrink(self, lambd)

    def prelu(self, weight: Tensor) -> Tensor:
        return ops.activation_more.prelu(self, weight)

    def frexp(self) -> Any:
        return ops.bits_more.frexp(self)

    def histogram(self, bins: Any = 100, **kw: Any) -> Any:
        return ops.bits_more.histogram(self, bins, **kw)

    # ------------------------------------------------------ devices and sizes
    def cuda(self, device: Any = None, non_blocking: builtins.bool = False) -> Tensor:
        """This tensor on the "cuda" device (`cuda:n` for an index `device`)."""
        target = "cuda" if device is None else device
        if isinstance(target, int):
            target = f"cuda:{target}"
        return ops.movement.to(self, device=target)

    @property
    def is_cpu(self: Any) -> builtins.bool:
        """True on host devices ("cpu" and "numpy")."""
        return builtins.bool(self.device.type in ("cpu", "numpy"))

    @property
    def itemsize(self: Any) -> int:
        return int(self.dtype.itemsize)

    @property
    def nbytes(self: Any) -> int:
        return int(self.dtype.itemsize * self.numel())

    def new_empty_strided(self: Any, size: Any, stride: Any, **kw: Any) -> Tensor:
        """NOTE: the strides are accepted for PyTorch code; the tensor is contiguous."""
        return self.new_empty(*size, **kw)

    # ------------------------------------------------------ real numbers only
    def conj(self) -> Tensor:
        """Itself: tinygpt has no complex dtypes."""
        return self  # type: ignore[return-value]

    conj_physical = conj

    @property
    def real(self) -> Tensor:
        return self  # type: ignore[return-value]

    def isreal(self: Any) -> Tensor:
        """True everywhere (bool): every tinygpt dtype is real."""
        return ops.aliases.full(tuple(self.shape), True, dtype="bool", device=self.device)

    def is_pinned(self) -> builtins.bool:
        return False

    def is_shared(self) -> builtins.bool:
        return False

    def share_memory_(self) -> Tensor:
        """Itself: tinygpt tensors are not shared between processes this way."""
        return self  # type: ignore[return-value]

    # ------------------------------------------------------ legacy constructors and resize
    def new(self: Any, *args: Any, dtype: Any = None, device: Any = None) -> Tensor:
        """PyTorch's legacy `x.new(...)`: `x.new(2, 3)` or `x.new(size)` (a torch-style Size)
        is an uninitialized (here: zero) tensor of that shape, `x.new([1, 2])` / `x.new((1, 2))`
        one holding that data; x's dtype and device unless given."""
        options = {"dtype": dtype or self.dtype, "device": device or self.device}
        if not args:
            return self.new_zeros((0,), **options)
        if len(args) == 1 and not isinstance(args[0], int):
            (data,) = args
            if type(data).__name__ == "Size":  # tg.Size (or torch's): a shape, not data
                return self.new_zeros(tuple(data), **options)
            return self.new_tensor(data, **options)
        return self.new_zeros(args, **options)

    def resize_(self: Any, *sizes: Any) -> Tensor:
        """Give x the shape `sizes` in place: the same elements (row-major) as far as both
        shapes reach, zeros after (PyTorch leaves them uninitialized)."""
        shape = tuple(sizes[0]) if len(sizes) == 1 and not isinstance(sizes[0], int) else sizes
        if self.requires_grad:
            raise RuntimeError(
                "resize_: cannot resize a tensor that requires grad; resize x.detach() instead"
            )
        fresh = self.new_zeros(shape)
        count = builtins.min(fresh.numel(), self.numel())
        if count:
            fresh.view(-1)[:count] = self.reshape(-1)[:count]
        self.data = fresh  # Tensor.data's setter: x now shows fresh's memory
        self._bump_version()
        return self

    def resize_as_(self: Any, other: Tensor) -> Tensor:
        """`x.resize_(*other.shape)`."""
        return self.resize_(*other.shape)

    def split_with_sizes(self: Any, split_sizes: Any, dim: int = 0) -> tuple[Tensor, ...]:
        return tuple(self.split(list(split_sizes), dim))

    def unsafe_split(self: Any, split_size: Any, dim: int = 0) -> tuple[Tensor, ...]:
        return tuple(self.split(split_size, dim))

    def unsafe_chunk(self: Any, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        return tuple(self.chunk(chunks, dim))

    # ------------------------------------------------------ arithmetic
    def addcdiv(self, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
        return ops.misc_more.addcdiv(self, tensor1, tensor2, value=value)

    def addbmm(self, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        return ops.misc_more.addbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def addbmm_(self: Any, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1):
        result = ops.misc_more.addbmm(self, batch1, batch2, beta=beta, alpha=alpha)
        return ops.inplace.copy_(self, result)

    def adjoint(self) -> Tensor:
        return ops.misc_more.adjoint(self)

    def gcd(self, other: Any) -> Tensor:
        return ops.misc_more.gcd(self, other)

    def gcd_(self: Any, other: Any) -> Tensor:
        return ops.inplace.copy_(self, ops.misc_more.gcd(self, other))

    def lcm(self, other: Any) -> Tensor:
        return ops.misc_more.lcm(self, other)

    def lcm_(self: Any, other: Any) -> Tensor:
        return ops.inplace.copy_(self, ops.misc_more.lcm(self, other))

    def ldexp(self, other: Any) -> Tensor:
        return ops.misc_more.ldexp(self, other)

    def ldexp_(self: Any, other: Any) -> Tensor:
        return ops.inplace.copy_(self, ops.misc_more.ldexp(self, other))

    def mvlgamma(self, p: int) -> Tensor:
        return ops.misc_more.mvlgamma(self, p)

    def mvlgamma_(self: Any, p: int) -> Tensor:
        return ops.inplace.copy_(self, ops.misc_more.mvlgamma(self, p))

    def renorm_(self: Any, p: float, dim: int, maxnorm: float) -> Tensor:
        return ops.inplace.copy_(self, ops.stats_more.renorm(self, p, dim, maxnorm))

    # ------------------------------------------------------ positions
    def argwhere(self) -> Tensor:
        return ops.misc_more.argwhere(self)

    def nanmedian(self, dim: int | None = None, keepdim: builtins.bool = False) -> Any:
        return ops.misc_more.nanmedian(self, dim, keepdim)

    def sum_to_size(self, *size: Any) -> Tensor:
        return ops.misc_more.sum_to_size(self, *size)

    def select_scatter(self, src: Tensor, dim: int, index: int) -> Tensor:
        return ops.misc_more.select_scatter(self, src, dim, index)

    def slice_scatter(
        self,
        src: Tensor,
        dim: int = 0,
        start: int | None = None,
        end: int | None = None,
        step: int = 1,
    ) -> Tensor:
        return ops.misc_more.slice_scatter(self, src, dim, start, end, step)

    def diagonal_scatter(self, src: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1):
        return ops.misc_more.diagonal_scatter(self, src, offset, dim1, dim2)

    # ------------------------------------------------------ random fills
    def random_(self: Any, from_: int = 0, to: int | None = None, *, generator: Any = None):
        """Integers uniform in [from_, to) (x.random_(n): [0, n)), in x's dtype, in place."""
        low, high = (from_, to) if to is not None else (from_, None)
        drawn = ops.misc_more.random_integers(self, low, high, generator)
        return ops.inplace.copy_(self, drawn)

    def log_normal_(self: Any, mean: float = 1.0, std: float = 2.0, *, generator: Any = None):
        return ops.inplace.copy_(self, ops.misc_more.log_normal(self, mean, std, generator))

    def cauchy_(self: Any, median: float = 0.0, sigma: float = 1.0, *, generator: Any = None):
        return ops.inplace.copy_(self, ops.misc_more.cauchy(self, median, sigma, generator))

    def geometric_(self: Any, p: float, *, generator: Any = None) -> Tensor:
        return ops.inplace.copy_(self, ops.misc_more.geometric(self, p, generator))

    # ------------------------------------------------------ writing at positions
    def index_copy(self, dim: int, index: Tensor, source: Tensor) -> Tensor:
        return ops.scatter_more.index_copy(self, dim, index, source)

    def index_put(self, indices: Any, values: Any, accumulate: builtins.bool = False) -> Tensor:
        return ops.scatter_more.index_put(self, indices, values, accumulate)

    def put(self, index: Tensor, source: Tensor, accumulate: builtins.bool = False) -> Tensor:
        return ops.scatter_more.put(self, index, source, accumulate)

    def masked_scatter(self, mask: Tensor, source: Tensor) -> Tensor:
        return ops.scatter_more.masked_scatter(self, mask, source)

    def scatter_reduce(
        self,
        dim: int,
        index: Tensor,
        src: Tensor,
        reduce: str,
        *,
        include_self: builtins.bool = True,
    ) -> Tensor:
        return ops.scatter_more.scatter_reduce(
            self, dim, index, src, reduce, include_self=include_self
        )

    def unique_consecutive(
        self,
        return_inverse: builtins.bool = False,
        return_counts: builtins.bool = False,
        dim: int | None = None,
    ) -> Any:
        return ops.scatter_more.unique_consecutive(self, return_inverse, return_counts, dim)

    def unique(
        self,
        sorted: builtins.bool = True,  # noqa: A002 - PyTorch's name
        return_inverse: builtins.bool = False,
        return_counts: builtins.bool = False,
        dim: int | None = None,
    ) -> Any:
        """Distinct values (flattened), or distinct slices along `dim`."""
        if dim is None:
            return ops.extras_stats.unique(self, sorted, return_inverse, return_counts)
        return ops.scatter_more.unique_dim(self, dim, sorted, return_inverse, return_counts)
