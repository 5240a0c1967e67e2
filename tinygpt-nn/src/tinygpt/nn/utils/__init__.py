"""Helpers around parameters: gradient clipping, flattening to one vector, counting; and
`rnn.py`, variable-length sequences for recurrent layers (pad, pack).

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> nn.utils.count_parameters(nn.Linear(3, 2))
8
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable

import tinygpt as tg
from tinygpt import ShapeError, Tensor

from ..module import Module
from . import parametrizations, parametrize, rnn, stateless
from .weight_norm import remove_spectral_norm, remove_weight_norm, spectral_norm, weight_norm

__all__ = [
    "clip_grad_norm",
    "clip_grad_norm_",
    "clip_grads_with_norm_",
    "get_total_norm",
    "parametrizations",
    "parametrize",
    "remove_spectral_norm",
    "remove_weight_norm",
    "rnn",
    "spectral_norm",
    "stateless",
    "weight_norm",
    "clip_grad_value_",
    "parameters_to_vector",
    "vector_to_parameters",
    "count_parameters",
]


def _as_list(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def get_total_norm(
    tensors: Tensor | Iterable[Tensor],
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """The norm of all `tensors` together, as if concatenated into one vector (a 0-d tensor,
    float32 at least); `norm_type` may be any p >= 1 or `math.inf`. `foreach` is accepted
    for PyTorch code (there is one path here)."""
    del foreach
    values = [t for t in _as_list(tensors) if t is not None]
    if not values:
        return tg.zeros(())
    # float32 at least, so that float16 squares neither overflow nor lose the small ones
    dtype = tg.float64 if any(g.dtype == tg.float64 for g in values) else tg.float32
    with tg.no_grad():
        if norm_type == math.inf:
            peaks = [g.abs().max().to(dtype) for g in values]
            total = tg.stack(peaks).max()
        elif norm_type == 2.0:
            # the usual case: each g . g is one (1, n) @ (n, 1) matmul, with no temporaries
            # (2-D on purpose: a 1-D @ 1-D product adds four reshapes per gradient)
            flats = [g.to(dtype) for g in values]
            squares = [f.reshape(1, -1) @ f.reshape(-1, 1) for f in flats]  # each (1, 1)
            total = tg.cat(squares).sum().sqrt()
        else:
            # sum_i |g_i|^p over every tensor, then the p-th root: one norm for all
            powers = [(g.abs().to(dtype) ** norm_type).sum() for g in values]
            total = tg.stack(powers).sum() ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total.item()):
        raise RuntimeError(
            f"clip_grad_norm_: the total gradient norm is {total.item()}; "
            "pass error_if_nonfinite=False to clip anyway"
        )
    return total


def clip_grads_with_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    total_norm: Tensor,
    foreach: bool | None = None,
) -> None:
    """Scale every gradient in place by min(1, max_norm / (total_norm + 1e-6))."""
    del foreach
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    with tg.no_grad():
        # NOTE: 1e-6 keeps the division finite for an all-zero gradient; min(., 1) never
        # scales gradients up. The factor stays on the device: no host read per step.
        scale = (max_norm / (total_norm + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(scale.to(device=g.device, dtype=g.dtype))


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Scale all gradients together, in place, so that their joint norm is at most `max_norm`.

    The norm is taken over every gradient as if concatenated into one vector;
    `norm_type` may be any p >= 1 or `math.inf` (the largest absolute value).
    Returns that total norm (before clipping) as a 0-d tensor.
    """
    params = _as_list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return tg.zeros(())
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(params, max_norm, total.to(grads[0].device), foreach)
    return total


def clip_grad_norm(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """PyTorch's deprecated name for `clip_grad_norm_` (it warns, then clips)."""
    warnings.warn(
        "nn.utils.clip_grad_norm is deprecated; use nn.utils.clip_grad_norm_",
        FutureWarning,
        stacklevel=2,
    )
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(
    parameters: Tensor | Iterable[Tensor], clip_value: float, foreach: bool | None = None
) -> None:
    """Clamp every gradient, in place, elementwise into [-clip_value, clip_value].

    Unlike `clip_grad_norm_` it changes the gradient's direction; parameters without a
    gradient are skipped. `foreach` is accepted for PyTorch code (there is one path here).

    >>> import tinygpt as tg
    >>> w = tg.tensor([1.0, 2.0], requires_grad=True)
    >>> (w * tg.tensor([-3.0, 0.5])).sum().backward()
    >>> clip_grad_value_(w, 1.0); w.grad.tolist()
    [-1.0, 0.5]
    """
    if not math.isfinite(clip_value) or clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be finite and >= 0, got {clip_value}")
    with tg.no_grad():
        for p in _as_list(parameters):
            if p.grad is not None:
                p.grad.copy_(p.grad.clamp(-clip_value, clip_value))


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """Every parameter flattened and concatenated, in order: one 1-D tensor (a copy)."""
    flat = [p.reshape(-1) for p in parameters]
    if not flat:
        raise ValueError("parameters_to_vector: got no parameters")
    return tg.cat(flat)


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D `vec` into each parameter, in place."""
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.numel() != total:
        raise ShapeError(
            f"vector_to_parameters: vec has shape {vec.shape}, the parameters hold "
            f"{total} values; expected ({total},)"
        )
    start = 0
    with tg.no_grad():
        for p in params:
            n = p.numel()
            p.copy_(vec[start : start + n].reshape(*p.shape))
            start += n


def count_parameters(module: Module, trainable_only: bool = True) -> int:
    """The number of scalar values in `module`'s parameters (shared ones counted once)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
