"""RMSprop (Hinton's lecture 6e) with PyTorch's options and update order.

For each parameter p with gradient g, one step is:

    g = g + weight_decay * p                          (L2 penalty, if weight_decay != 0)
    v = alpha * v + (1 - alpha) * g^2                 (running mean of squared gradients)
    m = alpha * m + (1 - alpha) * g, v~ = v - m^2     (centered: subtract the mean's square)
    d = sqrt(v~ or v) + eps
    b = momentum * b + g / d;  p = p - lr * b         (momentum > 0)
    p = p - lr * g / d                                (otherwise)
"""

from __future__ import annotations

from typing import Any

import tinygpt as tg
from tinygpt import Tensor

from .optimizer import Optimizer, ParamsT

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """Divide each gradient by a running root-mean-square of its recent values.

    >>> import tinygpt as tg
    >>> w = tg.tensor([1.0, -2.0], requires_grad=True)
    >>> (w * w).sum().backward()
    >>> RMSprop([w], lr=0.01).step()   # first step: g / sqrt(0.01 g^2) = 10 * sign(g)
    >>> [round(v, 4) for v in w.tolist()]
    [0.9, -1.9]
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        maximize: bool = False,
        *,
        foreach: bool | None = None,
    ) -> None:
        del foreach  # accepted for PyTorch code; tinygpt has one update path
        defaults = {
            "lr": lr,
            "alpha": alpha,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "centered": centered,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def check_group(self, group: dict[str, Any], where: str) -> None:
        super().check_group(group, where)
        for key in ("alpha", "eps", "weight_decay", "momentum"):
            if group[key] < 0:
                raise ValueError(f"{where}: {key} must be >= 0, got {group[key]}")

    def update_param(
        self, p: Tensor, grad: Tensor, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        alpha, momentum = group["alpha"], group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = tg.zeros_like(p)
            if momentum > 0:
                state["momentum_buffer"] = tg.zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = tg.zeros_like(p)
        state["step"] += 1
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + p * group["weight_decay"]
        square_avg = state["square_avg"]
        square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg.lerp_(grad, 1 - alpha)
            avg = (square_avg - grad_avg * grad_avg).sqrt() + group["eps"]
        else:
            avg = square_avg.sqrt() + group["eps"]
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf.mul_(momentum).addcdiv_(grad, avg)
            p.add_(buf, alpha=-group["lr"])
        else:
            p.addcdiv_(grad, avg, value=-group["lr"])
