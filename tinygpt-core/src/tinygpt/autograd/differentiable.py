"""Differentiable backward formulas, used by `backward(create_graph=True)`.

A primitive's `backward` computes on NDArrays: fast, and invisible to autograd. For higher
derivatives the backward itself must be recorded, so each primitive may also have a formula
written with Tensor ops, registered here with `@formula(ThePrimitive)`:

    @formula(Exp)
    def _exp(node, grad):
        (x,) = node.parents
        return grad * x.exp()

A formula receives the node and one gradient tensor per output (None for an output that got
no gradient) and returns one gradient tensor (or None) per parent. It reads the node's inputs
from `node.parents` (the tensors themselves, so the new graph reaches back through them) and
its options from the attributes `forward` set. The formulas live next to their op family in
`tinygpt/ops/*_graph.py`; a primitive without one makes `create_graph=True` raise
NotImplementedError naming it. NOTE: the fast path never looks here: a plain `backward()`
costs the same as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import function
from .function import Dropped

if TYPE_CHECKING:
    from .function import Function

__all__ = ["formula", "backward", "has_formula", "saved_output"]

Formula = Callable[..., Any]

#: primitive class -> (its differentiable backward, whether it reads its inputs' values)
_FORMULAS: dict[type, tuple[Formula, bool]] = {}


def formula(
    primitive: type, reads_inputs: bool | tuple[int, ...] = True
) -> Callable[[Formula], Formula]:
    """Register the decorated function as `primitive`'s differentiable backward.

    `reads_inputs=False` for a formula that uses only shapes, options and what forward saved
    (reshape, slicing, sum, add, softmax through its saved output): it stays valid after an
    input was modified in place, and the node need not keep its inputs alive. A tuple names
    the only inputs it reads (`where` reads its condition). Either way the primitive's
    `graph_reads` records it, so recording holds the other inputs weakly (`Dropped`).
    """

    def register(fn: Formula) -> Formula:
        _FORMULAS[primitive] = (fn, reads_inputs is not False)
        if reads_inputs is not True:
            reads = () if reads_inputs is False else tuple(reads_inputs)
            setattr(primitive, "graph_reads", reads)  # noqa: B010 - a Function class attribute
        return fn

    return register


def saved_output(node: Function) -> Any:
    """The node's output rebuilt from the array forward saved, as a tensor made by `node`
    (so a formula that uses it is differentiated through `node` again): how softmax, exp,
    tanh and sigmoid differentiate their backward without keeping their input alive."""
    out = function._new_tensor(function._tensor_class, node.saved[0], True)
    out.grad_fn = node
    return out


def _lookup(node_type: type) -> tuple[Formula, bool] | None:
    for cls in node_type.__mro__:  # Max and Min share _Extreme's formula
        found = _FORMULAS.get(cls)
        if found is not None:
            return found
    return None


def has_formula(primitive: type) -> bool:
    return _lookup(primitive) is not None


def backward(node: Function, grads: tuple[Any, ...]) -> Any:
    """Gradients for `node`'s parents, recorded (grad mode is on), from `grads` (tensors)."""
    found = _lookup(type(node))
    if found is None:
        raise NotImplementedError(
            f"backward(create_graph=True): the op {type(node).__name__} has no differentiable "
            "backward yet, so its gradient cannot be differentiated again; compute this part "
            "without create_graph, or build it from ops that support it (exp, mul, matmul, ...)"
        )
    fn, reads_inputs = found
    if reads_inputs:
        _check_inputs_unchanged(node)
    return fn(node, *grads)


def _check_inputs_unchanged(node: Function) -> None:
    """A formula reads the inputs as they are now: refuse if one was modified in place.

    NOTE: an in-place op on a tensor in the graph gives it a new grad_fn, which is what this
    sees; values the plain backward saved are also checked by their version counters.
    """
    for i, (parent, fn) in enumerate(zip(node.parents, node.parent_fns, strict=True)):
        if type(parent) is Dropped:
            continue  # an input the formula does not read (`graph_reads`)
        if parent.grad_fn is not fn:
            raise RuntimeError(
                f"backward(create_graph=True): input {i} of {type(node).__name__} was modified "
                "in place after it was used; use an out-of-place op (x = x * 2) or a .clone()"
            )
