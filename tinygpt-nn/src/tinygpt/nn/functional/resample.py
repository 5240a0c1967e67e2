"""interpolate (and its old names upsample, upsample_nearest, upsample_bilinear): resize the
spatial dims of (N, C, *spatial) with PyTorch's modes and coordinate conventions.

Both modes are separable, so each spatial dim is resized on its own, one after another:

- "nearest": output i reads input floor(i * scale) ("nearest-exact": floor((i + 0.5) * scale));
- "linear" / "bilinear" / "trilinear": output i reads the two inputs around its source
  coordinate and mixes them, src = (i + 0.5) * scale - 0.5 (clamped at 0), or with
  align_corners=True src = i * (in - 1) / (out - 1), so the corner pixels line up;
- "bicubic": four inputs around src (not clamped), Keys' cubic weights with a = -0.75, reads
  past the edge repeat the edge (PyTorch's rule);
- "area": adaptive average pooling to the output size.

scale is in / out, or 1 / scale_factor when scale_factor is given (PyTorch's rule unless
recompute_scale_factor=True). The source indices and weights depend only on the shapes, so
they are made on the host; the reads are `index_select`, whose backward sums the gradient.

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> F.interpolate(tg.tensor([[[1.0, 2.0]]]), scale_factor=2).tolist()
[[[1.0, 1.0, 2.0, 2.0]]]
>>> F.interpolate(tg.tensor([[[0.0, 3.0]]]), size=4, mode="linear", align_corners=True).tolist()
[[[0.0, 1.0, 2.0, 3.0]]]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import tinygpt as tg
from tinygpt import ShapeError, Tensor

from .adaptive_more import adaptive_avg_pool1d
from .adaptive_pool import adaptive_avg_pool2d
from .pooling3d import adaptive_avg_pool3d

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear"]

# mode -> the number of spatial dims it needs (None: any of 1, 2, 3)
_MODES: dict[str, int | None] = {
    "nearest": None,
    "nearest-exact": None,
    "linear": 1,
    "bilinear": 2,
    "trilinear": 3,
    "bicubic": 2,
    "area": None,
}

Size = int | Sequence[int] | None
Scale = float | Sequence[float] | None


def _per_dim(op: str, name: str, value: Sequence[float] | float, dims: int) -> list[float]:
    items = [value] * dims if isinstance(value, int | float) else list(value)
    if len(items) != dims:
        raise ValueError(f"{op}: {name} {value!r} has {len(items)} entries for {dims} spatial dims")
    return [float(v) for v in items]


def _plan(
    x: Tensor, size: Size, scale_factor: Scale, recompute: bool | None
) -> tuple[list[int], list[float | None]]:
    """Output sizes and the scale_factor each dim's coordinates use (None: in / out)."""
    dims = x.ndim - 2
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    spatial = list(x.shape[2:])
    if size is not None:
        sizes = [int(s) for s in _per_dim("interpolate", "size", size, dims)]
        return sizes, [None] * dims
    assert scale_factor is not None
    factors = _per_dim("interpolate", "scale_factor", scale_factor, dims)
    sizes = [int(math.floor(n * f)) for n, f in zip(spatial, factors, strict=True)]
    used: list[float | None] = [None] * dims if recompute else list(factors)
    return sizes, used


def _scale(n_in: int, n_out: int, factor: float | None, align_corners: bool) -> float:
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    return 1.0 / factor if factor is not None and factor > 0 else n_in / n_out


def _nearest(x: Tensor, dim: int, n_out: int, factor: float | None, exact: bool) -> Tensor:
    n_in = x.shape[dim]
    scale = _scale(n_in, n_out, factor, False)
    offset = 0.5 if exact else 0.0
    source = [min(int(math.floor((i + offset) * scale)), n_in - 1) for i in range(n_out)]
    return tg.index_select(x, dim, tg.tensor(source, device=x.device))


def _linear(x: Tensor, dim: int, n_out: int, factor: float | None, align_corners: bool) -> Tensor:
    n_in = x.shape[dim]
    scale = _scale(n_in, n_out, factor, align_corners)
    lows, highs, weights = [], [], []
    for i in range(n_out):
        src = i * scale if align_corners else max((i + 0.5) * scale - 0.5, 0.0)
        low = min(int(math.floor(src)), n_in - 1)
        lows.append(low)
        highs.append(min(low + 1, n_in - 1))
        weights.append(src - low)
    view = [1] * x.ndim
    view[dim] = n_out
    lam = tg.tensor(weights, dtype=x.dtype, device=x.device).reshape(*view)
    low_rows = tg.index_select(x, dim, tg.tensor(lows, device=x.device))
    high_rows = tg.index_select(x, dim, tg.tensor(highs, device=x.device))
    return low_rows * (1.0 - lam) + high_rows * lam


def _cubic_weights(t: float) -> list[float]:
    """Keys' cubic convolution weights (a = -0.75, as PyTorch) for taps at -1, 0, 1, 2."""
    a = -0.75

    def near(x: float) -> float:  # |x| <= 1
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0

    def far(x: float) -> float:  # 1 < |x| < 2
        return ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a

    return [far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)]


def _bicubic_axis(
    x: Tensor, dim: int, n_out: int, factor: float | None, align_corners: bool
) -> Tensor:
    n_in = x.shape[dim]
    scale = _scale(n_in, n_out, factor, align_corners)
    taps: list[list[int]] = [[], [], [], []]
    weights: list[list[float]] = [[], [], [], []]
    for i in range(n_out):
        # NOTE: unlike the linear modes, the cubic source coordinate is not clamped at 0
        src = i * scale if align_corners else (i + 0.5) * scale - 0.5
        base = math.floor(src)
        for j, weight in enumerate(_cubic_weights(src - base)):
            taps[j].append(min(max(base - 1 + j, 0), n_in - 1))
            weights[j].append(weight)
    view = [1] * x.ndim
    view[dim] = n_out
    out = None
    for j in range(4):
        rows = tg.index_select(x, dim, tg.tensor(taps[j], device=x.device))
        mix = tg.tensor(weights[j], dtype=x.dtype, device=x.device).reshape(*view)
        out = rows * mix if out is None else out + rows * mix
    assert out is not None
    return out


def _area(x: Tensor, sizes: list[int]) -> Tensor:
    """Adaptive average pooling of the spatial dims to `sizes` (PyTorch's "area")."""
    if len(sizes) == 1:
        return adaptive_avg_pool1d(x, sizes[0])
    if len(sizes) == 2:
        return adaptive_avg_pool2d(x, (sizes[0], sizes[1]))
    return adaptive_avg_pool3d(x, (sizes[0], sizes[1], sizes[2]))


def interpolate(
    input: Tensor,  # noqa: A002 - PyTorch's name
    size: Size = None,
    scale_factor: Scale = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize (N, C, *spatial) to `size`, or by `scale_factor`, with `mode`.

    Supports nearest, nearest-exact, area, linear (3-D input), bilinear and bicubic (4-D),
    trilinear (5-D).
    """
    if mode not in _MODES:
        raise NotImplementedError(
            f"interpolate: mode {mode!r} is not supported; use one of {', '.join(_MODES)}"
        )
    dims = input.ndim - 2
    needed = _MODES[mode]
    if dims not in (1, 2, 3) or (needed is not None and dims != needed):
        want = (
            "(N, C, L), (N, C, H, W) or (N, C, D, H, W)"
            if needed is None
            else (f"a {needed + 2}-D input (N, C, <{needed} spatial dims>)")
        )
        raise ShapeError(f"interpolate: mode {mode!r} expects {want}, got {input.shape}")
    linear = mode in ("linear", "bilinear", "trilinear", "bicubic")
    if align_corners is not None and not linear:
        raise ValueError(
            "interpolate: align_corners only applies to the linear modes (linear, bilinear, "
            f"trilinear), not {mode!r}; leave it None"
        )
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    sizes, factors = _plan(input, size, scale_factor, recompute_scale_factor)
    if min(sizes) < 1:
        raise ShapeError(f"interpolate: output size {tuple(sizes)} must be positive")
    if mode == "area":
        return _area(input, sizes)
    out = input
    for k, (n_out, factor) in enumerate(zip(sizes, factors, strict=True)):
        dim = 2 + k
        if mode == "bicubic":
            out = _bicubic_axis(out, dim, n_out, factor, bool(align_corners))
        elif linear:
            out = _linear(out, dim, n_out, factor, bool(align_corners))
        else:
            out = _nearest(out, dim, n_out, factor, mode == "nearest-exact")
    return out


def upsample(
    input: Tensor,  # noqa: A002
    size: Size = None,
    scale_factor: Scale = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
) -> Tensor:
    """The old name of `interpolate`."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size: Size = None, scale_factor: Scale = None) -> Tensor:  # noqa: A002
    """interpolate(mode="nearest")."""
    return interpolate(input, size, scale_factor, "nearest")


def upsample_bilinear(input: Tensor, size: Size = None, scale_factor: Scale = None) -> Tensor:  # noqa: A002
    """interpolate(mode="bilinear", align_corners=True), as this old PyTorch function does."""
    return interpolate(input, size, scale_factor, "bilinear", align_corners=True)
