"""PyTorch's older `torch.nn.utils.weight_norm` and `spectral_norm`: the same
reparametrizations as `parametrizations.py`, kept the old way, which older checkpoints use:
parameters `<name>_g` and `<name>_v` (or `<name>_orig` with buffers `<name>_u`, `<name>_v`),
and a forward pre-hook that recomputes `module.<name>` before each call.
"""

from __future__ import annotations

from typing import Any

import tinygpt as tg
from tinygpt import Tensor

from ..module import Module
from ..parameter import Parameter
from .parametrizations import _SpectralNorm, norm_except_dim

__all__ = ["remove_spectral_norm", "remove_weight_norm", "spectral_norm", "weight_norm"]

#: (module id, name) -> the hook's handle and what it needs
_HOOKS: dict[tuple[int, str], Any] = {}


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """`module.<name>` = g * v / ||v|| before each forward, g and v the parameters."""
    dim = -1 if dim is None else dim
    weight = getattr(module, name)
    delattr(module, name)
    module.register_parameter(name + "_g", Parameter(norm_except_dim(weight, 2, dim).detach()))
    module.register_parameter(name + "_v", Parameter(weight.detach().clone()))

    def compute(mod: Module, args: Any) -> None:
        g, v = getattr(mod, name + "_g"), getattr(mod, name + "_v")
        object.__setattr__(mod, name, v * (g / norm_except_dim(v, 2, dim)))

    compute(module, ())
    _HOOKS[(id(module), name)] = module.register_forward_pre_hook(compute)
    return module


def remove_weight_norm(module: Module, name: str = "weight") -> Module:
    """Back to one parameter `<name>` holding g * v / ||v||."""
    handle = _HOOKS.pop((id(module), name), None)
    if handle is None:
        raise ValueError(f"remove_weight_norm: weight_norm of {name!r} not found in {module}")
    handle.remove()
    with tg.no_grad():
        weight = getattr(module, name).detach().clone()
    delattr(module, name)
    delattr(module, name + "_g")
    delattr(module, name + "_v")
    module.register_parameter(name, Parameter(weight))
    return module


def spectral_norm(
    module: Module,
    name: str = "weight",
    n_power_iterations: int = 1,
    eps: float = 1e-12,
    dim: int | None = None,
) -> Module:
    """`module.<name>` = <name>_orig / sigma before each forward (power iteration on the
    buffers <name>_u and <name>_v while training)."""
    weight = getattr(module, name)
    if dim is None:
        dim = 1 if "ConvTranspose" in type(module).__name__ else 0
    norm = _SpectralNorm(weight, n_power_iterations, dim, eps)
    delattr(module, name)
    module.register_parameter(name + "_orig", Parameter(weight.detach().clone()))
    module.register_buffer(name + "_u", norm._u)
    module.register_buffer(name + "_v", norm._v)

    def compute(mod: Module, args: Any) -> None:
        # the buffers live on the module (checkpoints, .to()): lend them to the estimator
        norm._buffers["_u"] = getattr(mod, name + "_u")
        norm._buffers["_v"] = getattr(mod, name + "_v")
        norm.train(mod.training)
        object.__setattr__(mod, name, norm(getattr(mod, name + "_orig")))

    with tg.no_grad():
        compute(module, ())
    _HOOKS[(id(module), name)] = module.register_forward_pre_hook(compute)
    return module


def remove_spectral_norm(module: Module, name: str = "weight") -> Module:
    """Back to one parameter `<name>` holding the normalized weight."""
    handle = _HOOKS.pop((id(module), name), None)
    if handle is None:
        raise ValueError(f"remove_spectral_norm: spectral_norm of {name!r} not found in {module}")
    handle.remove()
    with tg.no_grad():
        weight: Tensor = getattr(module, name).detach().clone()
    delattr(module, name)
    delattr(module, name + "_orig")
    delattr(module, name + "_u")
    delattr(module, name + "_v")
    module.register_parameter(name, Parameter(weight))
    return module
