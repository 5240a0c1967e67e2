"""More loss layers: BCELoss, KLDivLoss, SmoothL1Loss, HuberLoss (see
`nn.functional.loss_extra`).

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> nn.HuberLoss(delta=1.0)(tg.tensor([0.0, 3.0]), tg.tensor([0.0, 0.0])).item()
1.25
"""

from __future__ import annotations

from tinygpt import Tensor

from .. import functional as F
from ..module import Module

__all__ = ["BCELoss", "KLDivLoss", "SmoothL1Loss", "HuberLoss"]


class BCELoss(Module):
    """binary_cross_entropy(probabilities, targets), optionally weighted per element."""

    def __init__(self, weight: Tensor | None = None, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction
        # a buffer, as in PyTorch, so .to() moves it and state_dict lists it
        self.register_buffer("weight", weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:  # noqa: A002
        return F.binary_cross_entropy(input, target, self.weight, self.reduction)


class KLDivLoss(Module):
    """kl_div(log_probs, target); use reduction="batchmean" for the true KL per sample."""

    def __init__(self, reduction: str = "mean", log_target: bool = False) -> None:
        super().__init__()
        self.reduction = reduction
        self.log_target = log_target

    def forward(self, input: Tensor, target: Tensor) -> Tensor:  # noqa: A002
        return F.kl_div(input, target, self.reduction, self.log_target)


class SmoothL1Loss(Module):
    """Quadratic below `beta`, linear above (less sensitive to outliers than MSELoss)."""

    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__()
        self.reduction = reduction
        self.beta = beta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:  # noqa: A002
        return F.smooth_l1_loss(input, target, self.reduction, self.beta)


class HuberLoss(Module):
    """Quadratic below `delta`, linear (slope delta) above."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__()
        self.reduction = reduction
        self.delta = delta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:  # noqa: A002
        return F.huber_loss(input, target, self.reduction, self.delta)
