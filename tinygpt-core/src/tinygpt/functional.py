"""Tensor ops as `tg.<name>` functions, the PyTorch way (`tg.exp(x)`, `tg.cat([a, b])`)."""

from .ops.indexing import getitem
from .ops.math import (
    abs,
    clamp,
    cos,
    erf,
    exp,
    gelu,
    log,
    masked_fill,
    maximum,
    minimum,
    relu,
    rsqrt,
    sigmoid,
    silu,
    sin,
    sqrt,
    tanh,
    where,
)
from .ops.reductions import (
    argmax,
    argmin,
    logsumexp,
    log_softmax,
    max,
    mean,
    min,
    softmax,
    std,
    sum,
    var,
)
from .ops.shape import (
    broadcast_to,
    cat,
    chunk,
    expand,
    flatten,
    matmul,
    pad,
    permute,
    reshape,
    split,
    squeeze,
    stack,
    transpose,
    tril,
    triu,
    unsqueeze,
)

__all__ = [
    "abs", "argmax", "argmin", "broadcast_to", "cat", "chunk", "clamp", "cos", "erf", "exp", "expand",
    "flatten", "gelu", "getitem", "log", "log_softmax", "logsumexp", "masked_fill", "matmul",
    "max", "maximum", "mean", "min", "minimum", "pad", "permute", "relu", "reshape", "rsqrt",
    "sigmoid", "silu", "sin", "softmax", "split", "sqrt", "squeeze", "stack", "std", "sum",
    "tanh", "transpose", "tril", "triu", "unsqueeze", "var", "where",
]
