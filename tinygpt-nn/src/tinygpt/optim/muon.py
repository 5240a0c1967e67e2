"""Muon (Jordan et al., 2024): momentum SGD whose update for a weight matrix is first
orthogonalized, PyTorch's `torch.optim.Muon`. For a 2-D parameter W (A, B) and gradient g:

    b = momentum * b + (1 - momentum) * g              (an EMA of gradients, PyTorch's lerp)
    u = lerp(g, b, momentum) if nesterov else b
    O = NewtonSchulz(u)                                 (~ U V^T of u's SVD, singular values ~1)
    W = W * (1 - lr * weight_decay) - lr * s * O        (decoupled decay; s from the shape)

s = sqrt(max(1, A / B)) ("original") or 0.2 * sqrt(max(A, B)) ("match_rms_adamw"), so the
update's RMS is alike across shapes. Muon is for the 2-D weights of hidden layers; give
embeddings, biases and norms to AdamW.

NOTE: PyTorch runs the Newton-Schulz iteration in bfloat16; here it runs in the gradient's
dtype (float32), so the two agree to bfloat16 precision, not bit for bit.
"""

from __future__ import annotations

import math
from typing import Any

import tinygpt as tg
from tinygpt import Tensor

from .optimizer import Optimizer, ParamsT

__all__ = ["Muon", "zeropower_via_newtonschulz"]

#: the quintic's coefficients, chosen to push small singular values up fast (Keller Jordan)
NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)


def zeropower_via_newtonschulz(
    grad: Tensor, ns_coefficients: tuple[float, float, float], ns_steps: int, eps: float
) -> Tensor:
    """An approximate orthogonalization of a (A, B) matrix: `ns_steps` iterations of
    X <- a X + (b G + c G^2) X with G = X X^T, from X = grad / |grad|_F.

    The singular vectors stay; the singular values go to roughly [0.7, 1.2], not exactly 1,
    which is enough for Muon. Works on the wide orientation (A <= B) so G is the small side.
    """
    if grad.ndim != 2:
        raise tg.ShapeError(f"Muon: the update must be a 2-D matrix, got shape {grad.shape}")
    a, b, c = ns_coefficients
    tall = grad.shape[0] > grad.shape[1]
    x = grad.T if tall else grad  # (small, large)
    x = x / x.norm().clamp(min=eps)
    for _ in range(ns_steps):
        gram = x @ x.T  # (small, small)
        poly = gram * b + (gram @ gram) * c
        x = x * a + poly @ x
    return x.T if tall else x


def adjusted_lr(lr: float, adjust_lr_fn: str | None, shape: tuple[int, ...]) -> float:
    """The lr scaled for the matrix's shape (see the module docstring)."""
    rows, cols = shape[0], shape[1]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return lr * math.sqrt(max(1.0, rows / cols))
    return lr * 0.2 * math.sqrt(max(rows, cols))  # "match_rms_adamw"


class Muon(Optimizer):
    """MomentUm Orthogonalized by Newton-Schulz, for 2-D parameters only.

    >>> import tinygpt as tg
    >>> w = tg.zeros(2, 2, requires_grad=True)
    >>> w.grad = tg.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> Muon([w], lr=0.1, weight_decay=0.0).step()
    >>> [round(v, 2) for v in w.reshape(-1).tolist()]     # about -lr * I
    [-0.11, 0.0, 0.0, -0.11]
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        weight_decay: float = 0.1,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_coefficients: tuple[float, float, float] = NS_COEFFICIENTS,
        eps: float = 1e-7,
        ns_steps: int = 5,
        adjust_lr_fn: str | None = None,
    ) -> None:
        defaults = {
            "lr": lr,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "nesterov": nesterov,
            "ns_coefficients": tuple(ns_coefficients),
            "eps": eps,
            "ns_steps": ns_steps,
            "adjust_lr_fn": adjust_lr_fn,
        }
        super().__init__(params, defaults)

    def check_group(self, group: dict[str, Any], where: str) -> None:
        super().check_group(group, where)
        for key in ("momentum", "weight_decay"):
            if group[key] < 0:
                raise ValueError(f"{where}: {key} must be >= 0, got {group[key]}")
        if group["adjust_lr_fn"] not in (None, "original", "match_rms_adamw"):
            raise ValueError(
                f"{where}: adjust_lr_fn must be None, 'original' or 'match_rms_adamw', got "
                f"{group['adjust_lr_fn']!r}"
            )
        if len(group["ns_coefficients"]) != 3:
            raise ValueError(f"{where}: ns_coefficients must be 3 numbers (a, b, c)")
        if not 0 <= group["ns_steps"] < 100:
            raise ValueError(f"{where}: ns_steps must be in [0, 100), got {group['ns_steps']}")
        for i, p in enumerate(group["params"]):
            if p.ndim != 2:
                raise ValueError(
                    f"{where}: Muon only optimizes 2-D parameters, but parameter {i} has shape "
                    f"{p.shape}; give biases, norms and embeddings to AdamW"
                )

    def update_param(
        self, p: Tensor, grad: Tensor, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        momentum = group["momentum"]
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = tg.zeros_like(p)
        buf = state["momentum_buffer"]
        buf.lerp_(grad, 1 - momentum)
        update = grad.lerp(buf, momentum) if group["nesterov"] else buf
        ortho = zeropower_via_newtonschulz(
            update, group["ns_coefficients"], group["ns_steps"], group["eps"]
        )
        lr = group["lr"]
        p.mul_(1 - lr * group["weight_decay"])
        p.add_(ortho, alpha=-adjusted_lr(lr, group["adjust_lr_fn"], tuple(p.shape)))
