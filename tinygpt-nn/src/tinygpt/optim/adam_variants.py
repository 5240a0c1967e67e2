"""Adam's relatives, with PyTorch's update rules: RAdam, NAdam and Adamax.

All three keep Adam's running mean of gradients m (`exp_avg`) and, per parameter p with
gradient g at step t (from 1):

    RAdam:  v = b2 v + (1 - b2) g^2; while the variance of the adaptive step is undefined
            (rho_t <= 5) it takes plain momentum steps, after that Adam steps scaled by the
            rectification term r_t (Liu et al., 2020)
    NAdam:  Nesterov momentum in Adam: the step mixes g and m with the momentum schedule
            mu_t = b1 (1 - 0.5 * 0.96 ** (t * momentum_decay)) (Dozat, 2016)
    Adamax: u = max(b2 u, |g| + eps), p -= lr / (1 - b1^t) * m / u (the infinity norm)
"""

from __future__ import annotations

import math
from typing import Any

import tinygpt as tg
from tinygpt import Tensor

from .optimizer import Optimizer, ParamsT

__all__ = ["Adamax", "NAdam", "RAdam"]


class _AdamLike(Optimizer):
    """Shared option checks and the m/v state of the three."""

    def check_group(self, group: dict[str, Any], where: str) -> None:
        super().check_group(group, where)
        betas = group["betas"]
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"{where}: betas must be two numbers in [0, 1), got {betas}")
        for key in ("eps", "weight_decay"):
            if group[key] < 0:
                raise ValueError(f"{where}: {key} must be >= 0, got {group[key]}")

    @staticmethod
    def _start(p: Tensor, state: dict[str, Any], second: str) -> None:
        if not state:
            state["step"] = 0
            state["exp_avg"] = tg.zeros_like(p)
            state[second] = tg.zeros_like(p)


def _decay(p: Tensor, grad: Tensor, group: dict[str, Any]) -> Tensor:
    """Weight decay: decoupled (shrink p) or as an L2 term added to the gradient."""
    wd = group["weight_decay"]
    if wd == 0:
        return grad
    if group.get("decoupled_weight_decay", False):
        p.mul_(1 - group["lr"] * wd)
        return grad
    return grad + p * wd


class RAdam(_AdamLike):
    """Rectified Adam: no warm-up needed, the early steps are momentum SGD.

    >>> import tinygpt as tg
    >>> w = tg.tensor([1.0, -1.0], requires_grad=True)
    >>> w.sum().backward()
    >>> RAdam([w], lr=0.1).step()     # step 1 is a momentum step: p -= lr * m / (1 - b1)
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
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        del foreach, capturable, differentiable  # accepted for PyTorch code; one update path
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "decoupled_weight_decay": decoupled_weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def update_param(
        self, p: Tensor, grad: Tensor, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        beta1, beta2 = group["betas"]
        lr = group["lr"]
        self._start(p, state, "exp_avg_sq")
        state["step"] += 1
        step = state["step"]
        if group["maximize"]:
            grad = -grad
        grad = _decay(p, grad, group)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.lerp_(grad, 1 - beta1)
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        bias1 = 1 - beta1**step
        bias2 = 1 - beta2**step
        # rho: the length of the SMA that approximates the EMA of squared gradients
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * beta2**step / bias2
        if rho_t <= 5.0:  # too few samples for a trustworthy variance: momentum only
            p.add_(m, alpha=-lr / bias1)
            return
        rect = math.sqrt(
            (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
        )
        denom = v.sqrt() + group["eps"]
        p.addcdiv_(m, denom, value=-lr / bias1 * rect * math.sqrt(bias2))


class NAdam(_AdamLike):
    """Adam with Nesterov momentum; `momentum_decay` sets how fast mu_t warms up to beta1.

    State per parameter adds `mu_product` (the product of mu_1..mu_t, a float).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        del foreach, capturable, differentiable  # accepted for PyTorch code; one update path
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum_decay": momentum_decay,
            "decoupled_weight_decay": decoupled_weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def check_group(self, group: dict[str, Any], where: str) -> None:
        super().check_group(group, where)
        if group["momentum_decay"] < 0:
            raise ValueError(f"{where}: momentum_decay must be >= 0, got {group['momentum_decay']}")

    def update_param(
        self, p: Tensor, grad: Tensor, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        beta1, beta2 = group["betas"]
        lr, decay = group["lr"], group["momentum_decay"]
        self._start(p, state, "exp_avg_sq")
        state.setdefault("mu_product", 1.0)
        state["step"] += 1
        step = state["step"]
        if group["maximize"]:
            grad = -grad
        grad = _decay(p, grad, group)
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * decay))
        state["mu_product"] *= mu
        mu_product = state["mu_product"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.lerp_(grad, 1 - beta1)
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denom = (v / (1 - beta2**step)).sqrt() + group["eps"]
        # the Nesterov look-ahead: this step's gradient plus the next step's momentum
        p.addcdiv_(grad, denom, value=-lr * (1.0 - mu) / (1.0 - mu_product))
        p.addcdiv_(m, denom, value=-lr * mu_next / (1.0 - mu_product * mu_next))


class Adamax(_AdamLike):
    """Adam with the infinity norm: divide by a decaying max of |g| instead of an RMS."""

    def __init__(
        self,
        params: ParamsT,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        del foreach, capturable, differentiable  # accepted for PyTorch code; one update path
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def update_param(
        self, p: Tensor, grad: Tensor, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        beta1, beta2 = group["betas"]
        self._start(p, state, "exp_inf")
        state["step"] += 1
        if group["maximize"]:
            grad = -grad
        grad = _decay(p, grad, group)
        m, u = state["exp_avg"], state["exp_inf"]
        m.lerp_(grad, 1 - beta1)
        u.copy_(tg.maximum(u * beta2, grad.abs() + group["eps"]))
        clr = group["lr"] / (1 - beta1 ** state["step"])
        p.addcdiv_(m, u, value=-clr)
