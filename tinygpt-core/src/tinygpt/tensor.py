"""Tensor: an NDArray plus the autograd bookkeeping (requires_grad, grad, grad_fn).

This file is about data and autograd only. The operators and maths methods (`x + y`,
`x.sum()`, `x.reshape(...)`) are one-line calls into `tinygpt.ops`, listed in
`tensor_methods.py`; `tinygpt.ops` imports this file, never the other way round. Read
`ops/elementwise.py` for what a primitive looks like.

>>> import tinygpt as tg
>>> x = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad.tolist()
[[2.0, 4.0], [6.0, 8.0]]
"""

from __future__ import annotations

import builtins
import threading
from typing import Any

from . import array_ops as A
from .autograd import engine
from .autograd import function as _function
from .autograd import hooks as H
from .autograd.function import INFERENCE_VERSION, Function, _mode
from .backend.registry import get_backend
from .device import Device
from .dtypes import DType, as_dtype
from .errors import DTypeError, ShapeError
from .host import format_array, to_numpy
from .ndarray import NDArray
from .size import Size
from .tensor_methods import TensorMethods

__all__ = ["Tensor"]


class Tensor(TensorMethods, H.TensorHookMethods):
    """A multi-dimensional array on a device, recording the ops that made it."""

    __slots__ = (
        "_data",
        "requires_grad",
        "_grad",
        "grad_fn",
        "_version",
        "_base",
        "_hooks",
        "__weakref__",
    )
    #: the memory: a strided NDArray over a backend buffer (`.data` is PyTorch's tensor view)
    _data: NDArray
    requires_grad: builtins.bool
    _grad: Tensor | None
    grad_fn: Function | None
    #: how many in-place writes the memory has had: one counter shared by a tensor and all
    #: its views, so autograd can tell when a value saved for backward was overwritten
    _version: list[int]
    #: for a view made by an op (reshape, slicing, ...): the tensor whose memory it shows
    _base: Tensor | None
    #: a leaf's gradient hooks (`register_hook`, `register_post_accumulate_grad_hook`)
    _hooks: H.TensorHooks | None
    __array_priority__ = 1000  # numpy_array + tensor -> Tensor.__radd__

    def __init__(self, *_: object, **__: object) -> None:
        pass  # `Tensor(...)` is PyTorch's legacy constructor: __new__ (tensor_aliases) did it

    @classmethod
    def _make(cls, data: NDArray, requires_grad: builtins.bool = False) -> Tensor:
        """Wrap an NDArray without copying (internal constructor)."""
        return _new(cls, data, requires_grad)

    @staticmethod
    def _make_subclass(
        cls: type[Tensor], data: Tensor, requires_grad: builtins.bool = False
    ) -> Tensor:
        """A `cls` instance over `data`'s memory and version counter (as PyTorch's, for
        subclasses such as `nn.Parameter`): no copy, no graph."""
        out = _new(cls, data._data, requires_grad)
        out._share_memory_of(data)
        return out

    @property
    def _version_now(self) -> int:
        return self._version[0]

    def _bump_version(self) -> None:
        """Record an in-place write into this tensor's memory (and so into its views')."""
        self._check_inference_write("in-place update")
        self._version[0] += 1

    def _check_inference_write(self, op: str) -> None:
        """Refuse an in-place write into an inference tensor outside inference_mode."""
        if self._version is INFERENCE_VERSION and not _mode.inference:
            raise RuntimeError(
                f"{op}: this is an inference tensor (made inside tg.inference_mode()), which "
                "can only be updated in place inside that mode; update x.clone() instead, or "
                "do the update inside tg.inference_mode()"
            )

    def _share_memory_of(self, other: Tensor) -> None:
        """Make this tensor a view of `other`'s memory for autograd (one version counter)."""
        self._version = other._version
        self._base = other if other._base is None else other._base

    # ------------------------------------------------------------- facts
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    @property
    def dtype(self) -> DType:
        return self._data.dtype

    @property
    def device(self) -> Device:
        return self._data.backend.device

    @property
    def ndim(self) -> int:
        return len(self._data.shape)

    @property
    def is_leaf(self) -> builtins.bool:
        return self.grad_fn is None

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return self._data.size

    def size(self, dim: int | None = None) -> Any:
        return self.shape if dim is None else self.shape[dim]

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def view(self, *shape: Any) -> Tensor:
        """The same memory in another shape; unlike `reshape`, never a copy (as PyTorch)."""
        out = self.reshape(*shape)
        if out._data.buffer is not self._data.buffer:
            raise RuntimeError(
                f"view: a tensor of shape {self.shape} with strides {self._data.strides} "
                f"cannot be viewed as {out.shape} without copying (a dim to merge spans "
                "memory that is not contiguous); use .reshape(...) instead, which copies when "
                "it must, or .contiguous().view(...)"
            )
        return out

    def is_contiguous(self) -> builtins.bool:
        return self._data.is_contiguous()

    def is_floating_point(self) -> builtins.bool:
        return self.dtype.is_floating_point

    # ------------------------------------------------------- conversion
    def numpy(self) -> Any:
        """A NumPy copy of the values (the tensor's memory is never shared).

        NOTE: unlike PyTorch, a tensor that requires grad does not refuse. PyTorch's array
        shares the tensor's memory, so writing to it would change values behind autograd's
        back; here the array is always a copy, so nothing can leak into the graph (and
        `t.detach().numpy()` works the same).
        """
        return to_numpy(self._data)

    def tolist(self) -> Any:
        return to_numpy(self._data).tolist()

    def item(self) -> builtins.bool | int | float:
        if self._data.size != 1:
            raise ValueError(f"item: only one-element tensors convert, got shape {self.shape}")
        return to_numpy(self._data).reshape(()).item()

    def __array__(self, dtype: Any = None, copy: builtins.bool | None = None) -> Any:
        """`np.asarray(t)`, `np.array(t)`: a NumPy copy of the values (NumPy's protocol)."""
        if copy is False:
            raise ValueError(
                "__array__: a tensor's memory lives in its backend, so NumPy always gets a "
                "copy; use np.asarray(t) (or t.numpy()) instead of copy=False"
            )
        values = self.numpy()
        return values if dtype is None else values.astype(dtype, copy=False)

    def __format__(self, spec: str) -> str:
        """`f"{loss:.4f}"`: a one-element tensor formats as its number, as in PyTorch."""
        if self._data.size == 1:
            return format(self.item(), spec)
        if not spec:
            return str(self)
        raise TypeError(
            f"format: only one-element tensors take a format spec ({spec!r}), got shape "
            f"{self.shape}; format t.tolist() or an element t[i].item()"
        )

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.kind != "i":
            raise TypeError(f"only integer tensors can be used as an index, got {self.dtype}")
        return int(self.item())

    def __bool__(self) -> builtins.bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"bool: a tensor of shape {self.shape} is ambiguous; use .any() or .all()"
            )
        return bool(self.item())

    def __repr__(self) -> str:
        body = format_array(self._data, prefix="tensor(")
        extras = [f"dtype={self.dtype}", f"device='{self.device}'"]
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"tensor({body}, {', '.join(extras)})"

    # --------------------------------------------------------- autograd
    @property
    def grad(self) -> Tensor | None:
        """The gradient summed into this tensor by `backward()` (None until then)."""
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            _check_grad("grad", self, value)
        self._grad = value

    def backward(
        self,
        gradient: Tensor | None = None,
        retain_graph: builtins.bool | None = None,
        create_graph: builtins.bool = False,
    ) -> None:
        """Accumulate d self / d leaf into each leaf's `.grad`; frees the graph unless
        `retain_graph`. Non-scalar outputs need `gradient` (the vector of the product).
        `create_graph=True` records the backward itself, so `.grad` can be differentiated."""
        engine.backward(self, gradient, retain_graph, create_graph)

    def _accumulate_grad(self, g: NDArray) -> None:
        # NOTE: one lock for all tensors: threads running backward() into one shared leaf
        # must not lose each other's read-add-write
        with _ACCUMULATE:
            if self._grad is None:
                # copy, so an in-place update of one .grad can never change another's
                owned = NDArray(g.backend, g.backend.copy(g), g.shape, g.dtype)
                self._grad = Tensor._make(owned)
            else:
                self._grad = Tensor._make(A.binary("add", self._grad._data, g))

    def _accumulate_grad_graph(self, g: Tensor) -> None:
        """create_graph=True: `.grad` becomes (or adds) a tensor with its own graph."""
        with _ACCUMULATE:
            self._grad = g.clone() if self._grad is None else self._grad + g

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickle by value: the host bytes, dtype name, shape and device name (no graph, no
        .grad), so tensors, Parameters and Modules cross process boundaries."""
        host = bytes(memoryview(self._data.backend.to_host(self._data)).cast("B"))
        shape = self._data.shape  # a plain tuple: the cpu backend types its shapes `tuple`
        device = str(self.device)
        return _unpickle, (type(self), host, self.dtype.name, shape, device, self.requires_grad)

    def __deepcopy__(self, memo: dict[builtins.int, Any]) -> Tensor:
        """A copy with its own memory on the same backend (`copy.deepcopy(module)` works)."""
        d = self._data
        out = type(self)._make(NDArray(d.backend, d.backend.copy(d), d.shape, d.dtype))
        out.requires_grad = self.requires_grad
        memo[id(self)] = out
        return out

    @property
    def data(self) -> Tensor:
        """This tensor's memory as a tensor outside the graph, as PyTorch's `.data`.

        It shares the memory (`p.data -= lr * p.grad` updates `p`) but not the version
        counter: autograd does not see writes made through it. Prefer `detach()` and
        `with tg.no_grad():` in new code.
        """
        return Tensor._make(self._data, False)

    @data.setter
    def data(self, value: Tensor) -> None:
        """`t.data = other`: `t` now shows `other`'s memory (its shape, dtype and device)."""
        if not isinstance(value, Tensor):
            raise TypeError(
                f"Tensor.data: assign a Tensor, got {type(value).__name__}; "
                f"use tg.tensor(value) first"
            )
        self._data = value._data

    def detach(self) -> Tensor:
        """The same data (and version counter), cut out of the graph."""
        out = Tensor._make(self._data, False)
        out._version = self._version
        return out

    def is_inference(self) -> builtins.bool:
        """True for a tensor made inside `tg.inference_mode()` (or a view of one)."""
        return self._version is INFERENCE_VERSION

    def requires_grad_(self, requires_grad: builtins.bool = True) -> Tensor:
        if requires_grad and not self.dtype.is_floating_point:
            raise DTypeError(
                f"requires_grad_: only floating tensors can need grad, not {self.dtype}"
            )
        if requires_grad and self._version is INFERENCE_VERSION and not _mode.inference:
            raise RuntimeError(
                "requires_grad_: this is an inference tensor (made inside tg.inference_mode()), "
                "which autograd cannot track; use x.clone().requires_grad_() outside the mode"
            )
        self.requires_grad = requires_grad
        return self

    __hash__ = object.__hash__


_ACCUMULATE = threading.Lock()
H.bind_tensor(Tensor)


def _check_grad(op: str, tensor: Tensor, value: object) -> None:
    """`t.grad = value` takes a tensor of t's shape, dtype and device (or None), as PyTorch."""
    if not isinstance(value, Tensor):
        raise TypeError(
            f"{op}: assigned grad must be a Tensor or None, got {type(value).__name__}; "
            f"use tg.full_like(t, value) for a constant gradient"
        )
    if value.shape != tensor.shape:
        raise ShapeError(f"{op}: assigned grad has shape {value.shape}, the tensor {tensor.shape}")
    if value.dtype != tensor.dtype or value.device != tensor.device:
        raise DTypeError(
            f"{op}: assigned grad is {value.dtype} on {value.device}, the tensor "
            f"{tensor.dtype} on {tensor.device}; convert it with .to()"
        )


def _unpickle(
    cls: type[Tensor],
    host: bytes,
    dtype: str,
    shape: tuple[int, ...],
    device: str,
    requires_grad: builtins.bool,
) -> Tensor:
    """The inverse of `Tensor.__reduce__` (a Parameter comes back a Parameter)."""
    backend = get_backend(device)
    data = NDArray(
        backend, backend.from_host(memoryview(host), as_dtype(dtype)), shape, as_dtype(dtype)
    )
    plain = _new(Tensor, data, False)
    if cls is Tensor:
        plain.requires_grad = requires_grad
        return plain
    return cls(plain, requires_grad)  # e.g. Parameter(data, requires_grad)


def _new(cls: type[Tensor], data: NDArray, requires_grad: builtins.bool) -> Tensor:
    """A tensor of class `cls` over `data`: no graph, no gradient, a fresh version counter."""
    out = object.__new__(cls)
    out._data = data
    out.requires_grad = requires_grad
    out._grad = None
    out.grad_fn = None
    # tensors made in inference mode share one version counter (see autograd/function.py)
    out._version = INFERENCE_VERSION if _mode.inference else [0]
    out._base = None
    out._hooks = None
    return out


_function.bind_tensor(Tensor, _new)  # Function.apply makes plain tensors without `_make`
