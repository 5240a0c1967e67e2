"""PyTorch's `gather`, `scatter` and `scatter_add`: one index per element, along one dim.

Unlike `x[index]` (whole slices picked along an axis: `indexing.py`), here `index` has the
rank of `x` and element (i, j, k) of the result reads x[i, index[i, j, k], k] (for dim=1).
Both are compositions: the index is turned into flat positions of a C-ordered copy of `x`
(`flat_positions`), read with `indexing.Gather` and written with the small `ScatterAdd`
primitive below (its backward is a gather), so every backend runs them with the gather and
scatter-add kernels it already has.

>>> import tinygpt as tg
>>> x = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
>>> tg.gather(x, 1, tg.tensor([[1, 0], [0, 0]])).tolist()
[[2.0, 1.0], [3.0, 3.0]]
"""

from __future__ import annotations

from .. import array_ops as A
from .. import host
from ..autograd.function import Function
from ..config import env_checks
from ..creation import arange, full
from ..dtypes import int64
from ..errors import DTypeError, ShapeError
from ..ndarray import NDArray, normalize_axis, prod, strides_for
from ..tensor import Tensor
from .comparison import masked_fill, where
from .indexing import Gather
from .inplace import check_writable, commit, graph_alias
from .promotion import cast, check_devices, detached

__all__ = [
    "ScatterAdd",
    "flat_positions",
    "gather",
    "take_along_dim",
    "scatter",
    "scatter_add",
    "scatter_",
    "scatter_add_",
]

Scalar = bool | int | float


class ScatterAdd(Function):
    """Zeros of (size,) with src[j...] added at position index[j...]; repeats accumulate.

    src (I...), index (I...) int64 -> (size,). The adjoint of a flat gather, so its
    backward is one: d src = grad[index].
    """

    def forward(self, src: NDArray, index: NDArray, size: int = 0) -> NDArray:
        self.save_for_backward(index)
        flat_index = index.reshape((index.size,))
        return A.scatter_add((size,), 0, flat_index, src.compact().reshape((src.size,)))

    def backward(self, grad: NDArray) -> tuple[NDArray, None]:
        (index,) = self.saved
        return A.gather(grad, 0, index), None


def flat_positions(op: str, shape: tuple[int, ...], dim: int, index: Tensor) -> Tensor:
    """Where each element of `index` points in a C-ordered array of `shape` (int64, index's
    shape): along `dim` the index's value, along every other dim the element's own position.

    An index outside [0, shape[dim]) is sent past the end of the flat array, so the kernel
    reports it (without that, -1 would silently read the row before).
    """
    strides = strides_for(shape)
    size = shape[dim]
    if env_checks() and index.numel():
        low = int(index.min().item())
        high = int(index.max().item())
        if low < 0 or high >= size:
            bad = high if high >= size else low
            raise IndexError(
                f"{op}: index {bad} is out of bounds for dim {dim} with size {size}; "
                f"indices must be in [0, {size})"
            )
    valid = (index >= 0) & (index < size)
    linear = index * strides[dim]
    for d in range(len(shape)):
        if d == dim:
            continue
        # (1, .., n_d, .., 1): the element's own coordinate along dim d
        coordinate = arange(index.shape[d], device=index.device)
        view = [1] * len(shape)
        view[d] = index.shape[d]
        linear = linear + coordinate.reshape(*view) * strides[d]
    return masked_fill(linear, valid.logical_not(), prod(shape))


def _check_index(op: str, x: Tensor, dim: int, index: Tensor) -> Tensor:
    """index as a detached int64 tensor, once its rank and sizes fit x (PyTorch's rules)."""
    if not isinstance(index, Tensor) or index.dtype.kind != "i":
        raise DTypeError(f"{op}: index must be an int64 tensor, got {index!r:.60}")
    check_devices(op, x, index)
    if index.ndim != x.ndim:
        raise ShapeError(f"{op}: index {index.shape} must have as many dims as the input {x.shape}")
    for d, (n, m) in enumerate(zip(index.shape, x.shape, strict=True)):
        if d != dim and n > m:
            raise ShapeError(
                f"{op}: index {index.shape} is larger than the input {x.shape} in dim {d} "
                f"(only dim {dim}, the one indexed, may differ)"
            )
    return cast(index.detach(), int64)


def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
    """out[i][j][k] = input[i][index[i][j][k]][k] (for dim=1), as `torch.gather`.

    input (n0, .., nd, ..), index (m0, .., md, ..) with m <= n off `dim` -> index's shape.
    Differentiable in `input` (the gradient scatter-adds back).
    """
    if input.ndim == 0:
        return gather(input.reshape(1), 0, index.reshape(1)).reshape(())
    axis = normalize_axis("gather", dim, input.ndim)
    index = _check_index("gather", input, axis, index)
    positions = flat_positions("gather", input.shape, axis, index)
    return Gather.apply(input.reshape(-1), positions, axis=0)


def take_along_dim(input: Tensor, indices: Tensor, dim: int) -> Tensor:  # noqa: A002
    """`torch.take_along_dim` with a dim: `gather` after broadcasting off `dim`."""
    axis = normalize_axis("take_along_dim", dim, input.ndim)
    shape = list(input.shape)
    shape[axis] = indices.shape[axis]
    return gather(input, axis, indices.expand(*shape))


def _source_part(op: str, src: Tensor, index: Tensor, x: Tensor) -> Tensor:
    """The corner of `src` that `index` covers (PyTorch reads src[:m0, :m1, ...])."""
    check_devices(op, x, src)
    if src.dtype != x.dtype:
        raise DTypeError(
            f"{op}: src is {src.dtype} but the input is {x.dtype}; they must match "
            "(use src.to(x.dtype))"
        )
    if src.ndim != index.ndim or any(m > n for m, n in zip(index.shape, src.shape, strict=True)):
        raise ShapeError(f"{op}: index {index.shape} must fit inside src {src.shape} in every dim")
    if src.shape == index.shape:
        return src
    return src[tuple(slice(0, m) for m in index.shape)]


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:  # noqa: A002
    """A copy of input with src[i][j][k] added at [i][index[i][j][k]][k] (dim=1), as
    `torch.scatter_add`; repeated positions accumulate. Differentiable in input and src."""
    if input.ndim == 0:
        flat = scatter_add(input.reshape(1), 0, index.reshape(1), src.reshape(1))
        return flat.reshape(())
    axis = normalize_axis("scatter_add", dim, input.ndim)
    index = _check_index("scatter_add", input, axis, index)
    part = _source_part("scatter_add", src, index, input)
    positions = flat_positions("scatter_add", input.shape, axis, index)
    added = ScatterAdd.apply(part, positions, size=input.numel())
    return input + added.reshape(*input.shape)


def scatter(
    input: Tensor,  # noqa: A002
    dim: int,
    index: Tensor,
    src: Tensor | Scalar | None = None,
    *,
    value: Scalar | None = None,
    reduce: str | None = None,
) -> Tensor:
    """A copy of input with src[i][j][k] (or the scalar `value`) written at
    [i][index[i][j][k]][k] (dim=1), as `torch.scatter`. Where two writes hit one place the
    last wins (PyTorch leaves it unspecified). `reduce="add"` is `scatter_add`.

    NOTE: a tensor `src` reads the positions on the host once, to find the surviving writes.
    """
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter: give src (a tensor) or value (a number)")
    if reduce == "add" and isinstance(src, Tensor):
        return scatter_add(input, dim, index, src)
    if reduce is not None:
        raise NotImplementedError(
            f"scatter: reduce={reduce!r} is not supported; use reduce='add' or scatter_add"
        )
    if input.ndim == 0:
        flat_src = src.reshape(1) if isinstance(src, Tensor) else src
        return scatter(input.reshape(1), 0, index.reshape(1), flat_src).reshape(())
    axis = normalize_axis("scatter", dim, input.ndim)
    index = _check_index("scatter", input, axis, index)
    positions = flat_positions("scatter", input.shape, axis, index)
    flat = positions._data.reshape((positions.numel(),))
    hits = A.scatter_add((input.numel(),), 0, flat, A.full(flat, flat.shape, 1, int64))
    hit = detached(A.scalar("ne", hits, 0)).reshape(*input.shape)
    if not isinstance(src, Tensor):
        return where(hit, full((), src, dtype=input.dtype, device=input.device), input)
    part = _source_part("scatter", src, index, input)
    which, where_to = host.last_writes(positions._data)
    kept = Gather.apply(part.reshape(-1), detached(which), axis=0)
    written = ScatterAdd.apply(kept, detached(where_to), size=input.numel())
    return where(hit, written.reshape(*input.shape), input)


def scatter_(
    input: Tensor,  # noqa: A002
    dim: int,
    index: Tensor,
    src: Tensor | Scalar | None = None,
    *,
    value: Scalar | None = None,
    reduce: str | None = None,
) -> Tensor:
    """In-place `scatter` (through autograd when it records)."""
    check_writable("scatter_", input)
    new = scatter(graph_alias(input), dim, index, src, value=value, reduce=reduce)
    return commit("scatter_", input, new)


def scatter_add_(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:  # noqa: A002
    """In-place `scatter_add` (through autograd when it records)."""
    check_writable("scatter_add_", input)
    return commit("scatter_add_", input, scatter_add(graph_alias(input), dim, index, src))
