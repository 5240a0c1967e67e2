"""affine_grid and grid_sample: spatial transformer networks' warp (Jaderberg et al. 2015),
as PyTorch's F.affine_grid / F.grid_sample on 4-D images.

`affine_grid(theta, size)` maps every output pixel's normalised coordinate (x, y, 1) in
[-1, 1] through theta (N, 2, 3). `grid_sample(input, grid)` reads input at those coordinates:
bilinear mixes the four neighbouring pixels (weights from the fractional part, so the
gradient reaches the grid too), nearest takes the closest one. Out-of-range reads are 0
("zeros"), the edge ("border") or mirrored ("reflection"). Reads are `gather`s over the
flattened image, whose backward scatters the gradient back.

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> theta = tg.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])  # the identity warp
>>> image = tg.arange(6.0).reshape(1, 1, 2, 3)
>>> grid = F.affine_grid(theta, [1, 1, 2, 3], align_corners=False)
>>> F.grid_sample(image, grid, align_corners=False).tolist() == image.tolist()
True
"""

from __future__ import annotations

from collections.abc import Sequence

import tinygpt as tg
from tinygpt import ShapeError, Tensor

__all__ = ["affine_grid", "grid_sample"]


def _base(n: int, align_corners: bool, like: Tensor) -> Tensor:
    """The n normalised coordinates of pixel centres (or of the corners when aligned)."""
    if n == 1:
        return tg.zeros(1, dtype=like.dtype, device=like.device)
    steps = tg.linspace(-1.0, 1.0, n, dtype=like.dtype, device=like.device)
    return steps if align_corners else steps * ((n - 1) / n)


def affine_grid(theta: Tensor, size: Sequence[int], align_corners: bool | None = None) -> Tensor:
    """theta (N, 2, 3) and size (N, C, H, W) -> grid (N, H, W, 2) of (x, y) in [-1, 1];
    or theta (N, 3, 4) and size (N, C, D, H, W) -> (N, D, H, W, 3)."""
    align = bool(align_corners)
    dims = len(size) - 2
    if dims not in (2, 3) or theta.ndim != 3 or tuple(theta.shape[1:]) != (dims, dims + 1):
        raise ShapeError(
            f"affine_grid: expected theta (N, 2, 3) with a 4-D size or (N, 3, 4) with a 5-D "
            f"size, got theta {theta.shape} and size {tuple(size)}"
        )
    if theta.shape[0] != size[0]:
        raise ShapeError(f"affine_grid: theta has {theta.shape[0]} transforms for N={size[0]}")
    spatial = list(size[2:])  # (H, W) or (D, H, W)
    # axes in (x, y[, z]) order: x runs along the last dim
    axes = [_base(n, align, theta) for n in reversed(spatial)]
    mesh = tg.meshgrid(*reversed(axes), indexing="ij")  # each (H, W) or (D, H, W)
    coords = list(reversed(mesh))  # x, y[, z]
    ones = tg.ones(*spatial, dtype=theta.dtype, device=theta.device)
    base = tg.stack([*coords, ones], -1).reshape(1, -1, dims + 1)  # (1, H*W, 3)
    grid = base @ theta.transpose(1, 2)  # (N, H*W, 2)
    return grid.reshape(size[0], *spatial, dims)


def _unnormalise(coord: Tensor, n: int, align: bool) -> Tensor:
    if align:
        return (coord + 1.0) / 2.0 * (n - 1)
    return ((coord + 1.0) * n - 1.0) / 2.0


def _reflect(coord: Tensor, low: float, high: float) -> Tensor:
    """Mirror coord into [low, high] (PyTorch's reflect_coordinates)."""
    span = high - low
    if span <= 0:
        return tg.zeros_like(coord)
    distance = (coord - low).abs()
    flips = (distance / span).floor()
    extra = distance - flips * span
    even = (flips.remainder(2.0) == 0).detach()
    return tg.where(even, extra + low, span - extra + low)


def _source(coord: Tensor, n: int, padding_mode: str, align: bool) -> Tensor:
    pixel = _unnormalise(coord, n, align)
    if padding_mode == "reflection":
        if align:
            pixel = _reflect(pixel, 0.0, float(n - 1))
        else:
            pixel = _reflect(pixel, -0.5, n - 0.5)
    if padding_mode in ("border", "reflection"):
        pixel = pixel.clamp(0.0, float(n - 1))
    return pixel


def _read(flat: Tensor, x: Tensor, y: Tensor, height: int, width: int) -> Tensor:
    """flat (N, C, H*W) at integer pixels x, y (N, Ho, Wo); 0 outside the image."""
    n, c = flat.shape[0], flat.shape[1]
    inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)
    index = y.clamp(0, height - 1) * width + x.clamp(0, width - 1)  # (N, Ho, Wo)
    out_h, out_w = x.shape[1], x.shape[2]
    picked = flat.gather(2, index.reshape(n, 1, -1).expand(n, c, out_h * out_w))
    values = picked.reshape(n, c, out_h, out_w)
    return tg.where(inside.unsqueeze(1), values, tg.zeros_like(values))


def grid_sample(
    input: Tensor,  # noqa: A002 - PyTorch's name
    grid: Tensor,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool | None = None,
) -> Tensor:
    """input (N, C, H, W) read at grid (N, Ho, Wo, 2) -> (N, C, Ho, Wo)."""
    op = "grid_sample"
    if mode not in ("bilinear", "nearest"):
        raise NotImplementedError(f"{op}: mode {mode!r} is not supported; use bilinear or nearest")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(
            f"{op}: padding_mode must be zeros, border or reflection, not {padding_mode!r}"
        )
    if input.ndim != 4 or grid.ndim != 4 or grid.shape[-1] != 2 or grid.shape[0] != input.shape[0]:
        raise ShapeError(
            f"{op}: expected input (N, C, H, W) and grid (N, Ho, Wo, 2), got {input.shape} and "
            f"{grid.shape}"
        )
    align = bool(align_corners)
    n, c, height, width = input.shape
    flat = input.reshape(n, c, height * width)
    px = _source(grid[..., 0], width, padding_mode, align)  # (N, Ho, Wo)
    py = _source(grid[..., 1], height, padding_mode, align)
    if mode == "nearest":
        # NOTE: round half to even, as PyTorch's nearbyint
        xi = px.detach().round().to(tg.int64)
        yi = py.detach().round().to(tg.int64)
        return _read(flat, xi, yi, height, width)
    x0f = px.detach().floor()
    y0f = py.detach().floor()
    wx1 = (px - x0f).unsqueeze(1)  # (N, 1, Ho, Wo): the gradient to the grid flows here
    wy1 = (py - y0f).unsqueeze(1)
    x0 = x0f.to(tg.int64)
    y0 = y0f.to(tg.int64)
    top = (
        _read(flat, x0, y0, height, width) * (1.0 - wx1)
        + _read(flat, x0 + 1, y0, height, width) * wx1
    )
    bottom = (
        _read(flat, x0, y0 + 1, height, width) * (1.0 - wx1)
        + _read(flat, x0 + 1, y0 + 1, height, width) * wx1
    )
    return top * (1.0 - wy1) + bottom * wy1
