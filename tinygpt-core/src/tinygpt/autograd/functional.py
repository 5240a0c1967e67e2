"""Higher-order helpers on top of `autograd.grad`, PyTorch's `torch.autograd.functional`:
`jacobian`, `hessian`, `vjp`, `jvp`, `vhp`, `hvp` of a function of tensors.

    J = jacobian(f, x)                  # shape f(x).shape + x.shape
    H = hessian(loss_fn, w)             # shape w.shape + w.shape
    out, vJ = vjp(f, x, v)              # v^T J, shaped like x
    out, Jv = jvp(f, x, v)              # J v, shaped like f(x)

A tuple of inputs gives a tuple of results (one per input); a function returning a tuple
gives one result per output (for jacobian, a tuple of tuples). The Jacobian is built one
output element at a time with reverse mode, so it suits small outputs. Results are detached
unless `create_graph=True`, which keeps them differentiable (and is how `hessian` works).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..creation import ones_like, zeros, zeros_like
from ..ops.movement import stack
from ..tensor import Tensor
from .engine import grad
from .function import enable_grad

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


def _as_tuple(value: Any) -> tuple[bool, tuple[Any, ...]]:
    if isinstance(value, (tuple, list)):
        return True, tuple(value)
    return False, (value,)


def _prepare(inputs: tuple[Any, ...], create_graph: bool) -> tuple[Any, ...]:
    """Inputs that the function's graph can be differentiated with respect to.

    NOTE: with create_graph, an input that already requires grad is used as it is, so the
    results stay connected to it (a hessian differentiates a jacobian this way).
    """
    prepared = []
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            raise TypeError(f"autograd.functional: input {i} is a {type(x).__name__}, not Tensor")
        if create_graph and x.requires_grad:
            prepared.append(x)
        else:
            prepared.append(x.detach().requires_grad_(True))
    return tuple(prepared)


def _finish(values: Any, create_graph: bool) -> Any:
    if create_graph or values is None:
        return values
    return values.detach()


def _grads(
    outputs: Any, inputs: tuple[Any, ...], grad_outputs: Any, create_graph: bool, strict: bool
) -> tuple[Any, ...]:
    """d outputs / d inputs contracted with grad_outputs; zeros for unused inputs."""
    outs = [o for o in outputs if o.requires_grad]
    gos = [g for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if not outs:
        found: tuple[Any, ...] = (None,) * len(inputs)
    else:
        found = grad(outs, inputs, gos, retain_graph=True, create_graph=create_graph,
                     allow_unused=True)  # fmt: skip
    result = []
    for i, (x, g) in enumerate(zip(inputs, found)):
        if g is None:
            if strict:
                raise RuntimeError(
                    f"autograd.functional: the output does not depend on input {i} (strict=True)"
                )
            g = zeros_like(x)
        result.append(g)
    return tuple(result)


def jacobian(
    func: Callable[..., Any],
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
) -> Any:
    """The Jacobian of `func` at `inputs`: J[o..., i...] = d out[o...] / d in[i...].

    >>> import tinygpt as tg
    >>> jacobian(lambda x: x * x, tg.tensor([1.0, 2.0])).tolist()
    [[2.0, 0.0], [0.0, 4.0]]
    """
    del vectorize, strategy  # one strategy here: reverse mode, one output element at a time
    in_tuple, ins = _as_tuple(inputs)
    with enable_grad():
        ins = _prepare(ins, create_graph)
        out_tuple, outs = _as_tuple(func(*ins))
        per_output = []
        for out in outs:
            rows: list[list[Any]] = [[] for _ in ins]
            flat_seed = zeros(out.numel(), dtype=out.dtype, device=out.device)
            for j in range(out.numel()):
                seed = flat_seed.clone()
                seed[j] = 1.0
                grads = _grads((out,), ins, (seed.reshape(out.shape),), create_graph, strict)
                for k, g in enumerate(grads):
                    rows[k].append(g)
            blocks = []
            for x, row in zip(ins, rows):
                # (out.numel(), *x.shape) -> (*out.shape, *x.shape)
                stacked = stack(row) if row else zeros(0, *x.shape, device=x.device)
                blocks.append(_finish(stacked.reshape(*out.shape, *x.shape), create_graph))
            per_output.append(tuple(blocks) if in_tuple else blocks[0])
    return tuple(per_output) if out_tuple else per_output[0]


def hessian(
    func: Callable[..., Any],
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
) -> Any:
    """The Hessian of a scalar `func` at `inputs`: the Jacobian of its gradient.

    >>> import tinygpt as tg
    >>> hessian(lambda x: (x ** 3).sum(), tg.tensor([1.0, 2.0])).tolist()
    [[6.0, 0.0], [0.0, 12.0]]
    """
    del vectorize, outer_jacobian_strategy
    in_tuple, ins = _as_tuple(inputs)

    def scalar_func(*args: Any) -> Any:
        out = func(*args)
        if isinstance(out, (tuple, list)) or out.numel() != 1:
            raise RuntimeError("hessian: the function must return a single-element tensor")
        return out.reshape(())

    def gradient(*args: Any) -> Any:
        jac = jacobian(scalar_func, args if in_tuple else args[0], True, strict)
        return jac

    return jacobian(gradient, ins if in_tuple else ins[0], create_graph, strict)


def _vectors(v: Any, like: tuple[Any, ...], what: str) -> tuple[Any, ...]:
    if v is None:
        if len(like) != 1 or like[0].numel() != 1:
            raise RuntimeError(
                f"{what}: v may be omitted only when the function returns a single-element tensor"
            )
        return (ones_like(like[0]),)
    _, vs = _as_tuple(v)
    if len(vs) != len(like):
        raise RuntimeError(f"{what}: got {len(vs)} vectors v for {len(like)} tensors")
    for i, (a, b) in enumerate(zip(vs, like)):
        if tuple(a.shape) != tuple(b.shape):
            raise RuntimeError(
                f"{what}: v[{i}] has shape {tuple(a.shape)}, expected {tuple(b.shape)}"
            )
    return vs


def vjp(
    func: Callable[..., Any],
    inputs: Any,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """(func(inputs), v^T J): the vector-Jacobian product, shaped like the inputs.

    >>> import tinygpt as tg
    >>> out, g = vjp(lambda x: x * x, tg.tensor([1.0, 2.0]), tg.tensor([1.0, 1.0]))
    >>> g.tolist()
    [2.0, 4.0]
    """
    in_tuple, ins = _as_tuple(inputs)
    with enable_grad():
        ins = _prepare(ins, create_graph)
        out_tuple, outs = _as_tuple(func(*ins))
        vs = _vectors(v, outs, "vjp")
        grads = _grads(outs, ins, vs, create_graph, strict)
    result = tuple(_finish(g, create_graph) for g in grads)
    outputs = tuple(_finish(o, create_graph) for o in outs)
    return (outputs if out_tuple else outputs[0]), (result if in_tuple else result[0])


def jvp(
    func: Callable[..., Any],
    inputs: Any,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """(func(inputs), J v): the Jacobian-vector product, shaped like the outputs.

    NOTE: computed with two reverse passes (the "double-vjp trick"): u -> u^T J is linear
    in u, and differentiating it with respect to u, contracted with v, gives J v.

    >>> import tinygpt as tg
    >>> out, jv = jvp(lambda x: x * x, tg.tensor([1.0, 2.0]), tg.tensor([1.0, 0.0]))
    >>> jv.tolist()
    [2.0, 0.0]
    """
    in_tuple, ins = _as_tuple(inputs)
    with enable_grad():
        ins = _prepare(ins, create_graph)
        vs = _vectors(v, ins, "jvp")
        out_tuple, outs = _as_tuple(func(*ins))
        dummies = tuple(zeros_like(o).requires_grad_(True) for o in outs)
        # u^T J, differentiable with respect to the dummy u
        vjps = _grads(outs, ins, dummies, True, strict)
        linked = [(g, w) for g, w in zip(vjps, vs) if g.requires_grad]
        if linked:
            found = grad(
                [g for g, _ in linked],
                list(dummies),
                [w for _, w in linked],
                retain_graph=True,
                create_graph=create_graph,
                allow_unused=True,
            )
        else:
            found = (None,) * len(dummies)
        result = tuple(
            zeros_like(o) if f is None else _finish(f, create_graph) for o, f in zip(outs, found)
        )
    outputs = tuple(_finish(o, create_graph) for o in outs)
    return (outputs if out_tuple else outputs[0]), (result if out_tuple else result[0])


def vhp(
    func: Callable[..., Any],
    inputs: Any,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """(func(inputs), v^T H) for a scalar func: the gradient's vector-Jacobian product.

    >>> import tinygpt as tg
    >>> out, vh = vhp(lambda x: (x ** 3).sum(), tg.tensor([1.0, 2.0]), tg.tensor([1.0, 1.0]))
    >>> vh.tolist()
    [6.0, 12.0]
    """
    in_tuple, ins = _as_tuple(inputs)
    with enable_grad():
        ins = _prepare(ins, create_graph)
        out = func(*ins)
        if isinstance(out, (tuple, list)) or out.numel() != 1:
            raise RuntimeError("vhp: the function must return a single-element tensor")
        vs = _vectors(v, ins, "vhp")
        first = _grads((out,), ins, (None,), True, strict)
        linked = [(g, w) for g, w in zip(first, vs) if g.requires_grad]
        if linked:
            result = _grads(
                tuple(g for g, _ in linked), ins, tuple(w for _, w in linked), create_graph, strict
            )
        else:
            result = tuple(g * 0 for g in first)
    result = tuple(_finish(r, create_graph) for r in result)
    return _finish(out, create_graph), (result if in_tuple else result[0])


def hvp(
    func: Callable[..., Any],
    inputs: Any,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """(func(inputs), H v). NOTE: H is symmetric for a twice-differentiable func, so this is
    `vhp` (PyTorch computes it with an extra backward to the same result)."""
    return vhp(func, inputs, v, create_graph, strict)
