"""Function: one differentiable primitive, with `forward` and `backward` side by side.

A primitive subclass computes on NDArrays with `tinygpt.array_ops`:

    class Mul(Function):
        def forward(self, a, b):
            self.save_for_backward(a, b)
            return A.binary("mul", a, b)

        def backward(self, grad):
            a, b = self.saved
            return A.binary("mul", grad, b), A.binary("mul", grad, a)

`Mul.apply(x, y)` runs forward on the tensors' arrays and, when a gradient is needed, records
the Function instance as the output's `grad_fn`, which is how the graph is built. For
`backward(create_graph=True)` a primitive also has its backward written with Tensor ops, so
the backward is itself recorded (see `differentiable.py`).
"""

from __future__ import annotations

import functools
import inspect
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

# the grad modes live in modes.py; imported here too, where most of core looks for them
from .modes import (
    INFERENCE_VERSION,
    _mode,
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)

if TYPE_CHECKING:
    from ..ndarray import NDArray
    from ..tensor import Tensor

__all__ = [
    "Function",
    "once_differentiable",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "set_grad_enabled",
    "check_versions",
    "INFERENCE_VERSION",
    "inference_mode",
    "is_inference_mode_enabled",
    "Dropped",
    "AccumulateGrad",
]


#: The open `tg.profile()` (see `tinygpt.profiler`), or None. NOTE: a plain module global so
#: that, when nobody profiles, the cost is one global lookup per op.
profile_hook: Any = None


class Function:
    """Base class of differentiable primitives; an instance is one node of the graph."""

    __slots__ = (
        "parents",
        "parent_fns",
        "saved",
        "needs_grad",
        "released",
        "output_ids",
        "versions",
        "hooks",
    )

    #: the input positions whose values the create_graph formula reads (None: all of them).
    #: Set by `@formula(..., reads_inputs=...)`. An input outside it that is not a leaf is
    #: held weakly (`Dropped`) once the node is recorded: backward reads only what forward
    #: saved, so an intermediate nobody else holds is freed at once, as in PyTorch (the
    #: (B, nh, T, T) scores of hand-written attention, say)
    graph_reads: tuple[int, ...] | None = None
    #: True for a primitive whose backward can use its output if it is still around
    #: unchanged (`watch_output` is then called with the output tensor once it is made)
    watches_output = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # PyTorch-style custom functions (a staticmethod `forward(ctx, ...)` on tensors) get
        # their own `apply` (custom_function.py); core's primitives are left as they are
        if custom_setup is not None and isinstance(
            inspect.getattr_static(cls, "forward"), staticmethod
        ):
            custom_setup(cls)

    def __init__(self, parents: tuple[Tensor, ...]) -> None:
        self.parents = parents
        #: each parent's grad_fn when this node was made: the graph's edges. subtle: not
        #: `parent.grad_fn` at backward time, which an in-place op may have moved on since
        self.parent_fns: tuple[Function | None, ...]
        #: whether each parent needs a gradient
        self.needs_grad: tuple[bool, ...]
        # NOTE: this runs once per op: one and two parents (most ops) without a loop
        if len(parents) == 2:
            a, b = parents
            self.parent_fns = (a.grad_fn, b.grad_fn)
            self.needs_grad = (a.requires_grad, b.requires_grad)
        elif len(parents) == 1:
            (a,) = parents
            self.parent_fns = (a.grad_fn,)
            self.needs_grad = (a.requires_grad,)
        else:
            self.parent_fns = tuple([p.grad_fn for p in parents])
            self.needs_grad = tuple([p.requires_grad for p in parents])
        self.saved: tuple[Any, ...] = ()
        self.released = False
        #: for a node with several outputs: id(output tensor) -> its position; else None.
        #: NOTE: an output's id stays valid while the graph holds that output as a parent
        self.output_ids: dict[int, int] | None = None
        #: (input position or -1 for the output, tensor's version counter, its value when
        #: saved) for each tensor whose memory `saved` holds: backward refuses to run if one
        #: was written in place since (most nodes have none: a shared empty tuple)
        self.versions: tuple[tuple[int, list[int], int], ...] = ()
        #: tensor hooks of this node's outputs (`register_hook` on a non-leaf):
        #: output index -> {handle id: hook}; None while there are none
        self.hooks: dict[int, dict[int, Any]] | None = None

    def watch_output(self, out: Tensor) -> None:
        """For `watches_output` primitives: note the output tensor (weakly)."""
        raise NotImplementedError

    def save_for_backward(self, *values: Any) -> None:
        """Keep what backward needs; released with the graph after backward."""
        self.saved = values

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Compute the output NDArray from the parents' NDArrays (and keyword options)."""
        raise NotImplementedError

    def backward(self, *args: Any, **kwargs: Any) -> Any:
        """Gradients (NDArray or None) with respect to each parent, given the output's
        (one argument per output)."""
        raise NotImplementedError

    @classmethod
    def apply(cls, *tensors: Tensor, **options: Any) -> Any:
        """Run forward on the tensors' arrays; record this node as the output's `grad_fn`.

        A forward that returns a tuple of arrays makes a node with several outputs (`Split`):
        each output tensor gets the node as its grad_fn, and backward receives one gradient
        per output (None for an output that got none).
        """
        ctx = cls(tensors)
        first = tensors[0]
        # NOTE: one and two inputs (most ops) without building a list: this runs once per op
        n = len(tensors)
        if profile_hook is not None:
            data = profile_hook.forward(ctx, tensors, options)
        elif n == 1:
            data = ctx.forward(first._data, **options)
        elif n == 2:
            data = ctx.forward(first._data, tensors[1]._data, **options)
        else:
            data = ctx.forward(*[t._data for t in tensors], **options)
        requires_grad = True in ctx.needs_grad and _mode.enabled
        kind = type(first)
        if isinstance(data, tuple):
            make = kind._make
            outs = tuple(make(d, requires_grad) for d in data)
            for out in outs:
                _link_view(out, first)
            if requires_grad:
                for out in outs:
                    out.grad_fn = ctx
                ctx.output_ids = {id(out): i for i, out in enumerate(outs)}
                if ctx.graph_reads is not None:
                    _drop_unread(ctx, tensors)
            return outs
        # a plain Tensor is made without the `_make` classmethod frame (a subclass such as
        # Parameter may override `_make`, so it keeps the call)
        out = (
            _new_tensor(kind, data, requires_grad)
            if kind is _tensor_class
            else kind._make(data, requires_grad)
        )
        if data.buffer is first._data.buffer:
            # a view: one version counter (`_link_view`, `Tensor._share_memory_of` inline)
            out._version = first._version
            out._base = first if first._base is None else first._base
        if requires_grad:
            out.grad_fn = ctx
            if ctx.saved:
                _remember_versions(ctx, tensors, out)
            if ctx.graph_reads is not None:
                _drop_unread(ctx, tensors)
            if ctx.watches_output:
                ctx.watch_output(out)
        return out

    def release(self) -> None:
        """Drop the saved arrays and parents so the graph can be freed."""
        self.saved = ()
        self.parents = ()
        self.parent_fns = ()
        self.released = True

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        """PyTorch's graph edges: per input, (the node that made it, its output position),
        an `AccumulateGrad` for a leaf that requires grad, or (None, 0) for a constant."""
        edges: list[tuple[Any, int]] = []
        for parent, fn, needed in zip(self.parents, self.parent_fns, self.needs_grad, strict=False):
            if fn is not None:
                slot = parent.slot if type(parent) is Dropped else _output_slot(fn, parent)
                edges.append((fn, slot))
            elif needed:
                edges.append((AccumulateGrad(parent), 0))
            else:
                edges.append((None, 0))
        return tuple(edges)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}Backward>"

    def name(self) -> str:
        """PyTorch's node name, as `y.grad_fn.name()`: "MulBackward0" (0: the formula's version)."""
        return f"{type(self).__name__}Backward0"


#: custom_function.setup, bound when that module is imported (by tinygpt.autograd)
custom_setup: Callable[[type], None] | None = None


def once_differentiable(fn: Callable[..., Any]) -> Callable[..., Any]:
    """PyTorch's marker for a custom function's backward that cannot be differentiated
    again: it runs as it is, and create_graph=True through it raises."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with no_grad():
            return fn(*args, **kwargs)

    wrapper.once_differentiable = True  # type: ignore[attr-defined]
    return wrapper


#: `Tensor` and its internal constructor, bound by tensor.py (which imports this module)
_tensor_class: Any = None
_new_tensor: Any = None


def bind_tensor(cls: type, new: Callable[..., Any]) -> None:
    """Let `apply` build plain Tensors directly (called once, from tensor.py)."""
    global _tensor_class, _new_tensor
    _tensor_class, _new_tensor = cls, new


def records(source: Tensor) -> bool:
    """Whether an op on `source` alone must go through `apply`: it records a graph node, or
    a `tg.profile()` is open and counts the op."""
    return (source.requires_grad and _mode.enabled) or profile_hook is not None


def untracked(source: Tensor, data: NDArray) -> Tensor:
    """What `apply` returns for a one-input op that `records` nothing: `data` wrapped as
    `source`'s class makes it, sharing `source`'s version counter when it is a view.

    The view fast paths (`x[i]`, `x.reshape(...)`, see `tinygpt.fast_paths`) use it to skip
    the graph node they would throw away."""
    kind = type(source)
    out = _new_tensor(kind, data, False) if kind is _tensor_class else kind._make(data, False)
    if data.buffer is source._data.buffer:
        out._version = source._version
        out._base = source if source._base is None else source._base
    return out


class AccumulateGrad:
    """The end of a graph edge at a leaf, as PyTorch shows it in `next_functions`: the
    leaf's gradient is added into `variable.grad` there."""

    __slots__ = ("variable",)

    next_functions: tuple[tuple[Any, int], ...] = ()

    def __init__(self, variable: Tensor) -> None:
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def __repr__(self) -> str:
        return "<AccumulateGrad>"


def _output_slot(fn: Function, tensor: Tensor) -> int:
    return 0 if fn.output_ids is None else fn.output_ids.get(id(tensor), 0)


class Dropped:
    """An input a node holds weakly: what backward needs of it without its memory.

    Backward computes from the arrays forward saved, so an intermediate input only has to
    be known, not kept: its shape (to check the gradient), the node that made it and its
    output position there (where its gradient goes), and a weak reference (so
    `tg.autograd.grad(y, [h])` still finds `h` while the caller holds it). Reads like a
    tensor for the graph viewer (`shape`, `dtype`, `device`, `grad_fn`).
    """

    __slots__ = ("ref", "shape", "dtype", "device", "grad_fn", "slot")

    requires_grad = True
    grad = None

    def __init__(self, tensor: Tensor, slot: int) -> None:
        self.ref = weakref.ref(tensor)
        data = tensor._data
        self.shape = data.shape
        self.dtype = tensor.dtype
        self.device = tensor.device
        self.grad_fn = tensor.grad_fn
        #: its position among the outputs of `grad_fn` (0 for a node with one output)
        self.slot = slot

    def __repr__(self) -> str:
        return f"<input of shape {self.shape}, not kept by the graph>"


def _drop_unread(ctx: Function, tensors: tuple[Tensor, ...]) -> None:
    """Hold weakly each non-leaf input whose value the node's formulas never read."""
    reads = ctx.graph_reads
    assert reads is not None
    parents: list[Any] = list(tensors)
    dropped = False
    for i, tensor in enumerate(tensors):
        fn = tensor.grad_fn
        if fn is None or i in reads:
            continue  # leaves get their .grad from the graph: always kept
        slot = 0 if fn.output_ids is None else fn.output_ids[id(tensor)]
        parents[i] = Dropped(tensor, slot)
        dropped = True
    if dropped:
        ctx.parents = tuple(parents)


def _link_view(out: Tensor, source: Tensor) -> None:
    """An output over its first input's memory (a view) shares that input's version counter."""
    if out._data.buffer is source._data.buffer:
        out._share_memory_of(source)


def _remember_versions(ctx: Function, inputs: tuple[Tensor, ...], out: Tensor) -> None:
    """Note the version of every input (and the output) whose memory backward will read.

    Each entry is (input position, or -1 for the output; the version counter; its value now):
    `check_versions` words the message, so recording (once per op) formats nothing.
    """
    saved = set()
    for value in ctx.saved:  # NOTE: a loop, not a set comprehension (one frame fewer)
        saved.add(id(getattr(value, "buffer", None)))
    versions = []
    i = 0
    for tensor in inputs:
        if id(tensor._data.buffer) in saved:
            counter = tensor._version
            if counter is INFERENCE_VERSION:
                _refuse_inference_tensor(ctx, i)
            versions.append((i, counter, counter[0]))
        i += 1
    if id(out._data.buffer) in saved:
        versions.append((-1, out._version, out._version[0]))
    ctx.versions = tuple(versions)


def _refuse_inference_tensor(ctx: Function, i: int) -> None:
    raise RuntimeError(
        f"{type(ctx).__name__}: input {i} is an inference tensor (made inside "
        "tg.inference_mode()), which cannot be saved for backward; make it outside "
        "inference_mode, or use a copy of it: x.clone() outside the mode"
    )


def check_versions(node: Function) -> None:
    """Raise if a tensor `node` saved for backward was modified in place since."""
    for position, counter, expected in node.versions:
        if counter[0] != expected:
            what = "output" if position < 0 else f"input {position}"
            raise RuntimeError(
                f"backward: {type(node).__name__}Backward needs its {what} as it was when the "
                f"graph was built (version {expected}), but an in-place op has modified it "
                f"since (version {counter[0]}); use an out-of-place op (x = x * 2 instead of "
                "x.mul_(2)) or modify a .clone()"
            )
