"""Check mode: validate every buffer a kernel returns, to catch a broken backend at the call.

Core trusts kernels: a buffer of the wrong size is wrapped as it is and fails much later, far
from its cause (or worse, silently reads garbage). In check mode each kernel of a backend
instance is wrapped so that its result is checked right away against the protocol's shape
rule: the element count, and that it is a new buffer, not one of the inputs.

Check mode is on with ``TINYGPT_CHECK_KERNELS=1``, in the conformance kit and in
``tinygpt backends --check``; it is off by default, when a kernel call costs nothing extra.

>>> from tinygpt.backend.registry import get_backend
>>> from tinygpt.ndarray import NDArray
>>> from tinygpt.dtypes import float32
>>> class Short(type(get_backend("numpy"))):
...     def unary(self, op, x):
...         return super().unary(op, x)[:-1]  # one element short
>>> backend = install_checks(Short(get_backend("numpy").device))
>>> x = NDArray(backend, backend.full(3, float32, 1.0), (3,), float32)
>>> try:
...     backend.unary("neg", x)
... except BackendError as error:
...     print(error)  # doctest: +ELLIPSIS
backend 'numpy': unary('neg', (3,) float32) returned a buffer of 2 elements, expected 3 ...
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import BackendError
from ..ndarray import NDArray, prod

if TYPE_CHECKING:
    from .protocol import Backend

__all__ = ["install_checks", "OUTPUT_SIZES", "buffer_length"]


def _without(shape: tuple[int, ...], axes: tuple[int, ...]) -> int:
    return prod(tuple(d for i, d in enumerate(shape) if i not in axes))


def _gathered(x: NDArray, axis: int, index: NDArray) -> int:
    return prod(x.shape[:axis]) * index.size * prod(x.shape[axis + 1 :])


def _layer_norm_grads(dy, x, weight, mean, rstd) -> tuple[int | None, ...]:
    channels = x.shape[-1]
    return (x.size, None if weight is None else channels, channels)


#: kernel -> the element count of each buffer it returns, from its arguments (the shape rules
#: of protocol.py). None marks an output that may be None (layer_norm_backward's dweight).
OUTPUT_SIZES: dict[str, Callable[..., tuple[int | None, ...]]] = {
    "empty": lambda size, dtype: (size,),
    "full": lambda size, dtype, value: (size,),
    "from_host": lambda data, dtype: (memoryview(data).nbytes // dtype.itemsize,),
    "copy": lambda x: (x.size,),
    "cast": lambda x, dtype: (x.size,),
    "unary": lambda op, x: (x.size,),
    "binary": lambda op, a, b: (a.size,),
    "binary_scalar": lambda op, a, value, reflected: (a.size,),
    "where": lambda cond, a, b: (a.size,),
    "reduce": lambda op, x, axes: (_without(x.shape, axes),),
    "arg_reduce": lambda op, x, axis: (_without(x.shape, (axis,)),),
    "matmul": lambda a, b: (prod(a.shape[:-1]) * b.shape[-1],),
    "gather": lambda x, axis, index: (_gathered(x, axis, index),),
    "random": lambda dist, size, dtype, seed, a, b, counter=0: (size,),
    "random_bits": lambda seed, counter, size: (size,),
    "softmax": lambda x, axis, log: (x.size,),
    "layer_norm": lambda x, w, b, eps: (x.size, prod(x.shape[:-1]), prod(x.shape[:-1])),
    "layer_norm_backward": _layer_norm_grads,
    "cross_entropy": lambda logits, targets, ignore: (logits.shape[0], logits.shape[0]),
    "cross_entropy_backward": lambda dloss, logits, *rest: (logits.size,),
    "attention": lambda q, k, v, causal, scale: (q.size, prod(q.shape[:-1])),
    "attention_backward": lambda dout, q, k, v, *rest: (q.size, k.size, v.size),
    "gelu": lambda x, approximate: (x.size,),
    "gelu_backward": lambda dy, x, approximate, y=None: (x.size,),
    "adamw": lambda *args, **kwargs: (None,),  # in place: returns None
}


def buffer_length(buffer: Any) -> int | None:
    """The element count of a backend buffer when it tells (len() or .size), else None."""
    try:
        return len(buffer)
    except TypeError:
        size = getattr(buffer, "size", None)
        return size if isinstance(size, int) else None


def install_checks(backend: Backend) -> Backend:
    """Wrap each kernel of this instance with its output check; returns the same instance."""
    for method, sizes in OUTPUT_SIZES.items():
        kernel = getattr(backend, method)
        setattr(backend, method, _checked(backend.name, method, kernel, sizes))
    backend.to_host = _checked_to_host(backend.name, backend.to_host)  # type: ignore[method-assign,assignment]
    return backend


def _checked(
    name: str,
    method: str,
    kernel: Callable[..., Any],
    sizes: Callable[..., tuple[int | None, ...]],
) -> Callable[..., Any]:
    @functools.wraps(kernel)
    def checked(*args: Any, **kwargs: Any) -> Any:
        result = kernel(*args, **kwargs)
        expected = sizes(*args, **kwargs)
        outputs = result if len(expected) > 1 else (result,)
        if len(expected) > 1 and (not isinstance(result, tuple) or len(result) != len(expected)):
            raise BackendError(
                f"backend {name!r}: {_call(method, args)} returned {type(result).__name__}, "
                f"expected a tuple of {len(expected)} buffers"
            )
        for position, (buffer, want) in enumerate(zip(outputs, expected)):
            _check_output(name, method, args, position, buffer, want)
        return result

    return checked


def _check_output(
    name: str, method: str, args: tuple, position: int, buffer: Any, want: int | None
) -> None:
    which = f"output {position} of " if position else ""
    if want is None or buffer is None:
        if buffer is not None or want is not None:
            expected = "None" if want is None else "a buffer"
            raise BackendError(
                f"backend {name!r}: {which}{_call(method, args)} returned "
                f"{type(buffer).__name__}, expected {expected}"
            )
        return
    for arg in args:
        if isinstance(arg, NDArray) and arg.buffer is buffer:
            raise BackendError(
                f"backend {name!r}: {which}{_call(method, args)} returned an input's buffer; "
                "outputs must be new buffers (core may write to either later)"
            )
    got = buffer_length(buffer)
    if got is not None and got != want:
        raise BackendError(
            f"backend {name!r}: {which}{_call(method, args)} returned a buffer of {got} "
            f"elements, expected {want} (a kernel returns a new, dense, flat buffer of the "
            "output's size)"
        )


def _checked_to_host(name: str, to_host: Callable[[NDArray], Any]) -> Callable[[NDArray], Any]:
    @functools.wraps(to_host)
    def checked(x: NDArray) -> Any:
        result = to_host(x)
        if result is x.buffer:
            raise BackendError(
                f"backend {name!r}: to_host({_describe(x)}) returned the device buffer itself; "
                "return a copy (a later kernel could overwrite it)"
            )
        nbytes = memoryview(result).nbytes
        if nbytes != x.size * x.dtype.itemsize:
            raise BackendError(
                f"backend {name!r}: to_host({_describe(x)}) returned {nbytes} bytes, expected "
                f"{x.size * x.dtype.itemsize} ({x.size} x {x.dtype.itemsize}-byte {x.dtype})"
            )
        return result

    return checked


def _call(method: str, args: tuple) -> str:
    """How a kernel call reads in an error: `binary('add', (2, 3) float32, (2, 3) float32)`."""
    shown = []
    for arg in args:
        if isinstance(arg, NDArray):
            shown.append(_describe(arg))
        elif isinstance(arg, str):
            shown.append(repr(arg))
    if method in ("empty", "full") and args:
        shown.append(f"size {args[0]}")
    if method == "random" and len(args) > 1:
        shown.append(f"size {args[1]}")
    return f"{method}({', '.join(shown)})"


def _describe(x: NDArray) -> str:
    return f"{x.shape} {x.dtype}"
