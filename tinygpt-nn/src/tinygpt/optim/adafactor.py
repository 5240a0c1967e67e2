"""Adafactor (Shazeer & Stern, 2018) with PyTorch's update rule (`torch.optim.Adafactor`).

Adam's second moment costs one number per weight; Adafactor keeps, for a matrix gradient
(..., R, C), only a running mean per row (..., R, 1) and per column (..., 1, C), and rebuilds
the second moment as their outer product divided by the mean of the rows. Vectors keep a
full running mean. With step t (from 1), p a parameter with N elements and g its gradient:

    beta2_t = 1 - t ** beta2_decay                 (the averaging horizon grows with t)
    rho_t   = min(lr, 1 / sqrt(t))                 (relative step size)
    alpha   = max(eps2, |p|_2 / sqrt(N)) * rho_t   (steps scale with the weights' RMS)
    u       = g / sqrt(v_hat),  clipped so that RMS(u) <= d
    p      -= alpha * u
"""

from __future__ import annotations

import math
from typing import Any

import tinygpt as tg
from tinygpt import Tensor

from .optimizer import Optimizer, ParamsT

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    """Memory-light Adam: factored second moments, no first moment, relative step sizes.

    State per parameter: `step`, and `row_var` + `col_var` (matrices, shaped (..., R, 1)
    and (..., 1, C)) or `variance` (vectors and scalars).

    >>> import tinygpt as tg
    >>> w = tg.ones(2, 2, requires_grad=True)
    >>> (w * w).sum().backward()
    >>> Adafactor([w]).step()          # alpha = max(1e-3, RMS(w) = 1) * min(lr, 1) = 0.01
    >>> [round(v, 4) for v in w.reshape(-1).tolist()]
    [0.99, 0.99, 0.99, 0.99]
    """

    #: state whose shape is not the parameter's (checked by `load_state_dict`)
    factored_state = ("row_var", "col_var")

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        beta2_decay: float = -0.8,
        eps: tuple[float | None, float] = (None, 1e-3),
        d: float = 1.0,
        weight_decay: float = 0.0,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
    ) -> None:
        del foreach  # accepted for PyTorch code; tinygpt has one update path
        defaults = {
            "lr": lr,
            "beta2_decay": beta2_decay,
            "eps": tuple(eps),
            "d": d,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def check_group(self, group: dict[str, Any], where: str) -> None:
        super().check_group(group, where)
        eps1, eps2 = group["eps"]
        if group["beta2_decay"] > 0:
            raise ValueError(f"{where}: beta2_decay must be <= 0, got {group['beta2_decay']}")
        if (eps1 is not None and eps1 < 0) or eps2 < 0:
            raise ValueError(f"{where}: eps values must be >= 0, got {group['eps']}")
        if group["d"] < 1.0:
            raise ValueError(f"{where}: the clipping threshold d must be >= 1, got {group['d']}")
        if group["weight_decay"] < 0:
            raise ValueError(f"{where}: weight_decay must be >= 0, got {group['weight_decay']}")

    def update_param(
        self, p: Tensor, grad: Tensor, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        lr = group["lr"]
        eps1, eps2 = group["eps"]
        if eps1 is None:
            eps1 = tg.finfo(p.dtype).eps
        if not state:
            _start(p, state)
        state["step"] += 1
        step = state["step"]
        if group["maximize"]:
            grad = -grad
        beta2_complement = step ** group["beta2_decay"]  # 1 - beta2_t
        rho = min(lr, 1 / math.sqrt(step))
        # NOTE: the RMS of the weights before this step's decay, as in PyTorch
        alpha = max(eps2, float(p.norm().item()) / math.sqrt(p.numel())) * rho
        if group["weight_decay"] != 0:
            p.mul_(1 - lr * group["weight_decay"])
        square = grad * grad
        if grad.ndim > 1:
            row_var, col_var = state["row_var"], state["col_var"]
            row_var.lerp_(square.mean(dim=-1, keepdim=True), beta2_complement)  # (..., R, 1)
            col_var.lerp_(square.mean(dim=-2, keepdim=True), beta2_complement)  # (..., 1, C)
            row_scale = row_var.mean(dim=-2, keepdim=True).clamp(min=eps1)  # (..., 1, 1)
            var_estimate = (row_var @ col_var) / row_scale  # (..., R, C)
        else:
            variance = state["variance"]
            variance.lerp_(square, beta2_complement)
            var_estimate = variance
        update = var_estimate.clamp(min=eps1 * eps1).rsqrt() * grad
        rms = float(update.norm().item()) / math.sqrt(update.numel())
        denom = max(1.0, rms / group["d"])  # clip the update's RMS at d
        p.add_(update, alpha=-alpha / denom)


def _start(p: Tensor, state: dict[str, Any]) -> None:
    state["step"] = 0
    if p.ndim > 1:
        row_shape = (*p.shape[:-1], 1)
        col_shape = (*p.shape[:-2], 1, p.shape[-1])
        state["row_var"] = tg.zeros(row_shape, dtype=p.dtype, device=p.device)
        state["col_var"] = tg.zeros(col_shape, dtype=p.dtype, device=p.device)
    else:
        state["variance"] = tg.zeros_like(p)
