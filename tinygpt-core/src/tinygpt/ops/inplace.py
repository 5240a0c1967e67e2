"""In-place updates (`zero_`, `copy_`, `add_`, `normal_`, ...): write into a tensor's own memory.

Every write bumps the memory's version counter (shared with its views), so backward can tell
that a value it saved was overwritten and refuse, naming the op. Outside autograd (optimizers,
initialisers, buffers, anything under `tg.no_grad()`) a write is just a write. While autograd
records, an in-place op on a tensor in the graph is recorded too, as in PyTorch: the new value
is computed by ordinary ops from a copy of the old one, written into the memory, and becomes
the tensor's place in the graph (`commit`); a write through a view also rewrites the base's.
A leaf that requires grad (or a view of one) cannot be modified while recording.
"""

from __future__ import annotations

from typing import Any

from .. import array_ops as A
from ..autograd.function import Function, is_grad_enabled, no_grad
from ..creation import arange, full, rand, randn
from ..dtypes import bool_, check_fits, get_default_dtype, int64, promote_types, result_type
from ..errors import DTypeError, ShapeError
from ..ndarray import NDArray, prod
from ..tensor import Tensor
from .comparison import where
from .dispatch import use_fused
from .elementwise import binary, maximum
from .movement import Clone
from .promotion import as_tensor_like, cast, check_devices

__all__ = [
    "copy_",
    "fill_",
    "zero_",
    "add_",
    "sub_",
    "mul_",
    "div_",
    "uniform_",
    "normal_",
    "adam_step_",
    "commit",
    "check_writable",
    "graph_alias",
    "WriteView",
    "augmented",
]


# ------------------------------------------------------------ the graph of a write
class WriteView(Function):
    """`base` with the elements that `view` shows replaced by `value`: how the graph records an
    in-place write through a view (`x[0].mul_(2)` where x is in the graph).

    The write already happened in memory, so forward returns base's array as it is. Backward
    finds, for each element of the view, which element of base shares its memory (both are
    strided windows on one buffer), and routes the gradient there to `value`, the rest to base.
    """

    def forward(self, base: NDArray, value: NDArray, view: Any = None) -> NDArray:
        self.base = (base.shape, base.strides, base.offset)
        self.view = (view.shape, view.strides, view.offset)
        return base

    def backward(self, grad: NDArray) -> tuple[NDArray, NDArray]:
        base_at = _memory_positions(grad, *self.base)  # (base.size,) int64
        view_at = _memory_positions(grad, *self.view)  # (view.size,)
        extent = 1 + max(_last_position(*self.base), _last_position(*self.view))
        ids = arange(base_at.size, device=grad.backend.device)._data  # each base element's index
        index_of = A.scatter_add((extent,), 0, base_at, ids)  # memory position -> base index
        which = A.gather(index_of, 0, view_at)  # the base element under each view element
        flat = grad.compact().reshape((grad.size,))
        dvalue = A.gather(flat, 0, which)
        dbase = A.binary("sub", flat, A.scatter_add((grad.size,), 0, which, dvalue))
        return dbase.reshape(grad.shape), dvalue.reshape(self.view[0])


def _memory_positions(like: NDArray, shape: tuple, strides: tuple, offset: int) -> NDArray:
    """The buffer position of every element of a strided window, row-major: (size,) int64."""
    device = like.backend.device
    at = A.full(like, (), offset, int64)
    for d, (size, stride) in enumerate(zip(shape, strides, strict=True)):
        steps = A.scalar("mul", arange(size, device=device)._data, stride)
        at = A.binary("add", at, steps.reshape((1,) * d + (size,) + (1,) * (len(shape) - d - 1)))
    return at.compact().reshape((prod(shape),))


def _last_position(shape: tuple, strides: tuple, offset: int) -> int:
    """The highest buffer position a strided window touches (its offset when empty)."""
    if 0 in shape:
        return offset
    return offset + sum((size - 1) * stride for size, stride in zip(shape, strides) if stride > 0)


# ------------------------------------------------------------------ functions
def check_writable(op: str, x: Tensor) -> None:
    """Refuse in-place writes that would corrupt a result or a gradient."""
    x._check_inference_write(op)  # an inference tensor outside inference_mode (tensor.py)
    if 0 not in x.shape and any(st == 0 and d > 1 for d, st in zip(x.shape, x._data.strides)):
        raise RuntimeError(
            f"{op}: tensor of shape {x.shape} is a broadcast view (stride 0): one element of "
            "memory stands for several, so an in-place write is ambiguous; write into a "
            ".clone() or .contiguous() copy instead"
        )
    if not is_grad_enabled():
        return
    if x.requires_grad and x.is_leaf:
        raise RuntimeError(
            f"{op}: a leaf tensor that requires grad cannot be modified in place while "
            "autograd is recording; wrap the update in `with tg.no_grad():`"
        )
    base = x._base
    if base is not None and base.requires_grad and base.is_leaf:
        raise RuntimeError(
            f"{op}: this tensor is a view of a leaf tensor that requires grad, which cannot "
            "be modified in place while autograd is recording; wrap the update in "
            "`with tg.no_grad():`, or modify a .clone()"
        )


def _recording(x: Tensor, other: object) -> bool:
    """Whether an in-place op on x with `other` must be recorded in the graph."""
    if not is_grad_enabled():
        return False
    return x.requires_grad or (isinstance(other, Tensor) and other.requires_grad)


def commit(op: str, x: Tensor, new: Tensor) -> Tensor:
    """Write `new` (a result of autograd ops, x's shape) into x's memory; it becomes x's value
    in the graph. A write through a view of a base in the graph rewrites the base's too."""
    if new.shape != x.shape:
        raise ShapeError(f"{op}: the result has shape {new.shape}, but {x.shape} is written")
    new = cast(new, x.dtype)
    A.write(x._data, new._data)
    x._bump_version()
    if not new.requires_grad:
        return x
    base = x._base
    if base is not None and base._data.buffer is x._data.buffer:
        # the base's old value in the graph, with the view's elements replaced by `new`
        rewritten = WriteView.apply(graph_alias(base), new, view=x._data)
        base.grad_fn = rewritten.grad_fn
        base.requires_grad = True
    x.grad_fn = new.grad_fn
    x.requires_grad = True
    return x


def graph_alias(x: Tensor) -> Tensor:
    """x's current place in the graph, as a separate tensor object (same memory).

    subtle: an op recorded on x itself would keep x as its parent, and once `commit` gives x a
    new grad_fn the graph would run in a circle; the alias keeps the old one.
    """
    alias = x.detach()
    alias.requires_grad = x.requires_grad
    alias.grad_fn = x.grad_fn
    return alias


def _record(op: str, x: Tensor, other: object, alpha: float) -> Tensor:
    """`x op= alpha * other` as graph ops on a copy of x's old value, then `commit`."""
    old = Clone.apply(graph_alias(x)) if x.requires_grad else x.detach()
    if alpha != 1.0:
        other = binary("mul", as_tensor_like(other, x), alpha)
    new = binary(op, old, other)
    if new.shape != x.shape:
        raise ShapeError(f"{op}_: cannot write shape {new.shape} into {x.shape}")
    return commit(f"{op}_", x, new)


def copy_(x: Tensor, src: object) -> Tensor:
    """Write `src` (broadcast to x's shape, cast to x's dtype) into x."""
    check_writable("copy_", x)
    if isinstance(src, (bool, int, float)):
        # a Python number goes straight to x's dtype (as float32 first, 0.1 would lose bits)
        source = full((), src, dtype=x.dtype, device=x.device)
    else:
        source = as_tensor_like(src, x)
    check_devices("copy_", x, source)
    if _recording(x, source):
        # the gradient flows to src (summed over any broadcast), none to x's old value
        new = source.expand(*x.shape) if source.shape != x.shape else source
        return commit("copy_", x, Clone.apply(new))
    return _copy_no_check(x, source)


def fill_(x: Tensor, value: bool | int | float) -> Tensor:
    check_writable("fill_", x)
    check_fits("fill_", value, x.dtype)  # nan into int64: a DTypeError, never the kernel's
    if is_grad_enabled() and x.requires_grad:
        # recorded: `value` everywhere, so the old value gets a zero gradient
        everywhere = full(x.shape, True, dtype=bool_, device=x.device)
        return commit("fill_", x, where(everywhere, value, Clone.apply(graph_alias(x))))
    A.fill(x._data, value)
    x._bump_version()
    return x


def zero_(x: Tensor) -> Tensor:
    return fill_(x, 0)


def _update(op: str, x: Tensor, other: object, alpha: float = 1.0) -> Tensor:
    check_writable(f"{op}_", x)
    if _recording(x, other):
        return _record(op, x, other, alpha)
    if _fast_update(op, x, other, alpha):
        x._bump_version()
        return x
    with no_grad():
        if alpha != 1.0:
            other = binary("mul", as_tensor_like(other, x), alpha)
        result = binary(op, x.detach(), other)
    return _copy_no_check(x, result)


def _fast_update(op: str, x: Tensor, other: object, alpha: float) -> bool:
    """The optimizers' case, straight on the arrays (no graph nodes, no promotion): a float
    tensor updated with a Python number or a tensor of its own dtype and device that
    broadcasts to its shape. False: leave it to the general path."""
    if x.dtype.kind != "f":
        return False
    if isinstance(other, (int, float)) and not isinstance(other, bool):
        if result_type(x.dtype, other) is not x.dtype:
            return False
        A.write(x._data, A.scalar(op, x._data, other * alpha))
        return True
    if not isinstance(other, Tensor) or other.dtype is not x.dtype:
        return False
    if other._data.backend is not x._data.backend or len(other.shape) > len(x.shape):
        return False
    data = other._data if alpha == 1.0 else A.scalar("mul", other._data, alpha)
    try:
        data = data.broadcast_to(x.shape)
    except ShapeError:
        return False  # the general path raises the error that names both shapes
    A.write(x._data, A.binary(op, x._data, data))
    return True


def _copy_no_check(x: Tensor, result: Tensor) -> Tensor:
    """Write `result` into x's memory (cast, broadcast). NOTE: x may be a view."""
    data = A.cast(result._data, x.dtype)
    if data.shape != x.shape:
        try:
            data = data.broadcast_to(x.shape)
        except ShapeError:
            raise ShapeError(f"copy_: cannot write shape {result.shape} into {x.shape}") from None
    A.write(x._data, data)
    x._bump_version()
    return x


_KIND_RANK = {"b": 0, "i": 1, "f": 2}


def augmented(op: str, x: Tensor, other: object) -> Tensor:
    """`x op= other` (`+=`, `-=`, `*=`, `/=`): in place, as in PyTorch. Like PyTorch it refuses
    a result of a wider kind than x (an int tensor `/=` or `+= 0.5`) instead of truncating."""
    if isinstance(other, Tensor):
        wanted = promote_types(x.dtype, other.dtype)
    elif isinstance(other, (bool, int, float)):
        wanted = result_type(x.dtype, other)
    else:
        wanted = as_tensor_like(other, x).dtype
    if op == "div" and wanted.kind != "f":
        wanted = get_default_dtype()
    if _KIND_RANK[wanted.kind] > _KIND_RANK[x.dtype.kind]:
        raise DTypeError(
            f"{op}_: the result is {wanted}, which cannot be written into the {x.dtype} tensor "
            f"in place; use x = x {_SYMBOL[op]} y, or convert x first (x = x.float())"
        )
    return _update(op, x, other)


_SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/"}


def add_(x: Tensor, other: object, alpha: float = 1.0) -> Tensor:
    """x += alpha * other, in place."""
    return _update("add", x, other, alpha)


def sub_(x: Tensor, other: object, alpha: float = 1.0) -> Tensor:
    return _update("sub", x, other, alpha)


def mul_(x: Tensor, other: object) -> Tensor:
    return _update("mul", x, other)


def div_(x: Tensor, other: object) -> Tensor:
    return _update("div", x, other)


def uniform_(x: Tensor, low: float = 0.0, high: float = 1.0) -> Tensor:
    """Fill x with uniform samples from [low, high), seeded by tg.manual_seed."""
    check_writable("uniform_", x)
    sample = rand(*x.shape, dtype=x.dtype, device=x.device) * (high - low) + low
    return _copy_no_check(x, sample)


def normal_(x: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill x with normal samples, seeded by tg.manual_seed."""
    check_writable("normal_", x)
    sample = randn(*x.shape, dtype=x.dtype, device=x.device) * std + mean
    return _copy_no_check(x, sample)


def adam_step_(
    param: Tensor,
    grad: Tensor,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
    *,
    lr: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float,
    step: int,
    amsgrad_max: Tensor | None = None,
    decoupled: bool = True,
) -> None:
    """One Adam/AdamW update of `param`, in place (also updates the two moment buffers).

    `step` counts from 1. AdamW (`decoupled`) shrinks the weights by `1 - lr * weight_decay`;
    Adam with weight decay adds `weight_decay * param` to the gradient (L2). With
    `amsgrad_max` the running maximum of the second moment is used (and updated).
    One fused kernel does it when the backend lists "adamw" and the update is plain AdamW
    (or Adam without decay) on dense tensors of one dtype; otherwise it is composed below.
    """
    beta1, beta2 = betas
    if _adamw_fusable(param, grad, exp_avg, exp_avg_sq, weight_decay, amsgrad_max, decoupled):
        arrays = (param._data, grad._data, exp_avg._data, exp_avg_sq._data)
        A.fused_call("adamw", *arrays, lr, beta1, beta2, eps, weight_decay, step)
        for written in (param, exp_avg, exp_avg_sq):
            written._bump_version()
        return
    with no_grad():
        if weight_decay != 0:
            if decoupled:
                # AdamW: shrink the weights directly, so the decay is not rescaled by 1/sqrt(v)
                param.mul_(1 - lr * weight_decay)
            else:
                grad = grad + param * weight_decay
        exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
        exp_avg_sq.mul_(beta2).add_(grad * grad, alpha=1 - beta2)
        v_hat = exp_avg_sq
        if amsgrad_max is not None:
            amsgrad_max.copy_(maximum(amsgrad_max, exp_avg_sq))
            v_hat = amsgrad_max
        step_size = lr / (1 - beta1**step)
        # NOTE: eps is added after the bias correction of sqrt(v), as in PyTorch
        denom = v_hat.sqrt() / (1 - beta2**step) ** 0.5 + eps
        param.add_(exp_avg / denom, alpha=-step_size)


def _adamw_fusable(
    param: Tensor,
    grad: Tensor,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
    weight_decay: float,
    amsgrad_max: Tensor | None,
    decoupled: bool,
) -> bool:
    """Whether the backend's fused "adamw" kernel can do this update (see protocol.py)."""
    reason = None
    if amsgrad_max is not None:
        reason = "amsgrad (the fused kernel keeps no running maximum)"
    elif weight_decay != 0 and not decoupled:
        reason = "Adam's L2 weight decay (the fused kernel decays AdamW's way)"
    elif not param.dtype.is_floating_point:
        reason = f"a {param.dtype} parameter"
    elif grad.dtype != param.dtype or grad.shape != param.shape or grad.device != param.device:
        reason = "the gradient's dtype, shape or device differs from the parameter's"
    elif not all(t._data.is_contiguous() for t in (param, exp_avg, exp_avg_sq)):
        reason = "a non-contiguous parameter or state"
    return use_fused("adamw", param, reason)  # tg.profile() lists the reason
