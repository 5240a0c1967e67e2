"""Older optimizers with PyTorch's update rules: Adadelta, Rprop and ASGD.

For a parameter p with gradient g:

    Adadelta: v = rho v + (1 - rho) g^2;  d = sqrt(u + eps) / sqrt(v + eps) * g;
              u = rho u + (1 - rho) d^2;  p -= lr * d            (Zeiler, 2012)
    Rprop:    only the sign of g counts: each weight's step size grows by etaplus while g
              keeps its sign and shrinks by etaminus when it flips (then that step is skipped)
    ASGD:     SGD with a shrinking step eta_t = lr / (1 + lambd lr t)^alpha, keeping in `ax`
              the running average of the iterates from step t0 on (Polyak & Juditsky, 1992)
"""

from __future__ import annotations

from typing import Any

import tinygpt as tg
from tinygpt import Tensor

from .optimizer import Optimizer, ParamsT

__all__ = ["ASGD", "Adadelta", "Rprop"]


def _signed(grad: Tensor, group: dict[str, Any]) -> Tensor:
    return -grad if group["maximize"] else grad


class Adadelta(Optimizer):
    """Step sizes from the ratio of two running RMS's (updates over gradients), so `lr`
    (default 1.0) is only a final scale."""

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        del foreach, capturable, differentiable  # accepted for PyTorch code; one update path
        defaults = {
            "lr": lr,
            "rho": rho,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def check_group(self, group: dict[str, Any], where: str) -> None:
        super().check_group(group, where)
        if not 0.0 <= group["rho"] <= 1.0:
            raise ValueError(f"{where}: rho must be in [0, 1], got {group['rho']}")
        for key in ("eps", "weight_decay"):
            if group[key] < 0:
                raise ValueError(f"{where}: {key} must be >= 0, got {group[key]}")

    def update_param(
        self, p: Tensor, grad: Tensor, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        rho, eps = group["rho"], group["eps"]
        if not state:
            state["step"] = 0
            state["square_avg"] = tg.zeros_like(p)
            state["acc_delta"] = tg.zeros_like(p)
        state["step"] += 1
        grad = _signed(grad, group)
        if group["weight_decay"] != 0:
            grad = grad + p * group["weight_decay"]
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg.mul_(rho).addcmul_(grad, grad, value=1 - rho)
        delta = (acc_delta + eps).sqrt() / (square_avg + eps).sqrt() * grad
        acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
        p.add_(delta, alpha=-group["lr"])


class Rprop(Optimizer):
    """Resilient backpropagation: per-weight step sizes driven by gradient signs (full-batch
    training; minibatch noise flips the signs too often).

    State per parameter: `prev` (last gradient used), `step_size` (starts at lr).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        del foreach, capturable, differentiable  # accepted for PyTorch code; one update path
        defaults = {
            "lr": lr,
            "etas": tuple(etas),
            "step_sizes": tuple(step_sizes),
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def check_group(self, group: dict[str, Any], where: str) -> None:
        super().check_group(group, where)
        etaminus, etaplus = group["etas"]
        if not 0.0 < etaminus < 1.0 < etaplus:
            raise ValueError(
                f"{where}: etas must satisfy 0 < etaminus < 1 < etaplus, got {group['etas']}"
            )

    def update_param(
        self, p: Tensor, grad: Tensor, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        etaminus, etaplus = group["etas"]
        low, high = group["step_sizes"]
        if not state:
            state["step"] = 0
            state["prev"] = tg.zeros_like(p)
            state["step_size"] = tg.full_like(p, group["lr"])
        state["step"] += 1
        grad = _signed(grad, group)
        prev, step_size = state["prev"], state["step_size"]
        agreement = grad * prev  # > 0: same sign as last time, < 0: it flipped
        grew = agreement > 0
        flipped = agreement < 0
        factor = tg.where(grew, tg.full_like(p, etaplus), tg.ones_like(p))
        factor = tg.where(flipped, tg.full_like(p, etaminus), factor)
        step_size.mul_(factor).clamp_(low, high)
        # NOTE: after a sign flip the weight stays put, and the next step counts as fresh
        grad = tg.where(flipped, tg.zeros_like(p), grad)
        p.addcmul_(grad.sign(), step_size, value=-1)
        prev.copy_(grad)


class ASGD(Optimizer):
    """Averaged SGD: plain SGD steps with a decaying step size, plus `ax`, the average of
    the parameters since step `t0` (use it as the final weights).

    State per parameter: `step`, `eta` (this step size), `mu` (the averaging weight), `ax`.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0.0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        del foreach, capturable, differentiable  # accepted for PyTorch code; one update path
        defaults = {
            "lr": lr,
            "lambd": lambd,
            "alpha": alpha,
            "t0": t0,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def check_group(self, group: dict[str, Any], where: str) -> None:
        super().check_group(group, where)
        if group["weight_decay"] < 0:
            raise ValueError(f"{where}: weight_decay must be >= 0, got {group['weight_decay']}")

    def update_param(
        self, p: Tensor, grad: Tensor, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        lr, lambd = group["lr"], group["lambd"]
        if not state:
            state["step"] = 0
            state["eta"] = float(lr)
            state["mu"] = 1.0
            state["ax"] = tg.zeros_like(p)
        state["step"] += 1
        step = state["step"]
        grad = _signed(grad, group)
        if group["weight_decay"] != 0:
            grad = grad + p * group["weight_decay"]
        eta = state["eta"]
        p.mul_(1 - lambd * eta)  # decay
        p.add_(grad, alpha=-eta)
        ax = state["ax"]
        if state["mu"] != 1:
            ax.add_((p - ax) * state["mu"])
        else:
            ax.copy_(p)
        state["eta"] = lr / ((1 + lambd * lr * step) ** group["alpha"])
        state["mu"] = 1 / max(1, step - group["t0"])
