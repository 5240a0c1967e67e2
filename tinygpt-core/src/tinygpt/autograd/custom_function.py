"""PyTorch-style custom autograd functions: a `Function` subclass whose `forward` and
`backward` are staticmethods working on tensors, with a `ctx` between them.

    class MyExp(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):
            (y,) = ctx.saved_tensors
            return grad * y

    MyExp.apply(x)

`Function.__init_subclass__` spots the staticmethod `forward` and calls `setup` below, which
gives the class its own `apply` and a graph-node class named after it (`MyExpBackward`), whose
instances are the `ctx`. The primitives of core (instance-method forward on NDArrays) are
untouched. `setup_context(ctx, inputs, output)` (forward without ctx) works too.
"""

from __future__ import annotations

import inspect
from typing import Any

from .. import array_ops as A
from ..tensor import Tensor
from . import differentiable, function
from .function import Function, is_grad_enabled, no_grad

__all__ = ["CustomNode", "setup"]


class CustomNode(Function):
    """The `ctx` of a custom function and its node in the graph (one per `apply` call)."""

    #: the user's Function subclass (set on each generated node class)
    fn_cls: Any = None
    # set by `_apply` on every node:
    #: per forward argument, whether it is a tensor that requires grad (PyTorch's name)
    needs_input_grad: tuple[bool, ...]
    #: positions of the tensor arguments (the node's parents) among forward's arguments
    tensor_inputs: list[int]
    #: forward's output count, and the positions of its tensor outputs
    n_outputs: int
    tensor_outputs: list[int]
    #: (shape, dtype, a one-element array on its device) per tensor output, for zero grads
    output_meta: list[tuple[Any, Any, Any]]
    #: ids of the outputs `mark_non_differentiable` named
    non_differentiable: set[int]
    #: whether a missing output gradient reaches backward as zeros (else None)
    materialize_grads: bool

    def save_for_backward(self, *tensors: Any) -> None:
        """Keep tensors (or None) for backward; read them back as `ctx.saved_tensors`."""
        self.saved = tensors

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        if self.released:
            raise RuntimeError(
                f"{type(self).__name__}Backward: the saved tensors were freed by an earlier "
                "backward(); pass retain_graph=True to the first call to go through it twice"
            )
        return self.saved

    def mark_non_differentiable(self, *outputs: Tensor) -> None:
        """These outputs get no gradient (integer indices, masks)."""
        self.non_differentiable.update(id(t) for t in outputs)

    def mark_dirty(self, *tensors: Tensor) -> None:
        """PyTorch's note that forward wrote these inputs in place (nothing to do here)."""

    def set_materialize_grads(self, value: bool) -> None:
        """False: backward receives None (not zeros) for outputs that got no gradient."""
        self.materialize_grads = bool(value)

    def name(self) -> str:
        """PyTorch's name for a custom function's node: "MyExpBackward"."""
        return f"{type(self).__name__}Backward"

    # ---------------------------------------------------------------- backward
    def backward(self, *grads: Any) -> Any:
        """The engine's call: NDArray gradients in, one NDArray (or None) per tensor input."""
        tensors = [None if g is None else _as_tensor(g) for g in grads]
        with no_grad():
            results = self.call_user_backward(tensors)
        return tuple(None if r is None else r._data for r in results)

    def call_user_backward(self, grads: list[Any]) -> tuple[Any, ...]:
        """Run the user's backward on one gradient per output; its results for the tensor
        inputs, in order (checked against the inputs' count)."""
        if self.materialize_grads:
            grads = [self.zeros_for(i) if g is None else g for i, g in enumerate(grads)]
        full = [None] * self.n_outputs  # non-tensor outputs get None, as in PyTorch
        for slot, position in enumerate(self.tensor_outputs):
            full[position] = grads[slot]
        results = self.fn_cls.backward(self, *full)
        if not isinstance(results, tuple):
            results = (results,)
        n = len(self.needs_input_grad)
        extra = results[n:]
        if len(results) < n or any(r is not None for r in extra):
            raise RuntimeError(
                f"function {type(self).__name__}Backward returned an incorrect number of "
                f"gradients (expected {n}, got {len(results)})"
            )
        return tuple(results[i] for i in self.tensor_inputs)

    def zeros_for(self, slot: int) -> Tensor:
        shape, dtype, like = self.output_meta[slot]
        return _as_tensor(A.full(like, shape, 0.0, dtype))


def _as_tensor(data: Any) -> Tensor:
    return data if isinstance(data, Tensor) else Tensor._make(data, False)


@differentiable.formula(CustomNode)
def _custom_graph(node: CustomNode, *grads: Any) -> Any:
    """backward(create_graph=True): the user's backward, recorded."""
    if getattr(node.fn_cls.backward, "once_differentiable", False):
        raise RuntimeError(
            f"{type(node).__name__}Backward: its backward is marked @once_differentiable, so "
            "it cannot be differentiated again (create_graph=True)"
        )
    return node.call_user_backward(list(grads))


def setup(cls: type) -> None:
    """Give a PyTorch-style Function subclass its `apply` and its node class."""
    node_cls = type(cls.__name__, (CustomNode,), {"fn_cls": cls, "__module__": cls.__module__})
    cls._node_cls = node_cls  # type: ignore[attr-defined]
    cls.apply = classmethod(_apply)  # type: ignore[attr-defined]


def _uses_setup_context(cls: Any) -> bool:
    own = inspect.getattr_static(cls, "setup_context", None)
    return own is not None


def _apply(cls: Any, *args: Any, **kwargs: Any) -> Any:
    """Run the user's forward without recording, then make its outputs one node's outputs."""
    tensor_inputs = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    node = cls._node_cls(tuple(args[i] for i in tensor_inputs))
    node.tensor_inputs = tensor_inputs
    node.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
    node.non_differentiable = set()
    node.materialize_grads = True
    with no_grad():
        if _uses_setup_context(cls):
            output = cls.forward(*args, **kwargs)
            cls.setup_context(node, args, output)
        else:
            output = cls.forward(node, *args, **kwargs)
    many = isinstance(output, tuple)
    outputs = list(output) if many else [output]
    if not (is_grad_enabled() and True in node.needs_grad):
        return output  # nothing to differentiate: no node recorded
    node.n_outputs = len(outputs)
    node.tensor_outputs = [i for i, o in enumerate(outputs) if isinstance(o, Tensor)]
    # NOTE: a one-element array stands for each output's device, so the node does not keep
    # the outputs' memory alive just to make zero gradients for them
    node.output_meta = [
        (o._data.shape, o.dtype, A.full(o._data, (1,), 0.0))
        for o in outputs
        if isinstance(o, Tensor)
    ]
    inputs = {id(a) for a in args}
    for i in node.tensor_outputs:
        out = outputs[i]
        if id(out) in node.non_differentiable or not out.is_floating_point():
            continue
        if id(out) in inputs:  # an input handed back: a new tensor over the same memory
            out = outputs[i] = type(out)._make(out._data, True)
        # NOTE: the output object itself becomes this node's, as in PyTorch, so an output
        # that forward saved is differentiated through this node again under create_graph
        out.requires_grad = True
        out.grad_fn = node
    if many:
        node.output_ids = {id(outputs[i]): k for k, i in enumerate(node.tensor_outputs)}
        return tuple(outputs)
    return outputs[0]


function.custom_setup = setup
