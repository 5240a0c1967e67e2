"""Adam and AdamW (PyTorch's semantics, including bias correction and optional AMSGrad).

For each parameter p with gradient g, step t (counting from 1) is:

    p = p * (1 - lr * weight_decay)               AdamW: decoupled weight decay
    g = g + weight_decay * p                      Adam: L2 penalty folded into the gradient
    m = beta1 * m + (1 - beta1) * g               running mean of gradients
    v = beta2 * v + (1 - beta2) * g * g           running mean of squared gradients
    v_hat = max(v_hat, v) if amsgrad else v
    p = p - lr / (1 - beta1**t) * m / (sqrt(v_hat) / sqrt(1 - beta2**t) + eps)

The two `1 - beta**t` factors undo the bias of m and v towards their zero initial values.
When the backend lists the fused "adamw" kernel, AdamW (and Adam without weight decay) runs
as one kernel per parameter instead of about ten elementwise ops.
"""

from __future__ import annotations

from typing import Any

import tinygpt as tg
from tinygpt import Tensor

from .optimizer import Optimizer, ParamsT

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015); `weight_decay` is an L2 penalty unless
    `decoupled_weight_decay=True` (which is AdamW).

    State per parameter: `step` (int), `exp_avg` (m), `exp_avg_sq` (v), all shaped like p,
    plus `max_exp_avg_sq` with amsgrad.

    >>> import tinygpt as tg
    >>> w = tg.tensor([1.0, -1.0], requires_grad=True)
    >>> w.sum().backward()
    >>> Adam([w], lr=0.1).step()               # the first step moves every weight by ~lr
    >>> [round(v, 4) for v in w.tolist()]
    [0.9, -1.1]
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        decoupled_weight_decay: bool = False,
        foreach: bool | None = None,
        fused: bool | None = None,
    ) -> None:
        # NOTE: `foreach` and `fused` are accepted so PyTorch code runs as written (nanoGPT
        # passes fused=True on CUDA); tinygpt has one update path: `adam_step_` per parameter,
        # a fused kernel wherever the backend offers one
        del foreach, fused
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    def check_group(self, group: dict[str, Any], where: str) -> None:
        super().check_group(group, where)
        betas = group["betas"]
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"{where}: betas must be two numbers in [0, 1), got {betas}")
        if group["eps"] < 0:
            raise ValueError(f"{where}: eps must be >= 0, got {group['eps']}")
        if group["weight_decay"] < 0:
            raise ValueError(f"{where}: weight_decay must be >= 0, got {group['weight_decay']}")

    def update_param(
        self, p: Tensor, grad: Tensor, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        lr, weight_decay, eps = group["lr"], group["weight_decay"], group["eps"]
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = tg.zeros_like(p)
            state["exp_avg_sq"] = tg.zeros_like(p)
        if group["amsgrad"] and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = tg.zeros_like(p)
        state["step"] += 1
        step = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]

        # one core call: a fused kernel where the backend has one, else composed from ops
        tg.adam_step_(
            p,
            grad,
            m,
            v,
            lr=lr,
            betas=(beta1, beta2),
            eps=eps,
            weight_decay=weight_decay,
            step=step,
            amsgrad_max=state["max_exp_avg_sq"] if group["amsgrad"] else None,
            decoupled=group["decoupled_weight_decay"],
        )


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019): `p *= 1 - lr * wd`.

    The usual choice for transformers; its default `weight_decay` is 0.01, as in PyTorch.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            decoupled_weight_decay=True,
            foreach=foreach,
            fused=fused,
        )
