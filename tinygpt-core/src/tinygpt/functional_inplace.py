"""PyTorch's function forms of in-place methods, `torch.sin_(x)`, `torch.zero_(x)`,
`torch.clamp_(x, 0, 1)`, ...: each calls the Tensor method of the same name on its first
argument (the methods live in `tensor_*.py`). Plus a few small top-level helpers
(`tg.fill`, `tg.get_default_device`, `tg.is_inference`, `tg.typename`).

>>> import tinygpt as tg
>>> x = tg.tensor([0.0, 4.0])
>>> tg.sqrt_(x) is x, x.tolist()
(True, [0.0, 2.0])
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

from .backend.registry import default_device
from .creation import full_like
from .device import Device
from .dtypes import bool_
from .ops.activation_more import celu, rrelu, selu
from .ops.activation_more import threshold as threshold_op
from .ops.aliases import bernoulli, type_name
from .tensor import Tensor

__all__ = [
    "threshold_",
    "selu_",
    "rrelu_",
    "i0_",
    "celu_",
    "dropout",
    "unsafe_split",
    "unsafe_chunk",
    "split_with_sizes",
    "resolve_neg",
    "resolve_conj",
    "real",
    "isreal",
    "conj_physical",
    "conj",
    "abs_",
    "acos_",
    "acosh_",
    "arccos_",
    "arccosh_",
    "arcsin_",
    "arcsinh_",
    "arctan_",
    "arctanh_",
    "asin_",
    "asinh_",
    "atan_",
    "atanh_",
    "ceil_",
    "clamp_",
    "clamp_max_",
    "clamp_min_",
    "clip_",
    "cos_",
    "cosh_",
    "deg2rad_",
    "detach_",
    "erf_",
    "erfc_",
    "exp2_",
    "exp_",
    "expm1_",
    "fill",
    "fill_",
    "fix_",
    "floor_",
    "frac_",
    "gcd_",
    "get_default_device",
    "index_put_",
    "is_inference",
    "lcm_",
    "ldexp_",
    "log10_",
    "log1p_",
    "log2_",
    "log_",
    "logit_",
    "nan_to_num_",
    "neg_",
    "negative_",
    "rad2deg_",
    "reciprocal_",
    "relu_",
    "round_",
    "rsqrt_",
    "sigmoid_",
    "sin_",
    "sinc_",
    "sinh_",
    "sqrt_",
    "square_",
    "tan_",
    "tanh_",
    "trunc_",
    "typename",
    "xlogy_",
    "zero_",
]


def _method(name: str) -> Callable[..., Any]:
    """`tg.name(x, ...)` that calls `x.name(...)`."""

    def call(input: Tensor, *args: Any, **kwargs: Any) -> Any:  # noqa: A002 - PyTorch's name
        return getattr(input, name)(*args, **kwargs)

    call.__name__ = name
    call.__qualname__ = name
    call.__doc__ = f"`x.{name}(...)`, in place: returns x."
    return call


abs_ = _method("abs_")
acos_ = _method("acos_")
acosh_ = _method("acosh_")
arccos_ = _method("arccos_")
arccosh_ = _method("arccosh_")
arcsin_ = _method("arcsin_")
arcsinh_ = _method("arcsinh_")
arctan_ = _method("arctan_")
arctanh_ = _method("arctanh_")
asin_ = _method("asin_")
asinh_ = _method("asinh_")
atan_ = _method("atan_")
atanh_ = _method("atanh_")
ceil_ = _method("ceil_")
clamp_ = _method("clamp_")
clamp_max_ = _method("clamp_max_")
clamp_min_ = _method("clamp_min_")
clip_ = _method("clip_")
cos_ = _method("cos_")
cosh_ = _method("cosh_")
deg2rad_ = _method("deg2rad_")
detach_ = _method("detach_")
erf_ = _method("erf_")
erfc_ = _method("erfc_")
exp2_ = _method("exp2_")
exp_ = _method("exp_")
expm1_ = _method("expm1_")
fill_ = _method("fill_")
fix_ = _method("fix_")
floor_ = _method("floor_")
frac_ = _method("frac_")
gcd_ = _method("gcd_")
index_put_ = _method("index_put_")
lcm_ = _method("lcm_")
ldexp_ = _method("ldexp_")
log10_ = _method("log10_")
log1p_ = _method("log1p_")
log2_ = _method("log2_")
log_ = _method("log_")
logit_ = _method("logit_")
nan_to_num_ = _method("nan_to_num_")
neg_ = _method("neg_")
negative_ = _method("negative_")
rad2deg_ = _method("rad2deg_")
reciprocal_ = _method("reciprocal_")
relu_ = _method("relu_")
round_ = _method("round_")
rsqrt_ = _method("rsqrt_")
sigmoid_ = _method("sigmoid_")
sin_ = _method("sin_")
sinc_ = _method("sinc_")
sinh_ = _method("sinh_")
sqrt_ = _method("sqrt_")
square_ = _method("square_")
tan_ = _method("tan_")
tanh_ = _method("tanh_")
trunc_ = _method("trunc_")
xlogy_ = _method("xlogy_")
zero_ = _method("zero_")


def selu_(input: Tensor) -> Tensor:  # noqa: A002
    return input.copy_(selu(input))


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:  # noqa: A002
    return input.copy_(celu(input, alpha))


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:  # noqa: A002
    return input.copy_(threshold_op(input, threshold, value))


def rrelu_(  # noqa: A002
    input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False
) -> Tensor:
    return input.copy_(rrelu(input, lower, upper, training))


i0_ = _method("i0_")


def resolve_conj(input: Tensor) -> Tensor:  # noqa: A002
    """input itself: tinygpt has no complex dtypes, so nothing is ever conjugated lazily."""
    return input


resolve_neg = resolve_conj
conj = resolve_conj
conj_physical = resolve_conj
real = resolve_conj


def isreal(input: Tensor) -> Tensor:  # noqa: A002
    """True everywhere (bool, input's shape): every tinygpt dtype is real."""
    return full_like(input, True, dtype=bool_)


def split_with_sizes(input: Tensor, split_sizes: Any, dim: int = 0) -> tuple[Tensor, ...]:  # noqa: A002
    return tuple(input.split(list(split_sizes), dim))


def unsafe_split(input: Tensor, split_size: Any, dim: int = 0) -> tuple[Tensor, ...]:  # noqa: A002
    """`split` (PyTorch's "unsafe" forms differ only in autograd bookkeeping)."""
    return tuple(input.split(split_size, dim))


def unsafe_chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:  # noqa: A002
    return tuple(input.chunk(chunks, dim))


def dropout(input: Tensor, p: float = 0.5, train: builtins.bool = True) -> Tensor:  # noqa: A002
    """Zero each element with probability p and scale the rest by 1 / (1 - p) when `train`
    (`torch.dropout`; seeded by tg.manual_seed)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not train or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    keep = bernoulli(full_like(input, 1.0 - p))
    return input * keep / (1.0 - p)


def fill(input: Tensor, value: Any) -> Tensor:  # noqa: A002
    """A new tensor like input, every element `value` (out of place)."""
    return full_like(input, value)


def get_default_device() -> Device:
    """The device new tensors go to (`tg.default_device()`)."""
    return default_device()


def is_inference(input: Tensor) -> builtins.bool:  # noqa: A002
    return builtins.bool(input.is_inference())


def typename(obj: Any) -> str:
    """PyTorch's type string: "torch.FloatTensor" for a float32 tensor, else the class name."""
    if isinstance(obj, Tensor):
        return type_name(obj)
    return type(obj).__qualname__
