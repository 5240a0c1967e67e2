"""conv1d: a 1-D convolution over sequences (N, C, L), PyTorch's `F.conv1d`.

A 1-D convolution is a 2-D one over an image of height 1: the input becomes (N, C, 1, L),
the kernel (O, C / groups, 1, k), and core's `conv2d` (with its backward) does the work.

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> F.conv1d(tg.ones(1, 2, 5), tg.ones(3, 2, 2)).tolist()[0][0]
[4.0, 4.0, 4.0, 4.0]
"""

from __future__ import annotations

from collections.abc import Sequence

from tinygpt import ShapeError, Tensor, conv2d

IntOne = int | Sequence[int]

__all__ = ["conv1d", "single", "IntOne"]


def conv1d(
    input: Tensor,  # noqa: A002 - the PyTorch name
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOne = 1,
    padding: IntOne | str = 0,
    dilation: IntOne = 1,
    groups: int = 1,
) -> Tensor:
    """1-D cross-correlation: (N, C, L) * (O, C / groups, k) -> (N, O, Lo), or unbatched
    (C, L) -> (O, Lo). Lo = (L + 2 * padding - dilation * (k - 1) - 1) // stride + 1."""
    if input.ndim not in (2, 3) or weight.ndim != 3:
        raise ShapeError(
            f"conv1d: expected input (N, C, L) or (C, L) and weight (O, C / groups, k), got "
            f"{input.shape} and {weight.shape}"
        )
    pad = padding if isinstance(padding, str) else (0, single("padding", padding, 0))
    image = input.unsqueeze(-2)  # (N, C, 1, L): a one-pixel-high image
    out = conv2d(
        image,
        weight.unsqueeze(2),  # (O, C / groups, 1, k)
        bias,
        (1, single("stride", stride, 1)),
        pad,
        (1, single("dilation", dilation, 1)),
        groups,
    )
    return out.squeeze(-2)  # (N, O, Lo)


def single(name: str, value: IntOne, minimum: int) -> int:
    """PyTorch's int-or-1-tuple argument as an int, at least `minimum`."""
    one = (value,) if isinstance(value, int) else tuple(value)
    if len(one) != 1 or not isinstance(one[0], int) or one[0] < minimum:
        raise ValueError(f"conv1d: {name} must be an int >= {minimum} (or a 1-tuple), got {value}")
    return one[0]
