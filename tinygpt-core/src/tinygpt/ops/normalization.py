"""Layer normalization: the `LayerNorm` primitive (a fused kernel) and `layer_norm`.

`layer_norm` normalizes over the trailing `normalized_shape` dims with PyTorch's signature.
When the backend lists "layer_norm" it is one kernel each way (`dispatch.use_fused`);
otherwise it is composed from reductions and elementwise ops. RMS and batch norm are
compositions in `tinygpt.nn.functional`.

>>> import tinygpt as tg
>>> y = tg.layer_norm(tg.tensor([[1.0, 2.0, 3.0]]), (3,))
>>> [round(v, 4) for v in y[0].tolist()]
[-1.2247, 0.0, 1.2247]
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import array_ops as A
from ..autograd.function import Function
from ..dtypes import statistics_dtype
from ..errors import ShapeError
from ..ndarray import NDArray
from ..tensor import Tensor
from . import autocast
from .dispatch import use_fused
from .elementwise import rsqrt
from .promotion import check_float, check_same
from .reductions import mean

__all__ = ["LayerNorm", "layer_norm", "rms_norm"]

#: machine epsilon per floating dtype (rms_norm's default eps, as in PyTorch)
_MACHINE_EPS = {"float16": 2.0**-10, "float32": 2.0**-23, "float64": 2.0**-52}


class LayerNorm(Function):
    """y = (x - mean) * rstd * weight + bias over the last axis.  (..., C) -> (..., C).

    The parents are x, then weight (C,) if `has_weight`, then bias (C,) if `has_bias`.
    """

    def forward(
        self, x: NDArray, *params: NDArray, eps: float, has_weight: bool, has_bias: bool
    ) -> NDArray:
        weight = params[0] if has_weight else None
        bias = params[-1] if has_bias else None
        y, mean, rstd = A.fused_call("layer_norm", x, weight, bias, eps)
        rows = x.shape[:-1]
        stats = statistics_dtype(x.dtype)  # float32 for float16 inputs
        mean_arr = A.wrap(x, mean, rows, stats)
        rstd_arr = A.wrap(x, rstd, rows, stats)
        self.has_weight = has_weight
        self.has_bias = has_bias
        self.eps = eps  # for the differentiable backward (create_graph=True)
        self.save_for_backward(x, weight, mean_arr, rstd_arr)
        return A.wrap(x, y, x.shape, x.dtype)

    def backward(self, grad: NDArray) -> tuple[NDArray | None, ...]:
        x, weight, mean, rstd = self.saved
        dx, dweight, dbias = A.fused_call("layer_norm_backward", grad, x, weight, mean, rstd)
        channels = (x.shape[-1],)
        grads: list[NDArray | None] = [A.wrap(x, dx, x.shape, x.dtype)]
        if self.has_weight:
            grads.append(A.wrap(x, dweight, channels, x.dtype))
        if self.has_bias:
            grads.append(A.wrap(x, dbias, channels, x.dtype))
        return tuple(grads)


# ------------------------------------------------------------------ functions


def layer_norm(
    input: Tensor,  # noqa: A002 - the PyTorch name
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias over the trailing `normalized_shape` dims.

    x (..., *normalized_shape); weight and bias have shape `normalized_shape` (or are None).
    """
    input = autocast.upper(input, "layer_norm")  # noqa: A001 - on cuda: in float32
    shape = normalized_dims("layer_norm", input, normalized_shape)
    if len(shape) == 1:
        return _layer_norm_last(input, weight, bias, eps)
    # several normalized dims: flatten them into one, normalize, and restore the shape
    lead = input.shape[: input.ndim - len(shape)]
    flat_w = None if weight is None else weight.reshape(-1)
    flat_b = None if bias is None else bias.reshape(-1)
    y = _layer_norm_last(input.reshape(*lead, -1), flat_w, flat_b, eps)
    return y.reshape(*input.shape)


def rms_norm(
    x: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    eps: float | None = None,
) -> Tensor:
    """x / sqrt(mean(x^2) + eps) * weight over the trailing dims (no centering, no bias).

    eps=None uses the dtype's machine epsilon, as PyTorch does.
    """
    shape = normalized_dims("rms_norm", x, normalized_shape)
    if eps is None:
        eps = _MACHINE_EPS[x.dtype.name]
    dims = tuple(range(x.ndim - len(shape), x.ndim))
    y = x * ((x * x).mean(dims, keepdim=True) + eps).rsqrt()
    return y if weight is None else y * weight


def normalized_dims(op: str, x: Tensor, normalized_shape: int | Sequence[int]) -> tuple[int, ...]:
    """`normalized_shape` as a tuple, checked to be the trailing dims of x."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if not shape or x.shape[x.ndim - len(shape) :] != shape or len(shape) > x.ndim:
        raise ShapeError(
            f"{op}: input {x.shape} does not end with normalized_shape {shape}; "
            "the normalized dims must be the last ones"
        )
    return shape


def _layer_norm_last(
    x: Tensor, weight: Tensor | None = None, bias: Tensor | None = None, eps: float = 1e-5
) -> Tensor:
    """Normalize over the last dim (biased variance, like PyTorch), then scale and shift.

    x (..., C), weight and bias (C,) or None -> (..., C).
    """
    check_float("layer_norm", x)
    if x.ndim == 0:
        raise ShapeError("layer_norm: needs at least 1 dim, got a 0-d tensor")
    channels = x.shape[-1]
    for name, p in (("weight", weight), ("bias", bias)):
        if p is None:
            continue
        if p.shape != (channels,):
            raise ShapeError(
                f"layer_norm: {name} has shape {p.shape}, expected ({channels},) for input "
                f"{x.shape}"
            )
        check_same("layer_norm", x, p)
    if use_fused("layer_norm", x):
        params = [p for p in (weight, bias) if p is not None]
        return LayerNorm.apply(
            x, *params, eps=eps, has_weight=weight is not None, has_bias=bias is not None
        )
    mu = mean(x, -1, keepdim=True)
    centered = x - mu
    var = mean(centered * centered, -1, keepdim=True)
    y = centered * rsqrt(var + eps)  # NOTE: eps inside the root keeps constant rows finite
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y
