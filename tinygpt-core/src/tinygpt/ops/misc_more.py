"""The last everyday `torch.*` names, composed of existing ops: `addcdiv`, `addcmul`,
`addbmm`, `rsub`, `adjoint`, `argwhere`, `nanmedian`, `sum_to_size`, the `*_scatter` family
(`select_scatter`, `slice_scatter`, `diagonal_scatter`), integer `gcd` / `lcm`, `ldexp`,
`unravel_index`, `mvlgamma`, distances (`pairwise_distance`, `cosine_similarity`, `pdist`),
window functions (`hann_window`, ...) and the random in-place fills (`random_`,
`log_normal_`, `cauchy_`, `geometric_`).

The `*_scatter` ops find which flat positions the view covers by taking the same view of a
tensor of positions (arange), then write there with `put`: exact and differentiable in both
the input and the source.

>>> import tinygpt as tg
>>> tg.select_scatter(tg.zeros(2, 2), tg.ones(2), 0, 1).tolist()
[[0.0, 0.0], [1.0, 1.0]]
"""

from __future__ import annotations

import math
from typing import Any

from ..creation import arange, tensor
from ..dtypes import int64
from ..errors import DTypeError, ShapeError
from ..ndarray import normalize_axis
from ..random import Generator, rand, randint, randn
from ..tensor import Tensor
from .comparison import where
from .extras_linalg import diagonal
from .promotion import cast, to_float
from .reductions import MaxResult
from .scatter import gather
from .scatter_more import put
from .special_math import lgamma
from .structure_more import broadcast_shapes

__all__ = [
    "addbmm",
    "addcdiv",
    "addcmul",
    "adjoint",
    "argwhere",
    "bartlett_window",
    "blackman_window",
    "cauchy",
    "cosine_similarity",
    "diagonal_scatter",
    "gcd",
    "geometric",
    "hamming_window",
    "hann_window",
    "lcm",
    "ldexp",
    "log_normal",
    "mvlgamma",
    "nanmedian",
    "pairwise_distance",
    "pdist",
    "random_integers",
    "rsub",
    "select_scatter",
    "slice_scatter",
    "sum_to_size",
    "unravel_index",
]


# ------------------------------------------------------------------ arithmetic
def addcdiv(x: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    """x + value * tensor1 / tensor2."""
    return x + (tensor1 / tensor2) * value


def addcmul(x: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    """x + value * tensor1 * tensor2."""
    return x + (tensor1 * tensor2) * value


def addbmm(x: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """beta * x + alpha * sum_b batch1[b] @ batch2[b]."""
    if batch1.ndim != 3 or batch2.ndim != 3:
        raise ShapeError(
            f"addbmm: batch1 and batch2 must be 3-D, got {tuple(batch1.shape)} and "
            f"{tuple(batch2.shape)}"
        )
    total = (batch1 @ batch2).sum(0) * alpha
    if beta == 0:
        return total  # as PyTorch: x is ignored, so nan in it does not leak through
    return x * beta + total


def rsub(x: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """other - alpha * x (subtraction with the operands swapped)."""
    return other - x * alpha


def adjoint(x: Tensor) -> Tensor:
    """The last two dims swapped (the conjugate transpose; tinygpt has no complex)."""
    if x.ndim < 2:
        raise ShapeError(f"adjoint: needs >= 2 dims, got shape {tuple(x.shape)}")
    return x.transpose(-2, -1)


def ldexp(x: Tensor, other: Any) -> Tensor:
    """x * 2**other."""
    return to_float(x) * (2.0 ** to_float(other) if isinstance(other, Tensor) else 2.0**other)


def _integers(op: str, a: Any, b: Any) -> tuple[Tensor, Tensor]:
    like = a if isinstance(a, Tensor) else b
    a = a if isinstance(a, Tensor) else tensor(a, device=like.device)
    b = b if isinstance(b, Tensor) else tensor(b, device=like.device)
    if a.dtype.kind != "i" or b.dtype.kind != "i":
        raise DTypeError(f"{op}: needs integer tensors, got {a.dtype} and {b.dtype}")
    return a, b


def gcd(a: Any, b: Any) -> Tensor:
    """Greatest common divisor, elementwise (integers). NOTE: Euclid's algorithm runs until
    every element is done, checking on the host once per round (at most ~90 for int64)."""
    a, b = _integers("gcd", a, b)
    shape = broadcast_shapes(a.shape, b.shape)
    a, b = a.abs().broadcast_to(*shape), b.abs().broadcast_to(*shape)
    while (b != 0).any().item():
        running = b != 0
        safe_b = where(running, b, 1)
        a, b = where(running, b, a), where(running, a % safe_b, 0)
    return a


def lcm(a: Any, b: Any) -> Tensor:
    """Least common multiple, elementwise (integers); 0 if either is 0."""
    a, b = _integers("lcm", a, b)
    g = gcd(a, b)
    return where(g == 0, 0, (a // where(g == 0, 1, g) * b).abs())


def mvlgamma(x: Tensor, p: int) -> Tensor:
    """The log of the multivariate gamma function of dimension p."""
    if p < 1:
        raise ValueError(f"mvlgamma: p must be >= 1, got {p}")
    x = to_float(x)
    total = lgamma(x)
    for i in range(1, p):
        total = total + lgamma(x - i / 2)
    return total + p * (p - 1) / 4 * math.log(math.pi)


# ------------------------------------------------------------------ positions
def argwhere(x: Tensor) -> Tensor:
    """(N, ndim) indices of the nonzero elements (`nonzero()`'s other name)."""
    return x.nonzero()


def unravel_index(indices: Any, shape: Any) -> tuple[Tensor, ...]:
    """The coordinates in `shape` of flat `indices` (row-major), one tensor per dim."""
    flat = indices if isinstance(indices, Tensor) else tensor(indices, dtype=int64)
    if flat.dtype.kind != "i":
        raise DTypeError(f"unravel_index: indices must be integers, got {flat.dtype}")
    sizes = [shape] if isinstance(shape, int) else list(shape)
    total = math.prod(sizes)
    if ((flat < -total) | (flat >= total)).any().item():
        raise IndexError(f"unravel_index: an index is out of range for shape {tuple(sizes)}")
    flat = where(flat < 0, flat + total, flat)
    coords = []
    stride = total
    for size in sizes:
        stride //= size
        coords.append((flat // stride) % size)
    return tuple(coords)


def _numbered(x: Tensor) -> Tensor:
    return arange(x.numel(), device=x.device).reshape(*x.shape)


def _put_view(op: str, x: Tensor, positions: Tensor, src: Tensor) -> Tensor:
    if tuple(src.shape) != tuple(positions.shape):
        raise ShapeError(
            f"{op}: src has shape {tuple(src.shape)}, but the slice it replaces has "
            f"{tuple(positions.shape)}"
        )
    return put(x, positions, src)


def select_scatter(x: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    """x with x.select(dim, index) replaced by src."""
    return _put_view("select_scatter", x, _numbered(x).select(dim, index), src)


def slice_scatter(
    x: Tensor,
    src: Tensor,
    dim: int = 0,
    start: int | None = None,
    end: int | None = None,
    step: int = 1,
) -> Tensor:
    """x with x[..., start:end:step, ...] (along `dim`) replaced by src."""
    axis = normalize_axis("slice_scatter", dim, x.ndim)
    window = (slice(None),) * axis + (slice(start, end, step),)
    return _put_view("slice_scatter", x, _numbered(x)[window], src)


def diagonal_scatter(
    x: Tensor, src: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1
) -> Tensor:
    """x with x.diagonal(offset, dim1, dim2) replaced by src."""
    positions = diagonal(_numbered(x), offset, dim1, dim2)
    return _put_view("diagonal_scatter", x, positions, src)


def sum_to_size(x: Tensor, *size: Any) -> Tensor:
    """x summed down to `size` (which x's shape must broadcast from)."""
    shape = tuple(size[0]) if len(size) == 1 and not isinstance(size[0], int) else size
    lead = x.ndim - len(shape)
    if lead < 0 or any(s not in (1, n) for s, n in zip(shape, x.shape[lead:], strict=True)):
        raise ShapeError(f"sum_to_size: shape {tuple(x.shape)} does not reduce to {shape}")
    out = x.sum(tuple(range(lead))) if lead else x
    dims = tuple(d for d, s in enumerate(shape) if s == 1 and out.shape[d] != 1)
    return out.sum(dims, keepdim=True) if dims else out


def nanmedian(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    """The lower median of the non-nan values (nan where all are nan); with `dim`,
    (values, indices)."""
    data = x.reshape(-1) if dim is None else x
    axis = -1 if dim is None else normalize_axis("nanmedian", dim, max(x.ndim, 1))
    if data.ndim == 0:
        data, axis = data.reshape(1), 0
    order = data.argsort(axis, stable=True)  # nan sort last
    valid = (~data.isnan()).sum(axis, keepdim=True) if data.is_floating_point() else None
    if valid is None:
        valid = order.narrow(axis, 0, 1) * 0 + data.shape[axis]
    middle = where(valid > 0, (valid - 1) // 2, 0)
    index = gather(order, axis, middle)
    values = gather(data, axis, index)
    if dim is None:
        return values.reshape(())
    if not keepdim:
        values, index = values.squeeze(axis), index.squeeze(axis)
    return MaxResult(values, index)


# ------------------------------------------------------------------ distances
def _p_norm(diff: Tensor, p: float, dim: int, keepdim: bool) -> Tensor:
    if p == math.inf:
        return diff.abs().amax(dim, keepdim)
    if p == 0:
        return cast(diff != 0, diff.dtype).sum(dim, keepdim)
    if p == 2:
        return (diff * diff).sum(dim, keepdim).sqrt()
    if p == 1:
        return diff.abs().sum(dim, keepdim)
    return diff.abs().pow(p).sum(dim, keepdim).pow(1.0 / p)


def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """||x1 - x2 + eps||_p over the last dim."""
    return _p_norm(x1 - x2 + eps, p, -1, keepdim)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """x1 . x2 / max(||x1|| * ||x2||, eps) along `dim`."""
    dot = (x1 * x2).sum(dim)
    norms = _p_norm(x1, 2, dim, False) * _p_norm(x2, 2, dim, False)
    return dot / norms.clamp_min(eps)


def pdist(x: Tensor, p: float = 2.0) -> Tensor:
    """The p-norm distances between all row pairs i < j of (N, M): (N (N - 1) / 2,)."""
    if x.ndim != 2:
        raise ShapeError(f"pdist: expected a 2-D input (N, M), got {tuple(x.shape)}")
    n = x.shape[0]
    first = [i for i in range(n) for _ in range(i + 1, n)]
    second = [j for i in range(n) for j in range(i + 1, n)]
    rows_i = x.index_select(0, tensor(first, dtype=int64, device=x.device))
    rows_j = x.index_select(0, tensor(second, dtype=int64, device=x.device))
    return _p_norm(rows_i - rows_j, p, -1, False)


# ------------------------------------------------------------------ windows
def _window(op: str, n: int, periodic: bool, weights: tuple[float, ...], kw: dict) -> Tensor:
    """sum_k weights[k] * cos(2 pi k i / d) * (-1)^k, d = n (periodic) or n - 1."""
    if n < 0:
        raise ValueError(f"{op}: window_length must be >= 0, got {n}")
    if n == 1:
        return tensor([1.0], dtype=kw.get("dtype"), device=kw.get("device"))
    d = n if periodic else n - 1
    values = [
        sum(w * (-1) ** k * math.cos(2 * math.pi * k * i / d) for k, w in enumerate(weights))
        for i in range(n)
    ]
    return tensor(values, dtype=kw.get("dtype"), device=kw.get("device"))


def hann_window(window_length: int, periodic: bool = True, **kw: Any) -> Tensor:
    return _window("hann_window", window_length, periodic, (0.5, 0.5), kw)


def hamming_window(
    window_length: int,
    periodic: bool = True,
    alpha: float = 0.54,
    beta: float = 0.46,
    **kw: Any,
) -> Tensor:
    return _window("hamming_window", window_length, periodic, (alpha, beta), kw)


def blackman_window(window_length: int, periodic: bool = True, **kw: Any) -> Tensor:
    return _window("blackman_window", window_length, periodic, (0.42, 0.5, 0.08), kw)


def bartlett_window(window_length: int, periodic: bool = True, **kw: Any) -> Tensor:
    """The triangle 1 - |2i/d - 1|."""
    if window_length == 1:
        return tensor([1.0], dtype=kw.get("dtype"), device=kw.get("device"))
    d = window_length if periodic else window_length - 1
    values = [1.0 - abs(2.0 * i / d - 1.0) for i in range(window_length)]
    return tensor(values, dtype=kw.get("dtype"), device=kw.get("device"))


# ------------------------------------------------------------------ random fills
#: x.random_()'s upper bound per dtype: 2**mantissa bits for floats, the maximum for ints
_RANDOM_RANGE = {
    "float16": 2**11,
    "bfloat16": 2**8,
    "float32": 2**24,
    "float64": 2**53,
    "uint8": 2**8,
    "int8": 2**7,
    "int32": 2**31,
    "int64": 2**63 - 1,
    "bool": 2,
}


def random_integers(x: Tensor, low: int, high: int | None, generator: Generator | None) -> Tensor:
    """Integers uniform in [low, high) in x's shape and dtype; no `high`: [0, low) when low
    is given alone, else [0, 2**mantissa] for floats (as `Tensor.random_`)."""
    if high is None:
        if low:
            low, high = 0, low  # x.random_(n): [0, n)
        else:
            # x.random_(): every integer the dtype holds exactly
            low, high = 0, _RANDOM_RANGE[x.dtype.name]
    drawn = randint(low, high, tuple(x.shape), generator=generator, device=x.device)
    return cast(drawn, x.dtype)


def log_normal(x: Tensor, mean: float, std: float, generator: Generator | None) -> Tensor:
    """exp(N(mean, std^2)) samples in x's shape and dtype."""
    noise = randn(*x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return (noise * std + mean).exp()


def cauchy(x: Tensor, median: float, sigma: float, generator: Generator | None) -> Tensor:
    """median + sigma * tan(pi (U - 1/2))."""
    u = rand(*x.shape, generator=generator, dtype=x.dtype, device=x.device)
    angle = (u - 0.5) * math.pi
    return angle.sin() / angle.cos() * sigma + median


def geometric(x: Tensor, p: float, generator: Generator | None) -> Tensor:
    """The number of Bernoulli(p) trials up to the first success: ceil(log U / log(1 - p))."""
    if not 0 < p < 1:
        raise ValueError(f"geometric_: p must be in (0, 1), got {p}")
    u = rand(*x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return ((1.0 - u).log() / math.log(1 - p)).ceil().clamp_min(1)
