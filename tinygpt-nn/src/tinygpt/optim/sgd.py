"""SGD with momentum, dampening, Nesterov momentum and L2 weight decay (PyTorch's semantics).

For each parameter p with gradient g, one step is:

    g = g + weight_decay * p                      (L2 penalty, if weight_decay != 0)
    b = g                     on the first step   (momentum buffer, if momentum != 0)
    b = momentum * b + (1 - dampening) * g        afterwards
    g = g + momentum * b  if nesterov  else  b
    p = p - lr * g
"""

from __future__ import annotations

from typing import Any

from tinygpt import Tensor

from .optimizer import Optimizer, ParamsT

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    >>> import tinygpt as tg
    >>> w = tg.tensor([1.0, 2.0], requires_grad=True)
    >>> (w * w).sum().backward()                  # grad = 2w = [2, 4]
    >>> SGD([w], lr=0.1).step()
    >>> [round(v, 4) for v in w.tolist()]         # w - 0.1 * grad
    [0.8, 1.6]
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
        }
        super().__init__(params, defaults)

    def check_group(self, group: dict[str, Any], where: str) -> None:
        super().check_group(group, where)
        if group["momentum"] < 0:
            raise ValueError(f"{where}: momentum must be >= 0, got {group['momentum']}")
        if group["weight_decay"] < 0:
            raise ValueError(f"{where}: weight_decay must be >= 0, got {group['weight_decay']}")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                f"{where}: nesterov needs momentum > 0 and dampening == 0, got momentum="
                f"{group['momentum']}, dampening={group['dampening']}"
            )

    def update_param(
        self, p: Tensor, grad: Tensor, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        momentum = group["momentum"]
        if group["weight_decay"] != 0:
            grad = grad + p * group["weight_decay"]
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                # subtle: the first step seeds the buffer with the raw gradient, undamped
                buf = grad.clone()
                state["momentum_buffer"] = buf
            else:
                buf.mul_(momentum).add_(grad, alpha=1 - group["dampening"])
            grad = grad + buf * momentum if group["nesterov"] else buf
        p.add_(grad, alpha=-group["lr"])
