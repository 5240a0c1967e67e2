"""PyTorch conveniences built from existing ops, behind `tensor_aliases.py` (methods) and
`functional_aliases.py` (`tg.*`): mm/bmm with their rank checks, outer, repeat_interleave,
nonzero, bernoulli, `x.new_*` and the legacy `Tensor(...)` constructor.

No primitive here: each is a composition, so gradients come from the ops it uses.

>>> import tinygpt as tg
>>> tg.outer(tg.tensor([1.0, 2.0]), tg.tensor([1.0, 10.0])).tolist()
[[1.0, 10.0], [2.0, 20.0]]
"""

from __future__ import annotations

from typing import Any

from ..creation import arange, empty, full, ones, tensor, zeros
from ..dtypes import get_default_dtype
from ..errors import ShapeError
from ..random import Generator, rand
from ..tensor import Tensor
from . import reductions  # subtle: the module, as reductions -> comparison -> this file
from .matmul import matmul
from .movement import expand, reshape, stack, unsqueeze

__all__ = [
    "amax",
    "amin",
    "bernoulli",
    "bmm",
    "dot",
    "legacy_tensor",
    "lerp",
    "mm",
    "new_tensor",
    "nonzero",
    "outer",
    "repeat_interleave",
    "type_name",
]


# ------------------------------------------------------------------ products
def mm(a: Tensor, b: Tensor) -> Tensor:
    """(n, k) @ (k, m): `matmul` for matrices only, as PyTorch's `mm`."""
    _check_rank("mm", 2, a, b)
    return matmul(a, b)


def bmm(a: Tensor, b: Tensor) -> Tensor:
    """(b, n, k) @ (b, k, m): `matmul` for equal batches of matrices, as PyTorch's `bmm`."""
    _check_rank("bmm", 3, a, b)
    if a.shape[0] != b.shape[0]:
        raise ShapeError(
            f"bmm: {a.shape} @ {b.shape}: batch sizes {a.shape[0]} and {b.shape[0]} differ "
            "(bmm does not broadcast; use matmul)"
        )
    return matmul(a, b)


def _check_rank(op: str, rank: int, a: Tensor, b: Tensor) -> None:
    if a.ndim != rank or b.ndim != rank:
        raise ShapeError(
            f"{op}: expects two {rank}-D tensors, got {a.shape} and {b.shape}; "
            "use matmul (or @) for other ranks"
        )


def outer(a: Tensor, b: Tensor) -> Tensor:
    """(n,) x (m,) -> (n, m): a[i] * b[j] (RoPE's position-by-frequency table)."""
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"outer: expects two 1-D tensors, got {a.shape} and {b.shape}")
    return reshape(a, -1, 1) * reshape(b, 1, -1)


def dot(a: Tensor, b: Tensor) -> Tensor:
    """(n,) . (n,) -> 0-d: the sum of a[i] * b[i], for 1-D tensors only (as PyTorch's `dot`)."""
    if a.ndim != 1 or b.ndim != 1 or a.shape != b.shape:
        raise ShapeError(f"dot: expects two 1-D tensors of one size, got {a.shape} and {b.shape}")
    return (a * b).sum()


def amax(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """The max over `dim` (an int, a tuple, or None for all), values only (no indices)."""
    return reductions.max(x, _dims(x, dim), keepdim)


def amin(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return reductions.min(x, _dims(x, dim), keepdim)


def _dims(x: Tensor, dim: Any) -> tuple[int, ...]:
    if dim is None:
        return tuple(range(x.ndim))
    return (dim,) if isinstance(dim, int) else tuple(dim)


def lerp(start: Tensor, end: Any, weight: Any) -> Tensor:
    """start + weight * (end - start) (the EMA update `ema.lerp_(param, 1 - decay)`)."""
    return start + weight * (end - start)


def type_name(x: Tensor) -> str:
    """PyTorch's legacy type string for `x.type()`: "torch.FloatTensor" and so on.

    NOTE: it says "torch.", not "tinygpt.": the string is a protocol that existing code
    compares against (`x.type() == "torch.FloatTensor"`), and issue 14 asks for such code to
    run unmodified. `x.device` and `x.dtype` name tinygpt's own objects.
    """
    names = {
        "float32": "Float",
        "float64": "Double",
        "float16": "Half",
        "bfloat16": "BFloat16",
        "int64": "Long",
        "int32": "Int",
        "int8": "Char",
        "uint8": "Byte",
        "bool": "Bool",
    }
    cuda = ".cuda" if x.device.type == "cuda" else ""
    return f"torch{cuda}.{names.get(x.dtype.name, x.dtype.name)}Tensor"


# ------------------------------------------------------------- repeat, find
def repeat_interleave(x: Tensor, repeats: int, dim: int | None = None) -> Tensor:
    """Each element `repeats` times in a row along `dim` (of the flattened x when None)."""
    if not isinstance(repeats, int):
        raise NotImplementedError(
            "repeat_interleave: only an int `repeats` is supported, got "
            f"{type(repeats).__name__}; repeat per element with index_select instead"
        )
    if dim is None:
        x, dim = reshape(x, -1), 0
    axis = dim % x.ndim
    shape = list(x.shape)
    wide = unsqueeze(x, axis + 1)  # (..., n, 1, ...)
    wide = expand(wide, *shape[: axis + 1], repeats, *shape[axis + 1 :])  # (..., n, r, ...)
    shape[axis] *= repeats
    return reshape(wide, *shape)


def nonzero(x: Tensor, as_tuple: bool = False) -> Any:
    """The positions of the non-zero elements: an (n, ndim) int64 tensor, or one int64 tensor
    per dim with `as_tuple=True` (what `tg.where(cond)` returns). Reads the mask on the host
    once, through boolean-mask indexing (the result's size depends on the values)."""
    mask = x if x.dtype == "bool" else x != 0
    if mask.ndim == 0:
        mask = reshape(mask, 1)  # a 0-d input is read as one element
    per_dim = []
    for dim, size in enumerate(mask.shape):
        view = [1] * mask.ndim
        view[dim] = size
        coordinate = reshape(arange(size, device=mask.device), *view)
        per_dim.append(expand(coordinate, *mask.shape)[mask])
    return tuple(per_dim) if as_tuple else stack(per_dim, dim=1)


def bernoulli(p: Tensor, generator: Generator | None = None) -> Tensor:
    """1 with probability p[i], else 0 (p's dtype); seeded by `tg.manual_seed`."""
    draws = rand(*p.shape, generator=generator, dtype=p.dtype, device=p.device)
    return (draws < p.detach()).to(p.dtype)


# ------------------------------------------------------------- new tensors
def new_tensor(
    like: Tensor, maker: str, args: tuple[Any, ...], dtype: Any, grad: bool, device: Any = None
) -> Tensor:
    """`like.new_<maker>(*args)`: a new tensor with like's dtype and device unless `dtype` /
    `device` are given (PyTorch's `new_tensor/new_zeros/new_ones/new_empty/new_full`)."""
    makers: dict[str, Any] = {
        "tensor": tensor,
        "zeros": zeros,
        "ones": ones,
        "empty": empty,
        "full": full,
    }
    kwargs = {
        "dtype": like.dtype if dtype is None else dtype,
        "device": like.device if device is None else device,
    }
    out = makers[maker](*args, **kwargs)
    return out.requires_grad_(True) if grad else out


def legacy_tensor(args: tuple[Any, ...], device: Any = None) -> Tensor:
    """`Tensor(data)` / `Tensor(*sizes)` / `Tensor()`, as PyTorch's `torch.Tensor(...)`: always
    float32; sizes give an uninitialized tensor (micrograd's tests use `torch.Tensor([-4.0])`)."""
    if all(isinstance(a, int) and not isinstance(a, bool) for a in args):
        if not args:
            return empty(0, device=device)
        return empty(*args, dtype=get_default_dtype(), device=device)
    if len(args) != 1:
        raise TypeError(
            f"Tensor: expected data (a list, a number, an array) or int sizes, got {args!r}; "
            "tg.tensor(data, dtype=...) is the usual way to make a tensor"
        )
    return tensor(args[0], dtype=get_default_dtype(), device=device)
