"""Running and whole products and sums along one dim: cumsum, cumprod, prod.

All three are compositions of differentiable adds, multiplies, slices and cats, so autograd
derives their gradients, on every backend, with no kernel of their own:

- cumsum / cumprod scan in ceil(log2 n) steps (Hillis and Steele's scan): after the step
  with shift s, element i holds the sum (product) of the s*2 elements ending at i;
- prod multiplies neighbouring pairs until one element is left (a tree, log2 n steps).

NOTE: the gradient of cumprod and prod is exact where an input is 0 (no division by the
input, unlike the textbook out / x formula). The tree also rounds like a pairwise sum:
float results can differ from a sequential loop in the last bits.

>>> import tinygpt as tg
>>> tg.tensor([1, 2, 3, 4]).cumsum(0).tolist()
[1, 3, 6, 10]
>>> tg.tensor([1.0, 2.0, 3.0, 4.0]).prod().item()
24.0
"""

from __future__ import annotations

from typing import Any

from ..dtypes import as_dtype, int64
from ..ndarray import normalize_axis
from ..tensor import Tensor
from .movement import cat, permute, unsqueeze
from .promotion import cast

__all__ = ["cumsum", "cumprod", "prod"]


def _accumulator(x: Tensor, dtype: Any) -> Tensor:
    """x in the result dtype: `dtype` when given, else int64 for bool and ints (PyTorch)."""
    if dtype is not None:
        return cast(x, as_dtype(dtype))
    if x.dtype.kind in "bi":
        return cast(x, int64)
    return x


def _narrow(x: Tensor, axis: int, start: int, length: int) -> Tensor:
    window = [slice(None)] * x.ndim
    window[axis] = slice(start, start + length)
    return x[tuple(window)]


def _scan(x: Tensor, axis: int, multiply: bool) -> Tensor:
    """Inclusive scan of x along `axis` by doubling shifts (log2 n differentiable steps)."""
    n = x.shape[axis]
    out = x
    shift = 1
    while shift < n:
        # elements [shift, n) combine with the running value `shift` places before them
        head = _narrow(out, axis, 0, shift)
        earlier = _narrow(out, axis, 0, n - shift)
        later = _narrow(out, axis, shift, n - shift)
        combined = later * earlier if multiply else later + earlier
        out = cat([head, combined], axis)
        shift *= 2
    return out


def cumsum(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:  # noqa: A002
    """Running sums along `dim`: out[i] = x[0] + ... + x[i]. Same shape; ints give int64."""
    x = _accumulator(input, dtype)
    if x.ndim == 0:
        return x + 0
    return _scan(x, normalize_axis("cumsum", dim, x.ndim), multiply=False)


def cumprod(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:  # noqa: A002
    """Running products along `dim`: out[i] = x[0] * ... * x[i]. Same shape; ints give int64."""
    x = _accumulator(input, dtype)
    if x.ndim == 0:
        return x * 1
    return _scan(x, normalize_axis("cumprod", dim, x.ndim), multiply=True)


def prod(
    input: Tensor,  # noqa: A002
    dim: int | None = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,
) -> Tensor:
    """Product of all elements (0-d), or along one `dim` (removed unless `keepdim`).

    An empty product is 1; bool and integer inputs give int64, as in PyTorch.
    """
    x = _accumulator(input, dtype)
    if dim is None:
        return _tree_product(x.reshape(-1))
    axis = normalize_axis("prod", dim, x.ndim)
    if x.ndim == 0:
        return x * 1
    order = [d for d in range(x.ndim) if d != axis] + [axis]
    out = _tree_product(permute(x, *order))  # (..., n) -> (...): the other dims, in order
    return unsqueeze(out, axis) if keepdim else out


def _tree_product(x: Tensor) -> Tensor:
    """(..., n) -> (...): multiply neighbouring pairs until one element is left."""
    if x.shape[-1] == 0:
        return x.sum(-1) * 0 + 1  # the empty product, still a node of the graph
    while x.shape[-1] > 1:
        n = x.shape[-1]
        if n % 2:
            # an odd element out waits for the next round: it multiplies the last pair's
            # product there (keeping the pairing simple)
            pairs = _narrow(x, -1, 0, n - 1).reshape(*x.shape[:-1], (n - 1) // 2, 2)
            rest = _narrow(x, -1, n - 1, 1)
            x = cat([pairs[..., 0] * pairs[..., 1], rest], -1)
        else:
            pairs = x.reshape(*x.shape[:-1], n // 2, 2)
            x = pairs[..., 0] * pairs[..., 1]
    return x.squeeze(-1)
