"""The reverse-mode engine: walk the graph backwards from an output, accumulating gradients.

The walk uses an explicit stack (no recursion), so a 100,000-op chain is fine, and frees each
node's saved arrays as soon as its backward has run unless `retain_graph` is set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import array_ops as A
from ..errors import ShapeError
from . import function
from .function import Function, check_versions, set_grad_enabled

if TYPE_CHECKING:
    from ..ndarray import NDArray
    from ..tensor import Tensor

__all__ = ["backward", "grad", "topological_order"]


def topological_order(root: Function) -> list[Function]:
    """Every Function reachable from `root`, each before all the Functions it depends on."""
    order: list[Function] = []
    visited: set[int] = set()
    # each stack entry: (node, have its parents been finished already?)
    stack: list[tuple[Function, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)  # post-order: after everything it depends on
            continue
        # subtle: mark a node when it is expanded, not when pushed, so a node reached by two
        # paths is finished below the deeper one and still precedes all its consumers
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for fn in node.parent_fns:
            if fn is not None and id(fn) not in visited:
                stack.append((fn, False))
    order.reverse()  # post-order reversed: outputs first
    return order


def _run(
    outputs: Sequence[Tensor],
    grads: Sequence[NDArray],
    retain_graph: bool,
    wanted: dict[int, int] | None,
) -> list[NDArray | None]:
    """Propagate; accumulate into leaves' `.grad` (wanted is None) or collect for `grad()`.

    NOTE: a leaf reached along several paths (a tied weight) gets the sum of its gradients
    from this walk added to `.grad` once, so `.grad` is the same whether one backward or
    several (gradient accumulation, data-parallel ranks) produced its parts.
    """
    # for grad(): one slot per wanted input; for backward(): one dict of leaf sums
    collected: list[Any] = [None] * len(wanted) if wanted is not None else [{}]
    # id(node) -> the gradient of its output summed so far (a list, one per output, for a
    # node with several outputs)
    pending: dict[int, Any] = {}
    roots: list[Function] = []
    for out, g in zip(outputs, grads, strict=True):
        if out.grad_fn is None:
            _deliver(out, g, wanted, collected)
            continue
        _add_pending(pending, out.grad_fn, out, g)
        roots.append(out.grad_fn)
    order = _merged_order(roots)
    with set_grad_enabled(False):
        for node in order:
            if id(node) not in pending:
                continue
            g = pending.pop(id(node))
            if node.released:
                raise RuntimeError(
                    "backward: the graph was already freed by an earlier backward(); "
                    "pass retain_graph=True to the first call to go through it twice"
                )
            if node.versions:
                check_versions(node)
            parent_grads = _call_backward(node, g)
            if not isinstance(parent_grads, tuple):
                parent_grads = (parent_grads,)
            for parent, fn, pg, needed in zip(
                node.parents, node.parent_fns, parent_grads, node.needs_grad, strict=False
            ):
                if pg is None or not needed:
                    continue
                _check_shape(node, parent, pg)
                if fn is None:
                    _deliver(parent, pg, wanted, collected)
                    continue
                _add_pending(pending, fn, parent, pg)
                if wanted is not None and id(parent) in wanted:
                    _deliver(parent, pg, wanted, collected)
            if not retain_graph:
                node.release()
    if wanted is None:
        for leaf, g in collected[0].values():
            leaf._accumulate_grad(g)
    return collected


def _add_pending(pending: dict[int, Any], fn: Function, tensor: Tensor, g: NDArray) -> None:
    """Add `g`, a gradient of `tensor` (an output of `fn`), to what `fn` will receive."""
    key = id(fn)
    if fn.output_ids is None:  # one output: one gradient, summed over its consumers
        current = pending.get(key)
        pending[key] = g if current is None else A.binary("add", current, g)
        return
    slots = pending.get(key)
    if slots is None:
        slots = pending[key] = [None] * len(fn.output_ids)
    i = fn.output_ids[id(tensor)]
    slots[i] = g if slots[i] is None else A.binary("add", slots[i], g)


def _call_backward(node: Function, g: Any) -> Any:
    """node.backward with one gradient per output (timed when a `tg.profile()` is open)."""
    grads = tuple(g) if node.output_ids is not None else (g,)
    if function.profile_hook is not None:
        return function.profile_hook.backward(node, grads)
    return node.backward(*grads)


def _merged_order(roots: list[Function]) -> list[Function]:
    if len(roots) == 1:
        return topological_order(roots[0])

    # several outputs: a virtual root depending on all of them keeps one consistent order
    class _Root(Function):
        pass

    virtual = _Root(())
    virtual.parent_fns = tuple(roots)
    return topological_order(virtual)[1:]


def _check_shape(node: Function, parent: Tensor, g: NDArray) -> None:
    if g.shape != parent._data.shape:
        raise ShapeError(
            f"{type(node).__name__}.backward returned a gradient of shape {g.shape} "
            f"for an input of shape {parent._data.shape}"
        )


def _deliver(leaf: Tensor, g: NDArray, wanted: dict[int, int] | None, collected: list[Any]) -> None:
    if wanted is None:
        # collected[0]: id(leaf) -> [leaf, the sum of its gradients so far]
        if leaf.requires_grad:
            sums = collected[0]
            entry = sums.get(id(leaf))
            if entry is None:
                sums[id(leaf)] = [leaf, g]
            else:
                entry[1] = A.binary("add", entry[1], g)
        return
    slot = wanted.get(id(leaf))
    if slot is None:
        return
    current = collected[slot]
    collected[slot] = g if current is None else A.binary("add", current, g)


def _seed_gradient(out: Tensor, gradient: Tensor | None, op: str) -> NDArray:
    if gradient is None:
        if out._data.size != 1:
            raise RuntimeError(
                f"{op}: grad can be implicitly created only for a scalar output, got shape "
                f"{tuple(out.shape)}; pass gradient= (a tensor of that shape) or call .sum() first"
            )
        return A.full(out._data, out._data.shape, 1.0)
    if tuple(gradient.shape) != tuple(out.shape):
        raise ShapeError(
            f"{op}: gradient has shape {tuple(gradient.shape)} but the output has shape "
            f"{tuple(out.shape)}"
        )
    return A.cast(gradient._data, out.dtype)


def backward(out: Tensor, gradient: Tensor | None = None, retain_graph: bool = False) -> None:
    """Accumulate d out / d leaf into every leaf's `.grad` (see Tensor.backward)."""
    if not out.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad and has no grad_fn; make an input "
            "with requires_grad=True (and compute outside no_grad()) first"
        )
    _run([out], [_seed_gradient(out, gradient, "backward")], retain_graph, None)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """d outputs / d inputs, returned instead of accumulated into `.grad`.

    >>> import tinygpt as tg
    >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
    >>> tg.autograd.grad((x * x).sum(), x)[0].tolist()
    [2.0, 4.0]
    """
    outs: list[Tensor] = _listed(outputs)
    ins: list[Tensor] = _listed(inputs)
    if isinstance(grad_outputs, (list, tuple)):
        gos: list[Tensor | None] = list(grad_outputs)
    else:
        gos = _listed(grad_outputs) * len(outs)
    seeds = [_seed_gradient(o, g, "autograd.grad") for o, g in zip(outs, gos, strict=True)]
    wanted = {id(t): i for i, t in enumerate(ins)}
    collected = _run(outs, seeds, retain_graph, wanted)
    result: list[Tensor | None] = []
    for tensor, g in zip(ins, collected, strict=True):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"autograd.grad: an input of shape {tuple(tensor.shape)} was not used to "
                "compute the outputs; pass allow_unused=True to get None for it"
            )
        result.append(None if g is None else type(tensor)._make(g, False))
    return tuple(result)


def _listed(value: Any) -> list[Any]:
    """One tensor or a sequence of them, as a list."""
    return list(value) if isinstance(value, (list, tuple)) else [value]
