"""Bilinear, InstanceNorm1d/2d/3d, LocalResponseNorm, CosineSimilarity and PairwiseDistance:
PyTorch's layers of these names, with its constructor arguments, parameter names and init.

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> nn.Bilinear(2, 3, 4)(tg.randn(5, 2), tg.randn(5, 3)).shape
(5, 4)
>>> sorted(nn.InstanceNorm2d(3, affine=True).state_dict())
['bias', 'weight']
"""

from __future__ import annotations

import math
from typing import Any

import tinygpt as tg
from tinygpt import ShapeError, Tensor

from .. import init
from ..functional import norm_distance as N
from ..functional.distance import cosine_similarity
from ..module import Module
from ..parameter import Parameter

__all__ = [
    "Bilinear",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
    "LocalResponseNorm",
    "CrossMapLRN2d",
    "CosineSimilarity",
    "PairwiseDistance",
]


class Bilinear(Module):
    """y = x1 @ weight[k] @ x2 + bias[k]: (..., in1), (..., in2) -> (..., out).

    weight (out, in1, in2) and bias (out,), both U(+-1/sqrt(in1_features)) as in PyTorch.
    """

    def __init__(
        self,
        in1_features: int,
        in2_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        shape = (out_features, in1_features, in2_features)
        self.weight = Parameter(tg.empty(*shape, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(tg.empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.in1_features)
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return N.bilinear(x1, x2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
            f"out_features={self.out_features}, bias={self.bias is not None}"
        )


class _InstanceNorm(Module):
    """Per-sample, per-channel normalisation over the spatial dims.

    affine=True adds weight (C,) ones and bias (C,) zeros; track_running_stats=True adds the
    buffers running_mean, running_var, num_batches_tracked and uses them in eval mode.
    """

    spatial = 2

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(tg.ones(num_features, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        if affine and bias:
            self.bias = Parameter(tg.zeros(num_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", tg.zeros(num_features, device=device, dtype=dtype))
            self.register_buffer("running_var", tg.ones(num_features, device=device, dtype=dtype))
            counter = tg.zeros((), dtype=tg.int64, device=device)
            self.register_buffer("num_batches_tracked", counter)
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def forward(self, x: Tensor) -> Tensor:
        name = type(self).__name__
        if x.ndim not in (self.spatial + 1, self.spatial + 2):
            raise ShapeError(
                f"{name}: expected a {self.spatial + 1}-D (unbatched) or {self.spatial + 2}-D "
                f"input (N, C, <{self.spatial} spatial dims>), got {x.shape}"
            )
        unbatched = x.ndim == self.spatial + 1
        batch = x.unsqueeze(0) if unbatched else x
        if self.affine and batch.shape[1] != self.num_features:
            raise ValueError(
                f"{name}: input {x.shape} has {batch.shape[1]} channels, expected "
                f"num_features={self.num_features}"
            )
        use_input_stats = self.training or not self.track_running_stats
        if self.training and self.track_running_stats:
            with tg.no_grad():
                self.num_batches_tracked.add_(1)
        y = N.instance_norm(
            batch,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            use_input_stats,
            self.momentum,
            self.eps,
        )
        return y.squeeze(0) if unbatched else y

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )


class InstanceNorm1d(_InstanceNorm):
    """Instance norm of (N, C, L) or (C, L)."""

    spatial = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance norm of (N, C, H, W) or (C, H, W)."""


class InstanceNorm3d(_InstanceNorm):
    """Instance norm of (N, C, D, H, W) or (C, D, H, W)."""

    spatial = 3


class LocalResponseNorm(Module):
    """x / (k + alpha * mean of x**2 over `size` neighbouring channels) ** beta."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, x: Tensor) -> Tensor:
        return N.local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class CrossMapLRN2d(LocalResponseNorm):
    """PyTorch's legacy cross-channel LRN for (N, C, H, W): like LocalResponseNorm, but its
    channel window follows the old Lua Torch recurrence (pre_pad = (size - 1) // 2 + 1),
    which is not always centred; the window table is computed once per channel count.
    NOTE: its gradient is autograd's exact one; PyTorch's hand-written backward is not (it
    fails torch.autograd.gradcheck), so gradients differ from PyTorch's there."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1):
        super().__init__(size, alpha, beta, k)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4:
            raise ShapeError(f"CrossMapLRN2d: expected a 4-D input (N, C, H, W), got {x.shape}")
        windows = tg.tensor(_legacy_windows(x.shape[1], self.size), dtype=x.dtype, device=x.device)
        squares = (x * x).transpose(1, -1)  # (N, W, H, C): channels last
        total = (squares @ windows.mT).transpose(1, -1)  # sum over each channel's window
        return x * (total * (self.alpha / self.size) + self.k).pow(-self.beta)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


def _legacy_windows(channels: int, size: int) -> list[list[float]]:
    """(C, C): row c counts the channels in c's window, replaying the legacy recurrence."""
    pre_pad = int((size - 1) / 2 + 1)
    rows = [[0.0] * channels for _ in range(channels)]
    for c in range(min(pre_pad, channels)):
        rows[0][c] += 1.0
    for c in range(1, channels):
        rows[c] = list(rows[c - 1])
        if c < channels - pre_pad + 1:
            rows[c][c + pre_pad - 1] += 1.0
        if c > pre_pad:
            rows[c][c - pre_pad] -= 1.0
    return rows


class CosineSimilarity(Module):
    """Cosine of the angle between x1 and x2 along `dim`: (..., D, ...) -> (..., ...)."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim = dim
        self.eps = eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """||x1 - x2 + eps||_p over the last dim."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm = p
        self.eps = eps
        self.keepdim = keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return N.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
