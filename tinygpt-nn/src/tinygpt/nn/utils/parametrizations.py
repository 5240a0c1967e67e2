"""PyTorch's `torch.nn.utils.parametrizations`: weight normalization and spectral
normalization as parametrizations (`parametrize.py`), with PyTorch's checkpoint keys
(`parametrizations.weight.original0` / `original1` for g and v; `.original`, `.0._u`,
`.0._v` for spectral norm).

- weight_norm: w = g * v / ||v||, the norm over every dim but `dim` (Salimans & Kingma);
- spectral_norm: w = W / sigma(W), sigma the largest singular value, estimated by power
  iteration (one step per training forward, on the vectors u and v kept as buffers).
"""

from __future__ import annotations

import tinygpt as tg
from tinygpt import Tensor

from ..module import Module
from .parametrize import register_parametrization

__all__ = ["norm_except_dim", "spectral_norm", "weight_norm"]


def norm_except_dim(v: Tensor, pow: float = 2, dim: int = 0) -> Tensor:  # noqa: A002
    """The `pow`-norm of v over every dim but `dim` (shape 1 there, kept for broadcasting);
    dim=-1 (PyTorch's None) is the norm of all of v."""
    if dim == -1:
        return (v.abs() ** pow).sum() ** (1.0 / pow)
    axis = dim % v.ndim
    others = tuple(d for d in range(v.ndim) if d != axis)
    if not others:
        return v.abs()
    return (v.abs() ** pow).sum(dim=others, keepdim=True) ** (1.0 / pow)


class _WeightNorm(Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_v * (weight_g / norm_except_dim(weight_v, 2, self.dim))

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        return norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Reparametrize `module.<name>` as g * v / ||v|| (g and v trained instead)."""
    return register_parametrization(module, name, _WeightNorm(-1 if dim is None else dim))


class _SpectralNorm(Module):
    def __init__(
        self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12
    ) -> None:
        super().__init__()
        if n_power_iterations <= 0:
            raise ValueError(
                f"spectral_norm: n_power_iterations must be positive, got {n_power_iterations}"
            )
        self.dim = dim % weight.ndim if weight.ndim > 1 else 0
        self.eps = eps
        self.n_power_iterations = n_power_iterations
        if weight.ndim > 1:
            matrix = self._matrix(weight.detach())
            h, w = matrix.shape
            u = tg.randn(h, dtype=weight.dtype, device=weight.device)
            v = tg.randn(w, dtype=weight.dtype, device=weight.device)
            self.register_buffer("_u", self._normalize(u))
            self.register_buffer("_v", self._normalize(v))
            self._power_iteration(matrix, 15)

    def _normalize(self, x: Tensor) -> Tensor:
        return x / x.norm().clamp(min=self.eps)

    def _matrix(self, weight: Tensor) -> Tensor:
        """The weight as a matrix with `dim` first (how its singular values are meant)."""
        if self.dim != 0:
            order = [self.dim] + [d for d in range(weight.ndim) if d != self.dim]
            weight = weight.permute(*order)
        return weight.reshape(weight.shape[0], -1)

    def _power_iteration(self, matrix: Tensor, steps: int) -> None:
        with tg.no_grad():
            for _ in range(steps):
                self._u.copy_(self._normalize(matrix @ self._v))
                self._v.copy_(self._normalize(matrix.T @ self._u))

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return weight / weight.norm().clamp(min=self.eps)
        matrix = self._matrix(weight)
        if self.training:
            self._power_iteration(matrix.detach(), self.n_power_iterations)
        u, v = self._u.clone(), self._v.clone()
        sigma = (u * (matrix @ v)).sum()
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(
    module: Module,
    name: str = "weight",
    n_power_iterations: int = 1,
    eps: float = 1e-12,
    dim: int | None = None,
) -> Module:
    """Reparametrize `module.<name>` as W / sigma(W) (largest singular value); `dim` defaults
    to 1 for transposed convolutions, else 0, as PyTorch."""
    weight = getattr(module, name)
    if dim is None:
        dim = 1 if "ConvTranspose" in type(module).__name__ else 0
    norm = _SpectralNorm(weight, n_power_iterations, dim, eps)
    return register_parametrization(module, name, norm)
