"""Dense-inputs mode: core compacts views before a kernel sees them, for simple backends.

A backend that sets ``dense_inputs = True`` gets each compute method of its instance wrapped
(by the registry, when it creates the instance): every NDArray argument that is not *dense*
(C-contiguous at offset 0, see `is_dense`) is first compacted with the backend's own `copy`,
so a broadcast (stride-0) view arrives at its full expanded size. In-place arguments (DST)
that are not dense are compacted, updated, and written back with `setitem`. The memory movers
(`copy`, `setitem`, `fill`, `to_host`) are not wrapped: they are the one place that walks
strides. A backend without the flag is never wrapped, so the mode costs it nothing.

>>> from tinygpt.backend.registry import get_backend
>>> from tinygpt.ndarray import NDArray
>>> from tinygpt.dtypes import float32
>>> seen = []
>>> class Recorder(type(get_backend("numpy"))):
...     dense_inputs = True
...     def unary(self, op, x):
...         seen.append((x.strides, x.offset))
...         return super().unary(op, x)
>>> backend = install_dense_inputs(Recorder(get_backend("numpy").device))
>>> x = NDArray(backend, backend.full(6, float32, 1.0), (2, 3), float32)
>>> backend.unary("neg", x.transpose(0, 1)).tolist()
[-1.0, -1.0, -1.0, -1.0, -1.0, -1.0]
>>> seen  # a (3, 2) transposed view arrived compacted: row-major strides, offset 0
[((2, 1), 0)]
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..ndarray import NDArray

if TYPE_CHECKING:
    from .protocol import Backend

__all__ = ["install_dense_inputs", "is_dense", "DATA", "DST"]

#: compute method -> positions (after self) of the NDArray arguments it only reads.
#: Kernels are called positionally (core and the kit do); an argument may be None
#: (layer_norm's weight and bias).
DATA: dict[str, tuple[int, ...]] = {
    "cast": (0,),  # x, dtype
    "unary": (1,),  # op, x
    "binary": (1, 2),  # op, a, b
    "binary_scalar": (1,),  # op, a, value, reflected
    "where": (0, 1, 2),  # cond, a, b
    "reduce": (1,),  # op, x, axes
    "arg_reduce": (1,),  # op, x, axis
    "matmul": (0, 1),  # a, b
    "gather": (0, 2),  # x, axis, index
    "scatter_add": (2, 3),  # dst, axis, index, src
    "argsort": (0,),  # x, axis, descending
    "softmax": (0,),  # x, axis, log
    "layer_norm": (0, 1, 2),  # x, weight, bias, eps
    "layer_norm_backward": (0, 1, 2, 3, 4),  # dy, x, weight, mean, rstd
    "cross_entropy": (0, 1),  # logits, targets, ignore_index
    "cross_entropy_backward": (0, 1, 2, 3),  # dloss, logits, targets, lse, ignore_index
    "attention": (0, 1, 2),  # q, k, v, causal, scale
    "attention_backward": (0, 1, 2, 3, 4, 5),  # dout, q, k, v, out, lse, causal, scale
    "gelu": (0,),  # x, approximate
    "gelu_backward": (0, 1),  # dy, x, approximate
    "adamw": (1,),  # param, grad, exp_avg, exp_avg_sq, lr, ...
}
#: compute method -> positions of the NDArray arguments it updates in place.
DST: dict[str, tuple[int, ...]] = {
    "scatter_add": (0,),  # dst: core passes fresh zeros, dense already
    "adamw": (0, 2, 3),  # param, exp_avg, exp_avg_sq: contiguous, but maybe at an offset
}


def is_dense(x: NDArray) -> bool:
    """Whether `x` is C-contiguous at offset 0: its elements are ``x.buffer[0:x.size]``."""
    return x.offset == 0 and x.is_contiguous()


def install_dense_inputs(backend: Backend) -> Backend:
    """Wrap each compute method of this instance to compact its inputs; the same instance."""
    for method, data in DATA.items():
        kernel = getattr(backend, method)
        setattr(backend, method, _densified(backend, kernel, data, DST.get(method, ())))
    return backend


def _densified(
    backend: Backend,
    kernel: Callable[..., Any],
    data: tuple[int, ...],
    dst: tuple[int, ...],
) -> Callable[..., Any]:
    positions = data + dst

    @functools.wraps(kernel)
    def densified(*args: Any, **kwargs: Any) -> Any:
        args_list = list(args)
        written = []  # (the caller's view, the dense stand-in the kernel updates)
        for position in positions:
            x = args_list[position] if position < len(args_list) else None
            if x is None or is_dense(x):
                continue
            # NOTE: `backend.copy` is looked up per call, so check mode's wrapper applies
            dense = NDArray(backend, backend.copy(x), x.shape, x.dtype)
            args_list[position] = dense
            if position in dst:
                written.append((x, dense))
        result = kernel(*args_list, **kwargs)
        for view, dense in written:
            backend.setitem(view, dense)
        return result

    return densified
