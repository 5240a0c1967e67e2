"""Tensor ops as `tg.<name>` functions, the PyTorch way (`tg.exp(x)`, `tg.cat([a, b])`).

Each comes from its op family in `tinygpt.ops`; see `ops/__init__.py` for the map.
"""

from .ops.activation import gelu, log_softmax, relu, sigmoid, silu, softmax, tanh
from .ops.attention import scaled_dot_product_attention
from .ops.comparison import clamp, masked_fill, tril, triu, where
from .ops.convolution import conv2d, unfold
from .ops.elementwise import (
    abs,
    cos,
    erf,
    exp,
    log,
    maximum,
    minimum,
    rsqrt,
    sin,
    sqrt,
)
from .ops.indexing import getitem, index_select
from .ops.inplace import adam_step_
from .ops.loss import cross_entropy, nll_loss
from .ops.matmul import linear, matmul
from .ops.movement import (
    broadcast_tensors,
    broadcast_to,
    cat,
    chunk,
    expand,
    flatten,
    pad,
    permute,
    reshape,
    split,
    squeeze,
    stack,
    transpose,
    unbind,
    unsqueeze,
)
from .ops.normalization import layer_norm, rms_norm
from .ops.pooling import avg_pool2d, max_pool2d
from .ops.reductions import (
    argmax,
    argmin,
    logsumexp,
    max,
    mean,
    min,
    std,
    sum,
    var,
)
from .replay import KernelReplay, kernel_replay

__all__ = [
    "abs",
    "adam_step_",
    "argmax",
    "argmin",
    "avg_pool2d",
    "broadcast_tensors",
    "broadcast_to",
    "cat",
    "chunk",
    "clamp",
    "conv2d",
    "cos",
    "cross_entropy",
    "erf",
    "exp",
    "expand",
    "flatten",
    "gelu",
    "getitem",
    "index_select",
    "KernelReplay",
    "kernel_replay",
    "layer_norm",
    "linear",
    "log",
    "log_softmax",
    "logsumexp",
    "masked_fill",
    "matmul",
    "max",
    "max_pool2d",
    "maximum",
    "mean",
    "min",
    "minimum",
    "nll_loss",
    "pad",
    "permute",
    "relu",
    "rms_norm",
    "reshape",
    "rsqrt",
    "scaled_dot_product_attention",
    "sigmoid",
    "silu",
    "sin",
    "softmax",
    "split",
    "sqrt",
    "squeeze",
    "stack",
    "std",
    "sum",
    "tanh",
    "transpose",
    "tril",
    "triu",
    "unbind",
    "unfold",
    "unsqueeze",
    "var",
    "where",
]
