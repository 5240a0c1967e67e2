"""one_hot: class ids as one-hot rows, as `torch.nn.functional.one_hot`.

>>> import tinygpt as tg
>>> import tinygpt.nn.functional as F
>>> F.one_hot(tg.tensor([0, 2]), 3).tolist()
[[1, 0, 0], [0, 0, 1]]
"""

from __future__ import annotations

import tinygpt as tg
from tinygpt import DTypeError, ShapeError, Tensor

__all__ = ["one_hot"]


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """ids (...) int64 -> (..., num_classes) int64 with a 1 at each id.

    num_classes=-1 uses the largest id + 1. NOTE: ids are checked against [0, num_classes)
    on the host (one read of their min and max), as PyTorch does on the CPU.
    """
    if tensor.dtype != tg.int64:
        raise DTypeError(
            f"one_hot: class ids must be an int64 tensor, got {tensor.dtype}; use .long()"
        )
    if tensor.numel() == 0:
        if num_classes < 0:
            raise ShapeError("one_hot: cannot infer num_classes from an empty tensor; pass it")
        return tg.zeros(*tensor.shape, num_classes, dtype=tg.int64, device=tensor.device)
    low = int(tensor.min().item())
    high = int(tensor.max().item())
    if num_classes < 0:
        num_classes = high + 1
    if low < 0 or high >= num_classes:
        bad = low if low < 0 else high
        raise ShapeError(
            f"one_hot: class id {bad} is outside [0, {num_classes}); ids must be >= 0 and "
            "smaller than num_classes"
        )
    classes = tg.arange(num_classes, device=tensor.device)  # (C,)
    return (tensor.unsqueeze(-1) == classes).long()  # (..., C)
