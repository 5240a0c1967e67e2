"""The ops behind Tensor, one file per op family.

Each file holds its primitives (`Function` subclasses, forward and backward side by side)
and the public functions built on them:

    elementwise    neg, exp, log, sqrt, add, sub, mul, div, pow, maximum, minimum
    comparison     eq, lt, ..., logical and/or/not, where, masked_fill, clamp, tril, triu
    activation     relu, tanh, sigmoid, gelu, silu, softmax, log_softmax
    reductions     sum, mean, var, std, max, min, argmax, argmin, logsumexp
    movement       reshape, permute, expand, slicing views, split, cat, pad, to(device)
    indexing       x[index] (gather) and x[index] = v
    matmul         matmul, linear
    normalization  layer_norm
    attention      scaled_dot_product_attention (and the fused attention under it)
    loss           cross_entropy
    convolution    conv2d, unfold;  pooling: max_pool2d, avg_pool2d
    inplace        add_, mul_, copy_, fill_, normal_, ..., and the Adam update
    sorting        argsort, sort, topk (the backend's argsort kernel);  sampling: multinomial
    scan           cumsum, cumprod, prod;  norms: norm;  classify: isnan, isclose, allclose
    scatter        gather, scatter, scatter_add (PyTorch's one-index-per-element forms)
    rounding       floor, ceil, round, trunc, floor_divide (//), remainder (%)
    views          t, narrow, flip, repeat, as_strided;  einsum: einsum
    aliases        mm, bmm, outer, repeat_interleave, nonzero, bernoulli, x.new_*, Tensor(...)
    extras_linalg  diag, diagonal, trace, meshgrid, tensordot, kron, inner, addmm, cdist
    extras_stats   unique, bincount, median, diff, index_add, masked_select, tan, log2, ...

PyTorch's wider surface, composed from the families above (`*_more.py`):

    movement_more       hstack, vstack, tile, roll, rot90, movedim, tensor_split, unfold
    structure_more      block_diag, diag_embed, cartesian_prod, combinations, tril_indices
    elementwise_more    fmod, logaddexp, hypot, xlogy, copysign, fmax, sinc, nan_to_num
    elementwise_inverse atan, asin, acos, atan2, asinh, acosh, atanh (exact derivatives)
    log_exp             log1p, expm1;  special_math: lgamma, digamma, polygamma, erfinv
    stats_more          quantile, kthvalue, mode, cov, corrcoef, histc, searchsorted, isin
    scan_more           cummax, cummin, logcumsumexp;  scatter_more: scatter_reduce, index_put
    misc_more           addcdiv, addcmul, argwhere, pdist, windows, random fills
    bits_more           bitwise ops and shifts on integers;  activation_more: more activations

`promotion.py` makes operands meet (one device, one dtype) and `dispatch.py` is the one
place that chooses a backend's fused kernel over the composite. Importing this package binds
the Tensor methods (`tensor_methods.bind`): ops import Tensor, so Tensor cannot import ops.
"""

import sys

from .. import tensor_methods
from . import (
    activation,
    aliases,
    attention,
    classify,
    comparison,
    convolution,
    dispatch,
    einsum,
    elementwise,
    extras_linalg,
    extras_stats,
    indexing,
    inplace,
    loss,
    matmul,
    movement,
    normalization,
    norms,
    pooling,
    promotion,
    reductions,
    rounding,
    sampling,
    scan,
    scatter,
    sorting,
    views,
)

__all__ = [
    "activation",
    "extras_linalg",
    "extras_stats",
    "aliases",
    "classify",
    "einsum",
    "norms",
    "rounding",
    "sampling",
    "scan",
    "scatter",
    "sorting",
    "views",
    "attention",
    "comparison",
    "convolution",
    "dispatch",
    "elementwise",
    "indexing",
    "inplace",
    "loss",
    "matmul",
    "movement",
    "normalization",
    "pooling",
    "promotion",
    "reductions",
]

# the differentiable backward formulas (create_graph=True) register themselves on import
from . import convolution_graph, elementwise_graph, structure_graph  # noqa: E402, F401

tensor_methods.bind(sys.modules[__name__])
