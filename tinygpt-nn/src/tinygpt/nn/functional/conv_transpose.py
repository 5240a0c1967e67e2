"""conv_transpose1d / conv_transpose2d: the adjoint ("gradient") of a strided convolution,
which upsamples: (N, C_in, H, W) -> (N, C_out, (H - 1) * s - 2 * p + d * (k - 1) + op + 1).

A transposed convolution equals an ordinary one on a stretched input:

1. insert s - 1 zeros between neighbouring input pixels (stride s);
2. pad each side by d * (k - 1) - p (negative: crop), plus output_padding at the far end;
3. convolve with stride 1 and dilation d, with the kernel flipped in space and its in/out
   channel axes swapped within each group.

So core's `conv2d` (with its backward) does all the arithmetic; the weight keeps PyTorch's
layout (C_in, C_out / groups, kh, kw), so checkpoints load as they are.

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> F.conv_transpose1d(tg.ones(1, 1, 3), tg.ones(1, 1, 2), stride=2).tolist()
[[[1.0, 1.0, 1.0, 1.0, 1.0, 1.0]]]
"""

from __future__ import annotations

from collections.abc import Sequence

import tinygpt as tg
from tinygpt import ShapeError, Tensor

from .padding import pad
from .pooling_more import tuple_of

IntOr = int | Sequence[int]

__all__ = ["conv_transpose1d", "conv_transpose2d"]


def _stretch(x: Tensor, stride: tuple[int, ...]) -> Tensor:
    """(N, C, H, W) -> (N, C, (H - 1) * sh + 1, (W - 1) * sw + 1) with zeros in between."""
    sh, sw = stride
    if sh == 1 and sw == 1:
        return x
    n, c, h, w = x.shape
    cells = x.reshape(n, c, h, 1, w, 1)
    cells = tg.pad(cells, [0, sw - 1, 0, 0, 0, sh - 1], 0.0)  # (N, C, H, sh, W, sw)
    spread = cells.reshape(n, c, h * sh, w * sw)
    return spread[:, :, : (h - 1) * sh + 1, : (w - 1) * sw + 1]


def _flipped_kernel(weight: Tensor, groups: int) -> Tensor:
    """(C_in, C_out / g, kh, kw) -> (C_out, C_in / g, kh, kw), flipped in space."""
    c_in, c_out_per, kh, kw = weight.shape
    per_group = weight.reshape(groups, c_in // groups, c_out_per, kh, kw)
    swapped = per_group.transpose(1, 2).reshape(groups * c_out_per, c_in // groups, kh, kw)
    return swapped.flip((2, 3))


def conv_transpose2d(
    input: Tensor,  # noqa: A002 - PyTorch's name
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOr = 1,
    padding: IntOr = 0,
    output_padding: IntOr = 0,
    groups: int = 1,
    dilation: IntOr = 1,
) -> Tensor:
    """Transposed 2-D convolution: (N, C_in, H, W) * (C_in, C_out / g, kh, kw) -> (N, C_out,
    Ho, Wo), or unbatched (C_in, H, W). Ho = (H - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1."""
    op = "conv_transpose2d"
    if input.ndim == 3:
        out = conv_transpose2d(
            input.unsqueeze(0), weight, bias, stride, padding, output_padding, groups, dilation
        )
        return out.squeeze(0)
    if input.ndim != 4 or weight.ndim != 4:
        raise ShapeError(
            f"{op}: expected input (N, C_in, H, W) and weight (C_in, C_out / groups, kh, kw), "
            f"got {input.shape} and {weight.shape}"
        )
    if groups < 1 or weight.shape[0] % groups or input.shape[1] != weight.shape[0]:
        raise ShapeError(
            f"{op}: input {input.shape} has {input.shape[1]} channels, weight {weight.shape} "
            f"expects {weight.shape[0]} (C_in first), split into groups={groups}"
        )
    s = tuple_of(op, "stride", stride, 2, 1)
    p = tuple_of(op, "padding", padding, 2, 0)
    d = tuple_of(op, "dilation", dilation, 2, 1)
    extra = tuple_of(op, "output_padding", output_padding, 2, 0)
    k = (weight.shape[2], weight.shape[3])
    for axis in (0, 1):
        if extra[axis] >= max(s[axis], d[axis]):
            raise ValueError(
                f"{op}: output_padding {extra} must be smaller than stride {s} or dilation {d}"
            )
    # the zero border a full ("transposed") convolution needs, less the requested padding
    border = [d[a] * (k[a] - 1) - p[a] for a in (0, 1)]
    amounts = (border[1], border[1] + extra[1], border[0], border[0] + extra[0])
    size = input.shape[2:]
    out_size = [(size[a] - 1) * s[a] - 2 * p[a] + d[a] * (k[a] - 1) + extra[a] + 1 for a in (0, 1)]
    if min(out_size) < 1:
        raise ShapeError(
            f"{op}: padding {p} leaves no output ({tuple(out_size)}) for input {input.shape}"
        )
    stretched = pad(_stretch(input, s), amounts)
    return tg.conv2d(stretched, _flipped_kernel(weight, groups), bias, 1, 0, d, groups)


def conv_transpose1d(
    input: Tensor,  # noqa: A002
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOr = 1,
    padding: IntOr = 0,
    output_padding: IntOr = 0,
    groups: int = 1,
    dilation: IntOr = 1,
) -> Tensor:
    """Transposed 1-D convolution: (N, C_in, L) * (C_in, C_out / g, k) -> (N, C_out, Lo)."""
    op = "conv_transpose1d"
    if input.ndim not in (2, 3) or weight.ndim != 3:
        raise ShapeError(
            f"{op}: expected input (N, C_in, L) or (C_in, L) and weight (C_in, C_out / groups, "
            f"k), got {input.shape} and {weight.shape}"
        )

    def lift(v: IntOr, one: int, minimum: int, name: str) -> tuple[int, int]:
        return (one, tuple_of(op, name, v, 1, minimum)[0])

    out = conv_transpose2d(
        input.unsqueeze(-2),  # a one-pixel-high image
        weight.unsqueeze(2),
        bias,
        lift(stride, 1, 1, "stride"),
        lift(padding, 0, 0, "padding"),
        lift(output_padding, 0, 0, "output_padding"),
        groups,
        lift(dilation, 1, 1, "dilation"),
    )
    return out.squeeze(-2)
