"""Vector norms, as `torch.norm` / `Tensor.norm`: the p-norm over some dims, or all of them.

A composition of abs, pow, sum, max and sqrt, so autograd derives the gradient. As in
PyTorch, the gradient of the 2-norm (and of any p-norm) at an all-zero input is 0, not the
0 * inf = nan that differentiating sqrt (or the 1/p power) at 0 would give.

>>> import tinygpt as tg
>>> tg.tensor([3.0, 4.0]).norm().item()
5.0
>>> tg.tensor([[3.0, -4.0], [1.0, 0.0]]).norm(p=1, dim=1).tolist()
[7.0, 1.0]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..dtypes import as_dtype
from ..errors import DTypeError
from ..tensor import Tensor
from .comparison import where
from .promotion import cast
from .reductions import Max, Min, normalize_dims

__all__ = ["norm"]


def _root(total: Tensor, p: float) -> Tensor:
    """total ** (1 / p), with gradient 0 where total is 0 (total itself passes there)."""
    zero = total == 0
    safe = where(zero, 1.0, total)
    root = safe.sqrt() if p == 2 else safe ** (1.0 / p)
    return where(zero, total, root)


def norm(
    input: Tensor,  # noqa: A002 - PyTorch's name
    p: float | str | None = "fro",
    dim: int | Sequence[int] | None = None,
    keepdim: bool = False,
    dtype: Any = None,
) -> Tensor:
    """The p-norm of `input` over `dim` (all dims when None).

    p: "fro" or 2 (sqrt of the sum of squares), 1, inf (largest |x|), -inf (smallest |x|),
    0 (the number of nonzero elements), or any other number: sum(|x|**p) ** (1/p).
    """
    x = cast(input, as_dtype(dtype)) if dtype is not None else input
    if not x.dtype.is_floating_point:
        raise DTypeError(
            f"norm: needs a floating tensor, got {x.dtype}; use x.float() (as in PyTorch)"
        )
    if p is None or p == "fro":
        p = 2.0
    if isinstance(p, str):
        raise NotImplementedError(f"norm: p={p!r} (a matrix norm) is not supported; use 'fro'")
    axes = normalize_dims("norm", dim, x.ndim)
    size = x.abs()
    if p == math.inf:
        return _extreme(size, axes, keepdim, largest=True)
    if p == -math.inf:
        return _extreme(size, axes, keepdim, largest=False)
    if p == 0:
        return cast((x != 0).sum(axes, keepdim), x.dtype)
    if p == 1:
        return size.sum(axes, keepdim)
    if p == 2:
        return _root((x * x).sum(axes, keepdim), 2.0)
    return _root((size**p).sum(axes, keepdim), float(p))


def _extreme(size: Tensor, axes: tuple[int, ...], keepdim: bool, largest: bool) -> Tensor:
    """max / min of |x| over several axes (one reduction; ties share the gradient)."""
    if not axes:
        return size
    return (Max if largest else Min).apply(size, axes=axes, keepdim=keepdim)
