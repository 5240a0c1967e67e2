"""Tensor: an NDArray plus the autograd bookkeeping (requires_grad, grad, grad_fn).

The methods here are thin: the maths lives in `tinygpt.ops` (one family of ops per file) and
the compute in the backend. Read `ops/elementwise.py` for what a primitive looks like.

>>> import tinygpt as tg
>>> x = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad.tolist()
[[2.0, 4.0], [6.0, 8.0]]
"""

from __future__ import annotations

import builtins
from typing import Any

from . import array_ops as A
from .autograd import engine
from .autograd.function import Function
from .device import Device
from .dtypes import DType, as_dtype, float32, int64
from .errors import DTypeError
from .ndarray import NDArray
from .ops import indexing, reductions, shape
from .ops import math as M
from .tensor_methods import TensorMethods

__all__ = ["Tensor"]


class Tensor(TensorMethods):
    """A multi-dimensional array on a device, recording the ops that made it."""

    __slots__ = ("data", "requires_grad", "grad", "grad_fn", "__weakref__")
    data: NDArray
    requires_grad: builtins.bool
    grad: Tensor | None
    grad_fn: Function | None
    __array_priority__ = 1000  # numpy_array + tensor -> Tensor.__radd__

    def __init__(self, *_: object, **__: object) -> None:
        raise TypeError("Tensor: make tensors with tg.tensor(data), tg.zeros(...), tg.randn(...)")

    @classmethod
    def _make(cls, data: NDArray, requires_grad: builtins.bool = False) -> Tensor:
        """Wrap an NDArray without copying (internal constructor)."""
        out = object.__new__(cls)
        out.data = data
        out.requires_grad = requires_grad
        out.grad = None
        out.grad_fn = None
        return out

    # ------------------------------------------------------------- facts
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> DType:
        return self.data.dtype

    @property
    def device(self) -> Device:
        return self.data.backend.device

    @property
    def ndim(self) -> int:
        return len(self.data.shape)

    @property
    def is_leaf(self) -> builtins.bool:
        return self.grad_fn is None

    @property
    def T(self) -> Tensor:  # noqa: N802 - the PyTorch name
        """All dims reversed (the matrix transpose for 2-D), as a view."""
        return shape.permute(self, *reversed(range(self.ndim)))

    @property
    def mT(self) -> Tensor:  # noqa: N802 - the PyTorch name
        """The last two dims swapped (a batch of transposed matrices), as a view."""
        return shape.transpose(self, -2, -1)

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return self.data.size

    def size(self, dim: int | None = None) -> Any:
        return self.shape if dim is None else self.shape[dim]

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def is_contiguous(self) -> builtins.bool:
        return self.data.is_contiguous()

    def is_floating_point(self) -> builtins.bool:
        return self.dtype.is_floating_point

    # ------------------------------------------------------- conversion
    def numpy(self) -> Any:
        """A NumPy copy (detached; the tensor's memory is never shared)."""
        from .host import to_numpy

        return to_numpy(self.data)

    def tolist(self) -> Any:
        return self.numpy().tolist()

    def item(self) -> builtins.bool | int | float:
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors convert, got shape {self.shape}")
        return self.numpy().reshape(()).item()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.kind != "i":
            raise TypeError(f"only integer tensors can be used as an index, got {self.dtype}")
        return int(self.item())

    def __bool__(self) -> builtins.bool:
        if self.data.size != 1:
            raise RuntimeError(
                f"bool: a tensor of shape {self.shape} is ambiguous; use .any() or .all()"
            )
        return bool(self.item())

    def to(self, *args: Any, dtype: Any = None, device: Any = None) -> Tensor:
        """`.to("cpu")`, `.to(tg.float64)`, `.to("cuda", tg.float16)`; differentiable."""
        for arg in args:
            if isinstance(arg, (Device, str)) and not _names_dtype(arg):
                device = arg
            else:
                dtype = arg
        out = self
        if device is not None:
            from .backend.registry import get_backend

            target = get_backend(device)
            if target is not out.data.backend:
                out = ToDevice.apply(out, backend=target)
        if dtype is not None:
            out = M.cast(out, as_dtype(dtype))
        return out

    def float(self) -> Tensor:
        return M.cast(self, float32)

    def double(self) -> Tensor:
        return M.cast(self, as_dtype("float64"))

    def long(self) -> Tensor:
        return M.cast(self, int64)

    def int(self) -> Tensor:
        return M.cast(self, as_dtype("int32"))

    def bool(self) -> Tensor:
        return M.cast(self, as_dtype("bool"))

    def half(self) -> Tensor:
        return M.cast(self, as_dtype("float16"))

    def __repr__(self) -> str:
        import numpy as np

        body = np.array2string(self.numpy(), separator=", ", prefix="tensor(")
        extras = [f"dtype={self.dtype}", f"device='{self.device}'"]
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"tensor({body}, {', '.join(extras)})"

    # --------------------------------------------------------- autograd
    def backward(self, gradient: Tensor | None = None, retain_graph: builtins.bool = False) -> None:
        """Accumulate d self / d leaf into each leaf's `.grad`; frees the graph unless
        `retain_graph`. Non-scalar outputs need `gradient` (the vector of the product)."""
        engine.backward(self, gradient, retain_graph)

    def _accumulate_grad(self, g: NDArray) -> None:
        if self.grad is None:
            # NOTE: copy, so an in-place update of one .grad can never change another's
            owned = NDArray(g.backend, g.backend.copy(g), g.shape, g.dtype)
            self.grad = Tensor._make(owned)
        else:
            self.grad = Tensor._make(A.binary("add", self.grad.data, g))

    def __deepcopy__(self, memo: dict[builtins.int, Any]) -> Tensor:
        """A copy with its own memory on the same backend (`copy.deepcopy(module)` works)."""
        d = self.data
        out = type(self)._make(NDArray(d.backend, d.backend.copy(d), d.shape, d.dtype))
        out.requires_grad = self.requires_grad
        memo[id(self)] = out
        return out

    def detach(self) -> Tensor:
        """The same data, cut out of the graph."""
        return Tensor._make(self.data, False)

    def requires_grad_(self, requires_grad: builtins.bool = True) -> Tensor:
        if requires_grad and not self.dtype.is_floating_point:
            raise DTypeError(
                f"requires_grad_: only floating tensors can need grad, not {self.dtype}"
            )
        self.requires_grad = requires_grad
        return self

    def _become(self, other: Tensor) -> None:
        """Take over `other`'s data and graph position (in-place ops under autograd)."""
        self.data = other.data
        self.grad_fn = other.grad_fn
        self.requires_grad = other.requires_grad

    # ------------------------------------------------------- indexing
    def __getitem__(self, index: object) -> Tensor:
        return indexing.getitem(self, index)

    def __setitem__(self, index: object, value: object) -> None:
        indexing.setitem(self, index, value)

    __hash__ = object.__hash__


def _names_dtype(arg: object) -> bool:
    try:
        as_dtype(arg)
    except DTypeError:
        return False
    return True


class ToDevice(Function):
    """Copy to another device (through host memory); the gradient goes back the same way."""

    def forward(self, x: NDArray, backend: Any = None) -> NDArray:
        self.source = x.backend
        return _transfer(x, backend)

    def backward(self, grad: NDArray) -> NDArray:
        return _transfer(grad, self.source)


def _transfer(x: NDArray, backend: Any) -> NDArray:
    if x.dtype not in backend.dtypes:
        raise DTypeError(f"to: device {backend.device} does not support {x.dtype}")
    host = memoryview(x.backend.to_host(x)).cast("B")
    return NDArray(backend, backend.from_host(host, x.dtype), x.shape, x.dtype)


_ = (reductions,)  # re-exported through TensorMethods
