"""conv3d and conv_transpose3d over volumes (N, C, D, H, W), built on core's 2-D conv2d.

A 3-D convolution sums, over the kd depth taps of its kernel, 2-D convolutions of depth
slices: tap j reads input depths j * dilation + t * stride for output depth t. Folding the
output depths into the batch makes each tap one conv2d call, (N * Do, C, H, W) with the
kernel slice weight[:, :, j], so kd calls in all, and conv2d's backward does the rest.

The transposed form stretches the input with zeros (stride), pads it and convolves with the
flipped, channel-swapped kernel, as `conv_transpose.py` explains for 2-D.

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> F.conv3d(tg.ones(1, 1, 3, 3, 3), tg.ones(1, 1, 2, 2, 2)).shape
(1, 1, 2, 2, 2)
"""

from __future__ import annotations

from collections.abc import Sequence

import tinygpt as tg
from tinygpt import ShapeError, Tensor

from .padding import pad
from .pooling_more import tuple_of

IntOr = int | Sequence[int]

__all__ = ["conv3d", "conv_transpose3d"]


def _same_padding(k: tuple[int, ...], d: tuple[int, ...]) -> list[tuple[int, int]]:
    """PyTorch's "same": total d * (k - 1) per dim, the odd one extra on the far side."""
    out = []
    for kk, dd in zip(k, d, strict=True):
        total = dd * (kk - 1)
        out.append((total // 2, total - total // 2))
    return out


def conv3d(
    input: Tensor,  # noqa: A002 - PyTorch's name
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOr = 1,
    padding: IntOr | str = 0,
    dilation: IntOr = 1,
    groups: int = 1,
) -> Tensor:
    """(N, C, D, H, W) * (O, C / groups, kd, kh, kw) -> (N, O, Do, Ho, Wo), or unbatched."""
    op = "conv3d"
    if input.ndim == 4:
        return conv3d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups)[0]
    if input.ndim != 5 or weight.ndim != 5 or input.shape[1] != weight.shape[1] * groups:
        raise ShapeError(
            f"{op}: expected input (N, C, D, H, W) and weight (O, C / groups, kd, kh, kw) with "
            f"C = {weight.shape[1] if weight.ndim == 5 else '?'} * groups={groups}, got "
            f"{input.shape} and {weight.shape}"
        )
    s = tuple_of(op, "stride", stride, 3, 1)
    d = tuple_of(op, "dilation", dilation, 3, 1)
    k = tuple(weight.shape[2:])
    if padding == "valid":
        sides = [(0, 0)] * 3
    elif padding == "same":
        if s != (1, 1, 1):
            raise ValueError(f"{op}: padding='same' needs stride 1, got {s}")
        sides = _same_padding(k, d)
    elif isinstance(padding, str):
        raise ValueError(f"{op}: padding must be an int, a triple, 'same' or 'valid'")
    else:
        sides = [(p, p) for p in tuple_of(op, "padding", padding, 3, 0)]
    amounts = [a for pair in reversed(sides) for a in pair]  # (left, right, top, ...)
    x = pad(input, amounts) if any(amounts) else input
    n, c, depth = x.shape[0], x.shape[1], x.shape[2]
    out_d = (depth - d[0] * (k[0] - 1) - 1) // s[0] + 1
    if out_d < 1:
        raise ShapeError(f"{op}: input {input.shape} is shallower than the kernel {k}")
    total = None
    for j in range(k[0]):
        start = j * d[0]
        taps = x[:, :, start : start + (out_d - 1) * s[0] + 1 : s[0]]  # (N, C, Do, H, W)
        slices = taps.permute(0, 2, 1, 3, 4).reshape(n * out_d, c, x.shape[3], x.shape[4])
        part = tg.conv2d(slices, weight[:, :, j], None, s[1:], 0, d[1:], groups)
        total = part if total is None else total + part  # (N * Do, O, Ho, Wo)
    assert total is not None
    out = total.reshape(n, out_d, *total.shape[1:]).permute(0, 2, 1, 3, 4)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1, 1)
    return out


def _stretch3d(x: Tensor, stride: tuple[int, ...]) -> Tensor:
    """(N, C, D, H, W) -> zeros between neighbours: ((D - 1) * sd + 1, ...)."""
    if stride == (1, 1, 1):
        return x
    n, c, depth, h, w = x.shape
    sd, sh, sw = stride
    cells = x.reshape(n, c, depth, 1, h, 1, w, 1)
    cells = tg.pad(cells, [0, sw - 1, 0, 0, 0, sh - 1, 0, 0, 0, sd - 1], 0.0)
    spread = cells.reshape(n, c, depth * sd, h * sh, w * sw)
    return spread[:, :, : (depth - 1) * sd + 1, : (h - 1) * sh + 1, : (w - 1) * sw + 1]


def conv_transpose3d(
    input: Tensor,  # noqa: A002
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOr = 1,
    padding: IntOr = 0,
    output_padding: IntOr = 0,
    groups: int = 1,
    dilation: IntOr = 1,
) -> Tensor:
    """(N, C_in, D, H, W) * (C_in, C_out / groups, kd, kh, kw) -> (N, C_out, Do, Ho, Wo)."""
    op = "conv_transpose3d"
    if input.ndim == 4:
        return conv_transpose3d(
            input.unsqueeze(0), weight, bias, stride, padding, output_padding, groups, dilation
        )[0]
    if input.ndim != 5 or weight.ndim != 5 or input.shape[1] != weight.shape[0]:
        raise ShapeError(
            f"{op}: expected input (N, C_in, D, H, W) and weight (C_in, C_out / groups, kd, "
            f"kh, kw), got {input.shape} and {weight.shape}"
        )
    s = tuple_of(op, "stride", stride, 3, 1)
    p = tuple_of(op, "padding", padding, 3, 0)
    d = tuple_of(op, "dilation", dilation, 3, 1)
    extra = tuple_of(op, "output_padding", output_padding, 3, 0)
    k = tuple(weight.shape[2:])
    if any(extra[a] >= max(s[a], d[a]) for a in range(3)):
        raise ValueError(f"{op}: output_padding {extra} must be smaller than stride or dilation")
    border = [d[a] * (k[a] - 1) - p[a] for a in range(3)]
    amounts = [v for a in (2, 1, 0) for v in (border[a], border[a] + extra[a])]
    x = pad(_stretch3d(input, s), amounts)
    c_in, c_out_per = weight.shape[0], weight.shape[1]
    per_group = weight.reshape(groups, c_in // groups, c_out_per, *k)
    kernel = per_group.transpose(1, 2).reshape(groups * c_out_per, c_in // groups, *k)
    return conv3d(x, kernel.flip((2, 3, 4)), bias, 1, 0, d, groups)
