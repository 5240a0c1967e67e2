"""pixel_shuffle / pixel_unshuffle, channel_shuffle, unfold (im2col) and fold (col2im).

The shuffles are pure reshapes and permutes. `fold` sums every column of (N, C*kh*kw, L)
back onto the image position it was read from: one `index_add` into the flattened padded
plane with the positions listed on the host, then the padding is cropped off.

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> F.pixel_shuffle(tg.arange(4.0).reshape(1, 4, 1, 1), 2).tolist()
[[[[0.0, 1.0], [2.0, 3.0]]]]
>>> F.fold(F.unfold(tg.ones(1, 1, 3, 3), 2), (3, 3), 2).tolist()[0][0][1]
[2.0, 4.0, 2.0]
"""

from __future__ import annotations

from collections.abc import Sequence

import tinygpt as tg
from tinygpt import ShapeError, Tensor

from .pooling_more import tuple_of

__all__ = ["pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "fold", "unfold"]


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:  # noqa: A002
    """(*, C * r * r, H, W) -> (*, C, H * r, W * r): channels become sub-pixel positions."""
    r = upscale_factor
    if input.ndim < 3 or r < 1 or input.shape[-3] % (r * r):
        raise ShapeError(
            f"pixel_shuffle: expected (*, C * {r}**2, H, W) with upscale_factor >= 1, got "
            f"{input.shape}"
        )
    *lead, c, h, w = input.shape
    n = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    # (*, C, r, r, H, W) -> (*, C, H, r, W, r)
    order = list(range(n)) + [n, n + 3, n + 1, n + 4, n + 2]
    return x.permute(*order).reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:  # noqa: A002
    """(*, C, H * r, W * r) -> (*, C * r * r, H, W): the inverse of pixel_shuffle."""
    r = downscale_factor
    if input.ndim < 3 or r < 1 or input.shape[-1] % r or input.shape[-2] % r:
        raise ShapeError(
            f"pixel_unshuffle: expected (*, C, H, W) with H and W divisible by "
            f"downscale_factor={r}, got {input.shape}"
        )
    *lead, c, h, w = input.shape
    n = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    # (*, C, H, r, W, r) -> (*, C, r, r, H, W)
    order = list(range(n)) + [n, n + 2, n + 4, n + 1, n + 3]
    return x.permute(*order).reshape(*lead, c * r * r, h // r, w // r)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:  # noqa: A002
    """(N, C, *) with C = g * k: channel order (g, k) becomes (k, g) (ShuffleNet)."""
    if input.ndim < 3 or groups < 1 or input.shape[1] % groups:
        raise ShapeError(
            f"channel_shuffle: expected (N, C, *) with C divisible by groups={groups}, got "
            f"{input.shape}"
        )
    n, c, *rest = input.shape
    x = input.reshape(n, groups, c // groups, *rest)
    return x.transpose(1, 2).reshape(n, c, *rest)


def fold(
    input: Tensor,  # noqa: A002
    output_size: int | Sequence[int],
    kernel_size: int | Sequence[int],
    dilation: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    stride: int | Sequence[int] = 1,
) -> Tensor:
    """col2im: (N, C*kh*kw, L) or (C*kh*kw, L) -> (N, C, H, W), overlaps summed."""
    op = "fold"
    height, width = tuple_of(op, "output_size", output_size, 2, 1)
    kh, kw = tuple_of(op, "kernel_size", kernel_size, 2, 1)
    dh, dw = tuple_of(op, "dilation", dilation, 2, 1)
    ph, pw = tuple_of(op, "padding", padding, 2, 0)
    sh, sw = tuple_of(op, "stride", stride, 2, 1)
    unbatched = input.ndim == 2
    cols = input.unsqueeze(0) if unbatched else input
    hp, wp = height + 2 * ph, width + 2 * pw
    ho = (hp - dh * (kh - 1) - 1) // sh + 1
    wo = (wp - dw * (kw - 1) - 1) // sw + 1
    if cols.ndim != 3 or cols.shape[1] % (kh * kw) or cols.shape[2] != ho * wo or ho < 1:
        raise ShapeError(
            f"fold: expected input (N, C * {kh * kw}, {max(ho, 0) * max(wo, 0)}) for "
            f"output_size {(height, width)} and kernel {(kh, kw)}, got {input.shape}"
        )
    n, c = cols.shape[0], cols.shape[1] // (kh * kw)
    # flat position in the padded plane of column (i, j, y, x): row-major like unfold's
    positions = [
        (y * sh + i * dh) * wp + (x * sw + j * dw)
        for i in range(kh)
        for j in range(kw)
        for y in range(ho)
        for x in range(wo)
    ]
    index = tg.tensor(positions, device=input.device)
    flat = cols.reshape(n, c, kh * kw * ho * wo)
    plane = tg.zeros(n, c, hp * wp, dtype=input.dtype, device=input.device)
    image = tg.index_add(plane, 2, index, flat).reshape(n, c, hp, wp)
    image = image[:, :, ph : ph + height, pw : pw + width]
    return image.squeeze(0) if unbatched else image


def unfold(
    input: Tensor,  # noqa: A002
    kernel_size: int | Sequence[int],
    dilation: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    stride: int | Sequence[int] = 1,
) -> Tensor:
    """im2col: (N, C, H, W) -> (N, C*kh*kw, L), or unbatched (C, H, W) -> (C*kh*kw, L);
    core's `tg.unfold` does the work."""
    if input.ndim == 3:
        return tg.unfold(input.unsqueeze(0), kernel_size, dilation, padding, stride)[0]
    return tg.unfold(input, kernel_size, dilation, padding, stride)
