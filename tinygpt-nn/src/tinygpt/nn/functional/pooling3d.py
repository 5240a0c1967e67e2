"""3-D pooling over volumes (N, C, D, H, W): max, average, power-average and adaptive.

All four are separable: a window's max (or sum) over (depth, height, width) is the max (sum)
over depth of the per-slice 2-D results, and PyTorch's average divisor is the product of
the per-axis counts. So each op pools every depth slice in 2-D (depths folded into the
channels) and then pools along depth with a (kd, 1) window over (D, Ho * Wo), reusing the
1-D / 2-D code in `pooling_more.py` and `adaptive_more.py`. Ties resolve to the first
element in (d, h, w) order, as in PyTorch.

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> F.max_pool3d(tg.arange(8.0).reshape(1, 1, 2, 2, 2), 2).tolist()
[[[[[7.0]]]]]
"""

from __future__ import annotations

from collections.abc import Sequence

from tinygpt import ShapeError, Tensor

from .adaptive_more import _max_along
from .adaptive_pool import adaptive_avg_pool2d
from .pooling_more import _avg_pool, _max_pool, tuple_of

IntOr = int | Sequence[int]
Size3 = int | None | Sequence[int | None]

__all__ = [
    "max_pool3d",
    "max_pool3d_with_indices",
    "avg_pool3d",
    "lp_pool3d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool3d",
    "adaptive_max_pool3d_with_indices",
]


def _batched(op: str, x: Tensor) -> tuple[Tensor, bool]:
    if x.ndim not in (4, 5):
        raise ShapeError(f"{op}: expected input (N, C, D, H, W) or (C, D, H, W), got {x.shape}")
    return (x.unsqueeze(0), True) if x.ndim == 4 else (x, False)


def max_pool3d_with_indices(
    input: Tensor,  # noqa: A002 - PyTorch's name
    kernel_size: IntOr,
    stride: IntOr | None = None,
    padding: IntOr = 0,
    dilation: IntOr = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> tuple[Tensor, Tensor]:
    """(max values, int64 flat positions d * H * W + h * W + w) over 3-D windows."""
    op = "max_pool3d"
    x, unbatched = _batched(op, input)
    k = tuple_of(op, "kernel_size", kernel_size, 3, 1)
    s = k if stride is None else tuple_of(op, "stride", stride, 3, 1)
    p = tuple_of(op, "padding", padding, 3, 0)
    d = tuple_of(op, "dilation", dilation, 3, 1)
    n, c, depth, h, w = x.shape
    # 1. every depth slice in 2-D: (N, C * D, H, W) -> (N, C * D, Ho, Wo)
    flat = x.reshape(n, c * depth, h, w)
    slab, slab_index = _max_pool(op, flat, 2, k[1:], s[1:], p[1:], d[1:], ceil_mode)
    ho, wo = slab.shape[-2], slab.shape[-1]
    # 2. along depth: (N, C, D, Ho * Wo) with a (kd, 1) window
    column = slab.reshape(n, c, depth, ho * wo)
    vals, deep = _max_pool(
        op, column, 2, (k[0], 1), (s[0], 1), (p[0], 0), (d[0], 1), ceil_mode
    )  # (N, C, Do, Ho * Wo); deep = winning depth * (Ho * Wo) + cell
    winner_depth = deep // (ho * wo)
    hw = slab_index.reshape(n, c, depth, ho * wo).gather(2, winner_depth)
    index = winner_depth * (h * w) + hw
    out_d = vals.shape[2]
    vals = vals.reshape(n, c, out_d, ho, wo)
    index = index.reshape(n, c, out_d, ho, wo)
    return (vals[0], index[0]) if unbatched else (vals, index)


def max_pool3d(
    input: Tensor,  # noqa: A002
    kernel_size: IntOr,
    stride: IntOr | None = None,
    padding: IntOr = 0,
    dilation: IntOr = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Max over kd x kh x kw windows: (N, C, D, H, W) -> (N, C, Do, Ho, Wo)."""
    vals, index = max_pool3d_with_indices(input, kernel_size, stride, padding, dilation, ceil_mode)
    return (vals, index) if return_indices else vals


def avg_pool3d(
    input: Tensor,  # noqa: A002
    kernel_size: IntOr,
    stride: IntOr | None = None,
    padding: IntOr = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over kd x kh x kw windows: (N, C, D, H, W) -> (N, C, Do, Ho, Wo)."""
    op = "avg_pool3d"
    x, unbatched = _batched(op, input)
    k = tuple_of(op, "kernel_size", kernel_size, 3, 1)
    s = k if stride is None else tuple_of(op, "stride", stride, 3, 1)
    p = tuple_of(op, "padding", padding, 3, 0)
    n, c, depth, h, w = x.shape
    # with an override the two stages only sum (divisor 1), and the override divides once
    plane_divisor = None if divisor_override is None else 1
    slab = _avg_pool(
        op, x.reshape(n, c * depth, h, w), 2, k[1:], s[1:], p[1:], ceil_mode,
        count_include_pad, plane_divisor,
    )  # fmt: skip
    ho, wo = slab.shape[-2], slab.shape[-1]
    column = slab.reshape(n, c, depth, ho * wo)
    out = _avg_pool(
        op, column, 2, (k[0], 1), (s[0], 1), (p[0], 0), ceil_mode, count_include_pad,
        plane_divisor,
    )  # fmt: skip
    if divisor_override is not None:
        if divisor_override == 0:
            raise ValueError(f"{op}: divisor_override must not be 0")
        out = out / float(divisor_override)
    out = out.reshape(n, c, out.shape[2], ho, wo)
    return out[0] if unbatched else out


def lp_pool3d(
    input: Tensor,  # noqa: A002
    norm_type: float,
    kernel_size: IntOr,
    stride: IntOr | None = None,
    ceil_mode: bool = False,
) -> Tensor:
    """(sum over each kd x kh x kw window of x ** p) ** (1 / p)."""
    k = tuple_of("lp_pool3d", "kernel_size", kernel_size, 3, 1)
    mean = avg_pool3d(input.pow(norm_type), k, stride, 0, ceil_mode)
    return (mean * float(k[0] * k[1] * k[2])).pow(1.0 / norm_type)


def _triple(op: str, size: Size3, shape: Sequence[int]) -> tuple[int, int, int]:
    items = [size] * 3 if size is None or isinstance(size, int) else list(size)
    if len(items) != 3:
        raise ValueError(f"{op}: output_size must be an int or a triple, got {size}")
    out = [shape[a] if items[a] is None else int(items[a]) for a in range(3)]  # type: ignore[arg-type]
    if min(out) < 1:
        raise ValueError(f"{op}: output_size must be >= 1, got {size}")
    return out[0], out[1], out[2]


def adaptive_avg_pool3d(input: Tensor, output_size: Size3) -> Tensor:  # noqa: A002
    """(N, C, D, H, W) -> (N, C, od, oh, ow): means over PyTorch's adaptive bins."""
    op = "adaptive_avg_pool3d"
    x, unbatched = _batched(op, input)
    n, c, depth, h, w = x.shape
    od, oh, ow = _triple(op, output_size, (depth, h, w))
    slab = adaptive_avg_pool2d(x.reshape(n * c, depth, h, w), (oh, ow))  # (N*C, D, oh, ow)
    # depth last: (N*C, oh*ow, D) pooled to od, an image of height 1 per cell
    column = slab.reshape(n * c, depth, oh * ow).transpose(1, 2).unsqueeze(-2)
    pooled = adaptive_avg_pool2d(column, (1, od)).squeeze(-2)  # (N*C, oh*ow, od)
    out = pooled.transpose(1, 2).reshape(n, c, od, oh, ow)
    return out[0] if unbatched else out


def adaptive_max_pool3d_with_indices(
    input: Tensor,  # noqa: A002
    output_size: Size3,
    return_indices: bool = False,
) -> tuple[Tensor, Tensor]:
    """(max values, int64 flat positions) over PyTorch's adaptive 3-D bins."""
    op = "adaptive_max_pool3d"
    x, unbatched = _batched(op, input)
    depth, h, w = x.shape[2], x.shape[3], x.shape[4]
    od, oh, ow = _triple(op, output_size, (depth, h, w))
    across, cols = _max_along(x, -1, ow)  # (N, C, D, H, ow)
    rows_max, rows = _max_along(across, -2, oh)  # (N, C, D, oh, ow)
    col = cols.gather(3, rows)  # the winning column in the winning row
    vals, deps = _max_along(rows_max, -3, od)  # (N, C, od, oh, ow)
    row = rows.gather(2, deps)
    col = col.gather(2, deps)
    index = deps * (h * w) + row * w + col
    return (vals[0], index[0]) if unbatched else (vals, index)


def adaptive_max_pool3d(
    input: Tensor,  # noqa: A002
    output_size: Size3,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """(N, C, D, H, W) -> (N, C, od, oh, ow): maxima over adaptive bins."""
    vals, index = adaptive_max_pool3d_with_indices(input, output_size)
    return (vals, index) if return_indices else vals
