"""LayerNorm, RMSNorm, BatchNorm1d and BatchNorm2d.

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> ln = nn.LayerNorm(4)
>>> ln(tg.randn(2, 3, 4)).shape
(2, 3, 4)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tinygpt as tg
from tinygpt import ShapeError, Tensor

from .. import functional as F
from ..module import Module
from ..parameter import Parameter

__all__ = ["LayerNorm", "RMSNorm", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d"]


def _as_shape(normalized_shape: int | Sequence[int]) -> tuple[int, ...]:
    if isinstance(normalized_shape, int):
        return (normalized_shape,)
    return tuple(normalized_shape)


class LayerNorm(Module):
    """Normalize over the trailing `normalized_shape` dims, then scale and shift.

    (..., *normalized_shape) -> same shape; weight starts at ones, bias at zeros.
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.normalized_shape = _as_shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        shape = self.normalized_shape
        if elementwise_affine:
            self.weight = Parameter(tg.ones(*shape, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        if elementwise_affine and bias:
            self.bias = Parameter(tg.zeros(*shape, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


class RMSNorm(Module):
    """x / sqrt(mean(x^2) + eps) * weight over the trailing dims (no mean, no bias).

    eps=None uses the dtype's machine epsilon, as PyTorch does.
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float | None = None,
        elementwise_affine: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.normalized_shape = _as_shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(tg.ones(*self.normalized_shape, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)

    def forward(self, x: Tensor) -> Tensor:
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


class _BatchNorm(Module):
    """Per-channel normalization over the batch; running statistics for evaluation.

    Buffers: running_mean (C,) zeros, running_var (C,) ones, num_batches_tracked () int64.
    `momentum=None` makes the running statistics a plain average over all batches seen.
    """

    expected_dims: tuple[int, ...] = ()

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(tg.ones(num_features, device=device, dtype=dtype))
            self.bias = Parameter(tg.zeros(num_features, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)
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

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            with tg.no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1.0)
                self.num_batches_tracked.zero_()

    def _check_input(self, x: Tensor) -> None:
        name = type(self).__name__
        if x.ndim not in self.expected_dims:
            wanted = " or ".join(f"{d}-D" for d in self.expected_dims)
            raise ShapeError(f"{name}: expected {wanted} input, got {x.shape}")
        if x.shape[1] != self.num_features:
            raise ShapeError(
                f"{name}: input {x.shape} has {x.shape[1]} channels in dim 1, "
                f"expected num_features={self.num_features}"
            )

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            with tg.no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:
                # a cumulative average: the n-th batch gets weight 1/n
                momentum = 1.0 / float(self.num_batches_tracked.item())
        # NOTE: without running statistics even evaluation normalizes with the batch's own
        use_batch_stats = self.training or self.running_mean is None
        return F.batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            use_batch_stats,
            momentum,
            self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """BatchNorm over (N, C) or (N, C, L) inputs, per channel C."""

    expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """BatchNorm over (N, C, H, W) inputs, per channel C."""

    expected_dims = (4,)


class BatchNorm3d(_BatchNorm):
    """BatchNorm over (N, C, D, H, W) inputs, per channel C."""

    expected_dims = (5,)
