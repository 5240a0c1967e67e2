"""`tg.autograd.backward(tensors, grad_tensors)`: PyTorch's functional form of `.backward()`,
for one output or several at once (their gradients are summed into the leaves in one walk),
optionally accumulating only into the leaves listed in `inputs`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..tensor import Tensor
from . import engine

__all__ = ["backward"]


def backward(
    tensors: Tensor | Sequence[Tensor],
    grad_tensors: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    grad_variables: Any = None,
    inputs: Tensor | Sequence[Tensor] | None = None,
) -> None:
    """Accumulate d(sum of tensors) / d leaf into each leaf's `.grad`.

    `grad_tensors` gives each non-scalar output's gradient (None for a scalar);
    `inputs` restricts the accumulation to those tensors.

    >>> import tinygpt as tg
    >>> x = tg.tensor([1.0, 2.0], requires_grad=True)
    >>> backward([(x * x).sum(), x * 3], [None, tg.ones(2)])
    >>> x.grad.tolist()                       # 2x + 3
    [5.0, 7.0]
    """
    if grad_variables is not None:  # PyTorch's old name
        grad_tensors = grad_variables
    outs: list[Tensor] = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    grads: list[Tensor | None]
    if grad_tensors is None:
        grads = [None] * len(outs)
    elif isinstance(grad_tensors, Tensor):
        grads = [grad_tensors]
    else:
        grads = list(grad_tensors)
    if len(grads) != len(outs):
        raise RuntimeError(
            f"autograd.backward: got {len(grads)} grad_tensors for {len(outs)} tensors"
        )
    for i, out in enumerate(outs):
        if not isinstance(out, Tensor) or not out.requires_grad:
            raise RuntimeError(
                f"autograd.backward: tensor {i} does not require grad and has no grad_fn"
            )
    if inputs is not None:
        _accumulate_into(outs, grads, retain_graph, create_graph, inputs)
        return
    seeds = [
        engine._seed_gradient(o, g, "autograd.backward", create_graph) for o, g in zip(outs, grads)
    ]
    keep = create_graph if retain_graph is None else retain_graph
    engine._run(outs, seeds, keep, None, create_graph)


def _accumulate_into(
    outs: list[Tensor],
    grads: list[Tensor | None],
    retain_graph: bool | None,
    create_graph: bool,
    inputs: Tensor | Sequence[Tensor],
) -> None:
    """backward(inputs=...): gradients of only these tensors, added to their `.grad`."""
    targets: list[Tensor] = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    found = engine.grad(
        outs, targets, grads, retain_graph=retain_graph, create_graph=create_graph,
        allow_unused=True,
    )  # fmt: skip
    for t, g in zip(targets, found):
        if g is None:
            continue
        t.grad = g if t.grad is None else t.grad + g
