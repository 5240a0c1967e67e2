"""conv_tbc: a 1-D convolution over time-batch-channel input, PyTorch's F.conv_tbc (used by
fairseq's convolutional models). It is conv1d with the axes moved: input (T, B, C_in),
weight (k, C_in, C_out), bias (C_out,) -> (T + 2 * pad - k + 1, B, C_out).

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> F.conv_tbc(tg.ones(5, 2, 3), tg.ones(2, 3, 4), tg.zeros(4), 1).shape
(6, 2, 4)
"""

from __future__ import annotations

from tinygpt import ShapeError, Tensor

from .conv1d import conv1d

__all__ = ["conv_tbc"]


def conv_tbc(input: Tensor, weight: Tensor, bias: Tensor, pad: int = 0) -> Tensor:  # noqa: A002
    """(T, B, C_in) * (k, C_in, C_out) + bias -> (T + 2 * pad - k + 1, B, C_out)."""
    if input.ndim != 3 or weight.ndim != 3 or input.shape[2] != weight.shape[1]:
        raise ShapeError(
            f"conv_tbc: expected input (T, B, C_in) and weight (k, C_in, C_out), got "
            f"{input.shape} and {weight.shape}"
        )
    sequences = input.permute(1, 2, 0)  # (B, C_in, T)
    kernel = weight.permute(2, 1, 0)  # (C_out, C_in, k)
    out = conv1d(sequences, kernel, bias, 1, pad)  # (B, C_out, T')
    return out.permute(2, 0, 1)
