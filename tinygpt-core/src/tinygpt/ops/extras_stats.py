"""Counting, statistics, selection and elementwise maths PyTorch code calls by name, built
from existing ops: `unique`, `bincount`, `count_nonzero`, `diff`, `median`, `std_mean`,
`var_mean`, `nansum`, `masked_select`, `index_add`, `index_fill`, `tan`, `sinh`, `cosh`,
`log2`, `log10`, `exp2`, `expm1`, `exponential`.

NOTE: `unique` and `bincount` produce data-dependent sizes, so they read values to the host
(one `tolist()` of the sorted input for `unique`, one `.item()` of the maximum for
`bincount`): they synchronize with the device, as in PyTorch, and have no gradient.
"""

from __future__ import annotations

import builtins
import math
from typing import Any

from ..creation import arange, tensor, zeros
from ..dtypes import int64
from ..errors import DTypeError, ShapeError
from ..random import Generator, rand
from ..tensor import Tensor
from .movement import broadcast_tensors, cat
from .reductions import MaxResult

__all__ = [
    "bincount",
    "cosh",
    "count_nonzero",
    "diff",
    "exp2",
    "expm1",
    "exponential",
    "index_add",
    "index_fill",
    "log10",
    "log2",
    "masked_select",
    "median",
    "nansum",
    "sinh",
    "std_mean",
    "tan",
    "unique",
    "var_mean",
]


# ------------------------------------------------------------------ counting
def unique(
    x: Tensor,
    sorted: bool = True,  # noqa: A002 - PyTorch's name
    return_inverse: bool = False,
    return_counts: bool = False,
    dim: int | None = None,
) -> Any:
    """The distinct values of x, ascending (flattened); optionally where each element's value
    sits among them (`return_inverse`, x's shape) and how often each occurs (`return_counts`)."""
    if dim is not None:
        raise NotImplementedError("unique: dim= is not supported; unique over the flattened tensor")
    flat = x.reshape(-1)
    order = flat.argsort(stable=True)
    values = flat.detach()[order].tolist()
    firsts = [i for i in range(len(values)) if i == 0 or values[i] != values[i - 1]]
    out = (
        flat.detach()[order[tensor(firsts, dtype=int64, device=x.device)]]
        if firsts
        else flat.detach()[:0]
    )
    results: list[Tensor] = [out]
    if return_inverse:
        # group number of each sorted position, scattered back to the element's own place
        group = [0] * len(values)
        for g, start in enumerate(firsts):
            end = firsts[g + 1] if g + 1 < len(firsts) else len(values)
            group[start:end] = [g] * (end - start)
        groups = tensor(group, dtype=int64, device=x.device)
        inverse = zeros(len(values), dtype=int64, device=x.device).scatter(0, order, groups)
        results.append(inverse.reshape(*x.shape))
    if return_counts:
        ends = firsts[1:] + [len(values)]
        results.append(tensor([e - s for s, e in zip(firsts, ends)], dtype=int64, device=x.device))
    return results[0] if len(results) == 1 else tuple(results)


def _check_counts(op: str, x: Tensor) -> None:
    if x.ndim != 1 or x.dtype.kind not in ("i", "u"):
        raise DTypeError(f"{op}: expected a 1-D integer tensor, got {x.dtype} of shape {x.shape}")


def bincount(x: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """How often each value 0..max(x) occurs in the non-negative 1-D int tensor x (summing
    `weights` instead of ones when given)."""
    _check_counts("bincount", x)
    if x.numel() and builtins.int(x.min().item()) < 0:
        raise ValueError("bincount: x must hold non-negative integers")
    size = builtins.max(builtins.int(x.max().item()) + 1 if x.numel() else 0, minlength)
    if weights is None:
        ones = zeros(*x.shape, dtype=int64, device=x.device) + 1
        return zeros(size, dtype=int64, device=x.device).scatter_add(0, x.long(), ones)
    if weights.shape != x.shape:
        raise ShapeError(f"bincount: weights {weights.shape} must have x's shape {x.shape}")
    base = zeros(size, dtype=weights.dtype, device=x.device)
    return base.scatter_add(0, x.long(), weights)


def count_nonzero(x: Tensor, dim: Any = None) -> Tensor:
    """How many elements are not zero (over `dim`, or all), as int64."""
    return (x != 0).sum(dim).long() if dim is not None else (x != 0).sum().long()


# ---------------------------------------------------------------- statistics
def diff(
    x: Tensor,
    n: int = 1,
    dim: int = -1,
    prepend: Tensor | None = None,
    append: Tensor | None = None,
) -> Tensor:
    """x[i + 1] - x[i] along `dim`, applied `n` times (after joining prepend/append)."""
    parts = [t for t in (prepend, x, append) if t is not None]
    out = x if len(parts) == 1 else cat(parts, dim)
    for _ in range(n):
        length = out.shape[dim]
        if length == 0:
            break
        out = out.narrow(dim, 1, length - 1) - out.narrow(dim, 0, length - 1)
    return out


def median(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    """The lower median: the ((n - 1) // 2)-th smallest value. With `dim`, (values, indices)."""
    if dim is None:
        flat = x.reshape(-1)
        return flat.sort().values[(flat.shape[0] - 1) // 2]
    values, indices = x.sort(dim)
    middle = (x.shape[dim] - 1) // 2
    v, i = values.narrow(dim, middle, 1), indices.narrow(dim, middle, 1)
    if not keepdim:
        v, i = v.squeeze(dim), i.squeeze(dim)
    return MaxResult(v, i)


def std_mean(x: Tensor, dim: Any = None, keepdim: bool = False, **kw: Any) -> tuple[Tensor, Tensor]:
    """(x.std(dim), x.mean(dim)), with std's `correction`/`unbiased`."""
    return x.std(dim, keepdim, **kw), x.mean(dim, keepdim) if dim is not None else x.mean()


def var_mean(x: Tensor, dim: Any = None, keepdim: bool = False, **kw: Any) -> tuple[Tensor, Tensor]:
    """(x.var(dim), x.mean(dim)), with var's `correction`/`unbiased`."""
    return x.var(dim, keepdim, **kw), x.mean(dim, keepdim) if dim is not None else x.mean()


def nansum(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """The sum with nan counted as zero."""
    clean = x.masked_fill(x.isnan(), 0.0) if x.is_floating_point() else x
    return clean.sum(dim, keepdim) if dim is not None else clean.sum()


# ----------------------------------------------------------------- selection
def masked_select(x: Tensor, mask: Tensor) -> Tensor:
    """The elements of x where mask (broadcast with x) is true, as a 1-D tensor."""
    if mask.dtype.name != "bool":
        raise DTypeError(f"masked_select: mask must be bool, got {mask.dtype}")
    xs, ms = broadcast_tensors(x, mask)
    return xs[ms]


def _along(op: str, x: Tensor, dim: int, index: Tensor) -> tuple[int, Tensor]:
    if index.ndim > 1 or index.dtype.kind not in ("i", "u"):
        raise DTypeError(
            f"{op}: index must be a 0-D or 1-D integer tensor, got {index.dtype} {index.shape}"
        )
    if not -builtins.max(x.ndim, 1) <= dim < builtins.max(x.ndim, 1):
        raise IndexError(f"{op}: dim {dim} is out of range for a {x.ndim}-d tensor")
    return dim % builtins.max(x.ndim, 1), index.reshape(-1).long()


def index_add(x: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1) -> Tensor:
    """x with alpha * source[..., i, ...] added to x[..., index[i], ...] along `dim`."""
    d, idx = _along("index_add", x, dim, index)
    if x.ndim == 0:
        return x + (source * alpha if alpha != 1 else source).reshape(())
    view = [1] * source.ndim
    view[d] = -1
    where = idx.reshape(*view).expand(*source.shape)
    return x.scatter_add(d, where, source * alpha if alpha != 1 else source)


def index_fill(x: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    """x with every slice index[i] along `dim` set to `value`."""
    d, idx = _along("index_fill", x, dim, index)
    if x.ndim == 0:
        return x.masked_fill(tensor(True, device=x.device), value)
    n = x.shape[d]
    hit = (arange(n, device=x.device).unsqueeze(1) == (idx % n).unsqueeze(0)).any(1)
    view = [1] * x.ndim
    view[d] = n
    return x.masked_fill(hit.reshape(*view), value)


# ---------------------------------------------------------------- elementwise
def tan(x: Tensor) -> Tensor:
    return x.sin() / x.cos()


def sinh(x: Tensor) -> Tensor:
    return (x.exp() - (-x).exp()) * 0.5


def cosh(x: Tensor) -> Tensor:
    return (x.exp() + (-x).exp()) * 0.5


def log2(x: Tensor) -> Tensor:
    return x.log() * (1.0 / math.log(2.0))


def log10(x: Tensor) -> Tensor:
    return x.log() * (1.0 / math.log(10.0))


def exp2(x: Tensor) -> Tensor:
    return (x * math.log(2.0)).exp()


def expm1(x: Tensor) -> Tensor:
    # NOTE: exp(x) - 1, not a dedicated kernel: it loses relative precision for |x| << 1
    return x.exp() - 1.0


def exponential(x: Tensor, lambd: float = 1.0, generator: Generator | None = None) -> Tensor:
    """Samples of Exp(lambd) in x's shape, dtype and device: -log(1 - U) / lambd."""
    if lambd <= 0:
        raise ValueError(f"exponential_: lambd must be > 0, got {lambd}")
    u = rand(*x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return -((1.0 - u).log()) / lambd
