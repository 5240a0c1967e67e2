"""The reverse-mode engine: walk the graph backwards from an output, accumulating gradients.

The walk uses an explicit stack (no recursion), so a 100,000-op chain is fine, and frees each
node's saved arrays as soon as its backward has run unless `retain_graph` is set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import array_ops as A
from ..errors import ShapeError
from . import anomaly_mode, differentiable, function, hooks
from .function import Dropped, Function, check_versions, set_grad_enabled

if TYPE_CHECKING:
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
    grads: Sequence[Any],
    retain_graph: bool,
    wanted: dict[int, int] | None,
    create_graph: bool = False,
) -> list[Any]:
    """Propagate; accumulate into leaves' `.grad` (wanted is None) or collect for `grad()`.

    Gradients are NDArrays, or with `create_graph` tensors whose own graph a second
    backward can walk (each node's differentiable formula, `differentiable.py`, builds it).

    NOTE: a leaf reached along several paths (a tied weight) gets the sum of its gradients
    from this walk added to `.grad` once, so `.grad` is the same whether one backward or
    several (gradient accumulation, data-parallel ranks) produced its parts. A leaf with a
    post-accumulate hook is finished right after its last use in the walk, so the hook can
    start (say) an all-reduce while backward goes on.
    """
    # for grad(): one slot per wanted input; for backward(): one dict of leaf sums
    collected: list[Any] = [None] * len(wanted) if wanted is not None else [{}]
    # id(node) -> the gradient of its output summed so far (a list, one per output, for a
    # node with several outputs)
    pending: dict[int, Any] = {}
    roots: list[Function] = []
    for out, g in zip(outputs, grads, strict=True):
        if out.grad_fn is None:
            _deliver(out, g, wanted, collected, create_graph)
            continue
        _add_pending(pending, out.grad_fn, _slot(out.grad_fn, out), g, create_graph)
        roots.append(out.grad_fn)
    order = _merged_order(roots)
    finish_after = _last_uses(order) if wanted is None and hooks.post_hooks_exist else {}
    with set_grad_enabled(create_graph):
        for step, node in enumerate(order):
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
            if node.hooks:
                g = _run_output_hooks(node, g, create_graph)
            parent_grads = _call_backward(node, g, create_graph)
            if not isinstance(parent_grads, tuple):
                parent_grads = (parent_grads,)
            if anomaly_mode.state.enabled:  # debugging only: reads every gradient back
                anomaly_mode.check_gradients(node, parent_grads)
            for parent, fn, pg, needed in zip(
                node.parents, node.parent_fns, parent_grads, node.needs_grad, strict=False
            ):
                if pg is None or not needed:
                    continue
                if type(parent) is Dropped:  # an intermediate the graph does not keep
                    _check_shape(node, parent.shape, pg)
                    _add_pending(pending, fn, parent.slot, pg, create_graph)
                    if wanted is not None:
                        live = parent.ref()  # alive if the caller asked for its gradient
                        if live is not None and id(live) in wanted:
                            _deliver(live, pg, wanted, collected, create_graph)
                    continue
                _check_shape(node, parent._data.shape, pg)
                if fn is None:
                    _deliver(parent, pg, wanted, collected, create_graph)
                    continue
                _add_pending(pending, fn, _slot(fn, parent), pg, create_graph)
                if wanted is not None and id(parent) in wanted:
                    _deliver(parent, pg, wanted, collected, create_graph)
            if not retain_graph:
                node.release()
            for leaf in finish_after.get(step, ()):
                entry = collected[0].pop(id(leaf), None)
                if entry is not None:
                    _finish_leaf(leaf, entry[1], create_graph)
        if wanted is None:
            for leaf, g in collected[0].values():
                _finish_leaf(leaf, g, create_graph)
    return collected


def _sum(a: Any, b: Any, create_graph: bool) -> Any:
    """a + b for two gradients (tensors, recorded, under create_graph; else NDArrays)."""
    return a + b if create_graph else A.binary("add", a, b)


def _slot(fn: Function, tensor: Tensor) -> int:
    """`tensor`'s position among the outputs of `fn`, which made it (0 for one output)."""
    return 0 if fn.output_ids is None else fn.output_ids[id(tensor)]


def _add_pending(
    pending: dict[int, Any], fn: Function, slot: int, g: Any, create_graph: bool
) -> None:
    """Add `g`, the gradient of output `slot` of `fn`, to what `fn` will receive."""
    key = id(fn)
    if fn.output_ids is None:  # one output: one gradient, summed over its consumers
        current = pending.get(key)
        pending[key] = g if current is None else _sum(current, g, create_graph)
        return
    slots = pending.get(key)
    if slots is None:
        slots = pending[key] = [None] * len(fn.output_ids)
    slots[slot] = g if slots[slot] is None else _sum(slots[slot], g, create_graph)


def _call_backward(node: Function, g: Any, create_graph: bool) -> Any:
    """node.backward with one gradient per output (timed when a `tg.profile()` is open)."""
    grads = tuple(g) if node.output_ids is not None else (g,)
    if create_graph:
        return differentiable.backward(node, grads)
    if function.profile_hook is not None:
        return function.profile_hook.backward(node, grads)
    return node.backward(*grads)


def _as_grad(value: Tensor, create_graph: bool) -> Any:
    """A hook's tensor back in the walk's currency (an NDArray unless create_graph)."""
    return value if create_graph else value._data


def _run_output_hooks(node: Function, g: Any, create_graph: bool) -> Any:
    """register_hook on a non-leaf: run its hooks on the gradient of that output."""
    assert node.hooks is not None
    for index, registry in node.hooks.items():
        if not registry:
            continue
        if node.output_ids is None:
            hooked = hooks.run_grad_hooks(registry, hooks.as_tensor(g), "register_hook")
            g = _as_grad(hooked, create_graph)
        elif g[index] is not None:
            hooked = hooks.run_grad_hooks(registry, hooks.as_tensor(g[index]), "register_hook")
            g[index] = _as_grad(hooked, create_graph)
    return g


def _finish_leaf(leaf: Tensor, g: Any, create_graph: bool) -> None:
    """A leaf's summed gradient: its hooks, then into `.grad`, then post-accumulate hooks."""
    registry = leaf._hooks
    if registry is not None and registry.pre:
        hooked = hooks.run_grad_hooks(registry.pre, hooks.as_tensor(g), "register_hook")
        g = _as_grad(hooked, create_graph)
    if create_graph:
        leaf._accumulate_grad_graph(g)
    else:
        leaf._accumulate_grad(g)
    if registry is not None:
        for post in list(registry.post.values()):
            post(leaf)


def _last_uses(order: list[Function]) -> dict[int, list[Tensor]]:
    """Step of `order` -> the leaves with post-accumulate hooks that it feeds last."""
    last: dict[int, tuple[int, Tensor]] = {}
    for step, node in enumerate(order):
        for parent, fn, needed in zip(node.parents, node.parent_fns, node.needs_grad, strict=False):
            if fn is None and needed and parent._hooks is not None and parent._hooks.post:
                last[id(parent)] = (step, parent)
    finish: dict[int, list[Tensor]] = {}
    for step, leaf in last.values():
        finish.setdefault(step, []).append(leaf)
    return finish


def _merged_order(roots: list[Function]) -> list[Function]:
    if len(roots) == 1:
        return topological_order(roots[0])

    # several outputs: a virtual root depending on all of them keeps one consistent order
    class _Root(Function):
        pass

    virtual = _Root(())
    virtual.parent_fns = tuple(roots)
    return topological_order(virtual)[1:]


def _check_shape(node: Function, shape: tuple[int, ...], g: Any) -> None:
    if tuple(g.shape) != shape:
        raise ShapeError(
            f"{type(node).__name__}.backward returned a gradient of shape {tuple(g.shape)} "
            f"for an input of shape {shape}"
        )


def _deliver(
    leaf: Tensor,
    g: Any,
    wanted: dict[int, int] | None,
    collected: list[Any],
    create_graph: bool,
) -> None:
    if wanted is None:
        # collected[0]: id(leaf) -> [leaf, the sum of its gradients so far]
        if leaf.requires_grad:
            sums = collected[0]
            entry = sums.get(id(leaf))
            if entry is None:
                sums[id(leaf)] = [leaf, g]
            else:
                entry[1] = _sum(entry[1], g, create_graph)
        return
    slot = wanted.get(id(leaf))
    if slot is None:
        return
    current = collected[slot]
    collected[slot] = g if current is None else _sum(current, g, create_graph)


def _seed_gradient(out: Tensor, gradient: Tensor | None, op: str, create_graph: bool) -> Any:
    """The gradient backward starts from: ones for a scalar, else `gradient` (as a tensor,
    its own graph kept, under create_graph; else its NDArray)."""
    if gradient is None:
        if out._data.size != 1:
            raise RuntimeError(
                f"{op}: grad can be implicitly created only for a scalar output, got shape "
                f"{tuple(out.shape)}; pass gradient= (a tensor of that shape) or call .sum() first"
            )
        ones = A.full(out._data, out._data.shape, 1.0)
        return hooks.as_tensor(ones) if create_graph else ones
    if tuple(gradient.shape) != tuple(out.shape):
        raise ShapeError(
            f"{op}: gradient has shape {tuple(gradient.shape)} but the output has shape "
            f"{tuple(out.shape)}"
        )
    if create_graph:
        return gradient if gradient.dtype == out.dtype else gradient.to(out.dtype)
    return A.cast(gradient._data, out.dtype)


def backward(
    out: Tensor,
    gradient: Tensor | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
) -> None:
    """Accumulate d out / d leaf into every leaf's `.grad` (see Tensor.backward)."""
    if not out.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad and has no grad_fn; make an input "
            "with requires_grad=True (and compute outside no_grad()) first"
        )
    seed = _seed_gradient(out, gradient, "backward", create_graph)
    # as PyTorch: a graph built for a second backward keeps the first one by default
    keep = create_graph if retain_graph is None else retain_graph
    _run([out], [seed], keep, None, create_graph)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """d outputs / d inputs, returned instead of accumulated into `.grad`.

    With `create_graph=True` the results have a graph of their own, so they can be
    differentiated again (second derivatives, gradient penalties, Hessian-vector products).

    >>> import tinygpt as tg
    >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
    >>> tg.autograd.grad((x * x).sum(), x)[0].tolist()
    [2.0, 4.0]
    >>> (dx,) = tg.autograd.grad((x * x * x).sum(), x, create_graph=True)
    >>> tg.autograd.grad(dx.sum(), x)[0].tolist()  # d2/dx2 x^3 = 6x
    [6.0, 12.0]
    """
    outs: list[Tensor] = _listed(outputs)
    ins: list[Tensor] = _listed(inputs)
    if isinstance(grad_outputs, (list, tuple)):
        gos: list[Tensor | None] = list(grad_outputs)
    else:
        gos = _listed(grad_outputs) * len(outs)
    seeds = [
        _seed_gradient(o, g, "autograd.grad", create_graph) for o, g in zip(outs, gos, strict=True)
    ]
    wanted = {id(t): i for i, t in enumerate(ins)}
    keep = create_graph if retain_graph is None else retain_graph
    collected = _run(outs, seeds, keep, wanted, create_graph)
    result: list[Tensor | None] = []
    for tensor, g in zip(ins, collected, strict=True):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"autograd.grad: an input of shape {tuple(tensor.shape)} was not used to "
                "compute the outputs; pass allow_unused=True to get None for it"
            )
        result.append(None if g is None else _hooked_input(tensor, hooks.as_tensor(g)))
    return tuple(result)


def _hooked_input(tensor: Tensor, g: Tensor) -> Tensor:
    """grad(): a leaf input's register_hook hooks see (and may replace) its gradient."""
    registry = tensor._hooks
    if registry is None or not registry.pre:
        return g
    return hooks.run_grad_hooks(registry.pre, g, "register_hook")


def _listed(value: Any) -> list[Any]:
    """One tensor or a sequence of them, as a list."""
    return list(value) if isinstance(value, (list, tuple)) else [value]
