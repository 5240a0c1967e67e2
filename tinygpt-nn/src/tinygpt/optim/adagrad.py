"""Adagrad (Duchi et al., 2011) with PyTorch's options and update order.

For each parameter p with gradient g, step t (from 1) is:

    g = g + weight_decay * p                      (L2 penalty, if weight_decay != 0)
    lr_t = lr / (1 + (t - 1) * lr_decay)
    s = s + g^2                                   (s starts at initial_accumulator_value)
    p = p - lr_t * g / (sqrt(s) + eps)
"""

from __future__ import annotations

from typing import Any

import tinygpt as tg
from tinygpt import Tensor

from .optimizer import Optimizer, ParamsT

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Per-element learning rates that shrink with the sum of past squared gradients.

    >>> import tinygpt as tg
    >>> w = tg.tensor([1.0, -2.0], requires_grad=True)
    >>> (w * w).sum().backward()
    >>> Adagrad([w], lr=0.1).step()   # first step: g / sqrt(g^2) = sign(g)
    >>> [round(v, 4) for v in w.tolist()]
    [0.9, -1.9]
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        maximize: bool = False,
        *,
        foreach: bool | None = None,
    ) -> None:
        del foreach  # accepted for PyTorch code; tinygpt has one update path
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "eps": eps,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def check_group(self, group: dict[str, Any], where: str) -> None:
        super().check_group(group, where)
        for key in ("lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            if group[key] < 0:
                raise ValueError(f"{where}: {key} must be >= 0, got {group[key]}")

    def update_param(
        self, p: Tensor, grad: Tensor, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        if not state:
            state["step"] = 0
            state["sum"] = tg.full_like(p, group["initial_accumulator_value"])
        state["step"] += 1
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + p * group["weight_decay"]
        lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"].addcmul_(grad, grad, value=1)
        p.addcdiv_(grad, state["sum"].sqrt() + group["eps"], value=-lr)
