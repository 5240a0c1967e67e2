"""`tg.func`: PyTorch's `torch.func` function transforms, built on tinygpt's autograd.

- `functional_call(module, params, args)`: run a module with other tensors in place of its
  parameters and buffers (by their `state_dict` names), leaving the module as it was;
- `grad(f)` / `grad_and_value(f)`: a function returning the gradient of `f`'s scalar output
  with respect to argument `argnums` (nestable: `grad(grad(f))` is the second derivative);
- `jacrev(f)` / `jacfwd(f)`: the Jacobian, both by reverse mode (`autograd.functional`);
- `vmap(f)`: `f` mapped over a batch dimension. NOTE: it runs `f` once per batch element and
  stacks the results (the same values as PyTorch's vectorized map, not its speed).

>>> import tinygpt as tg
>>> df = tg.func.grad(lambda x: (x**3).sum())
>>> df(tg.tensor([1.0, 2.0])).tolist()
[3.0, 12.0]
>>> tg.func.vmap(lambda row: row.sum())(tg.ones(3, 4)).tolist()
[4.0, 4.0, 4.0]
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .autograd.engine import grad as autograd_grad
from .autograd.function import enable_grad
from .autograd.functional import jacobian
from .errors import ShapeError
from .ops.movement import stack
from .tensor import Tensor

__all__ = ["functional_call", "grad", "grad_and_value", "jacfwd", "jacrev", "vmap"]


# ------------------------------------------------------------------ functional_call
def _slot(module: Any, name: str) -> tuple[dict[str, Any], str]:
    """The registry (`_parameters` or `_buffers`) of the submodule holding `name`."""
    *path, leaf = name.split(".")
    owner = module
    for part in path:
        owner = getattr(owner, part)
    for registry in ("_parameters", "_buffers"):
        found = owner.__dict__.get(registry)
        if found is not None and leaf in found:
            return found, leaf
    raise KeyError(f"functional_call: {type(module).__name__} has no parameter or buffer {name!r}")


@contextlib.contextmanager
def _swapped(module: Any, values: Mapping[str, Tensor]) -> Iterator[None]:
    saved = []
    try:
        for name, value in values.items():
            registry, leaf = _slot(module, name)
            saved.append((registry, leaf, registry[leaf]))
            registry[leaf] = value
        yield
    finally:
        for registry, leaf, old in reversed(saved):
            registry[leaf] = old


def functional_call(
    module: Any,
    parameter_and_buffer_dicts: Mapping[str, Tensor] | tuple[Mapping[str, Tensor], ...],
    args: Any = None,
    kwargs: dict[str, Any] | None = None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
) -> Any:
    """`module(*args, **kwargs)` with the given tensors as its parameters and buffers.

    Names are the module's `state_dict` keys; names not given keep the module's own tensors
    (with `strict=True` every parameter and buffer must be given). Tied weights (one tensor
    under two names) follow the one given, as `tie_weights=True` does in PyTorch.
    """
    dicts = (
        parameter_and_buffer_dicts
        if isinstance(parameter_and_buffer_dicts, tuple)
        else (parameter_and_buffer_dicts,)
    )
    values: dict[str, Tensor] = {}
    for mapping in dicts:
        for name, value in mapping.items():
            if name in values:
                raise ValueError(f"functional_call: {name!r} is given twice")
            values[name] = value
    names = [n for n, _ in module.named_parameters(remove_duplicate=False)]
    names += [n for n, _ in module.named_buffers(remove_duplicate=False)]
    if strict:
        missing = sorted(set(names) - set(values))
        unexpected = sorted(set(values) - set(names))
        if missing or unexpected:
            raise RuntimeError(
                f"functional_call(strict=True): missing {missing}, unexpected {unexpected}"
            )
    if tie_weights:
        # a name not given that shares its tensor with a given one follows it
        originals = dict(module.named_parameters(remove_duplicate=False))
        originals.update(dict(module.named_buffers(remove_duplicate=False)))
        for name, tensor in originals.items():
            if name in values:
                continue
            for given, other in originals.items():
                if given in values and other is tensor:
                    values[name] = values[given]
                    break
    call_args = args if isinstance(args, tuple) else (() if args is None else (args,))
    with _swapped(module, values):
        return module(*call_args, **(kwargs or {}))


# ------------------------------------------------------------------ grad
def _differentiable(x: Any) -> Any:
    """x as a leaf to differentiate by: a tensor, or a dict / tuple / list of them."""
    if isinstance(x, Mapping):
        return {k: _differentiable(v) for k, v in x.items()}
    if isinstance(x, (tuple, list)):
        return type(x)(_differentiable(v) for v in x)
    if not isinstance(x, Tensor):
        raise TypeError(f"grad: the argument to differentiate must be a tensor, got {type(x)}")
    return x if x.requires_grad else x.detach().requires_grad_()


def _leaves(x: Any) -> list[Tensor]:
    if isinstance(x, Mapping):
        return [t for v in x.values() for t in _leaves(v)]
    if isinstance(x, (tuple, list)):
        return [t for v in x for t in _leaves(v)]
    return [x]


def _rebuild(like: Any, values: Iterator[Any]) -> Any:
    """`values` in the structure of `like` (the inverse of `_leaves`)."""
    if isinstance(like, Mapping):
        return {k: _rebuild(v, values) for k, v in like.items()}
    if isinstance(like, (tuple, list)):
        return type(like)(_rebuild(v, values) for v in like)
    return next(values)


def grad_and_value(
    func: Callable[..., Any], argnums: int | tuple[int, ...] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """A function returning (gradient, value) of `func` (scalar output) at its arguments."""

    def run(*args: Any, **kwargs: Any) -> Any:
        positions = (argnums,) if isinstance(argnums, int) else tuple(argnums)
        call = list(args)
        for p in positions:
            call[p] = _differentiable(call[p])
        with enable_grad():
            out = func(*call, **kwargs)
            value, aux = (out[0], out[1]) if has_aux else (out, None)
            if not isinstance(value, Tensor) or value.numel() != 1:
                raise ShapeError(
                    "grad: the function must return a single-element tensor, got "
                    f"{getattr(value, 'shape', type(value).__name__)}"
                )
            leaves = [t for p in positions for t in _leaves(call[p])]
            flat: Iterator[Any] = iter(autograd_grad(value, leaves, create_graph=True))
        grads = tuple(_rebuild(call[p], flat) for p in positions)
        result = grads[0] if isinstance(argnums, int) else grads
        return (result, (value, aux)) if has_aux else (result, value)

    return run


def grad(
    func: Callable[..., Any], argnums: int | tuple[int, ...] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """A function returning the gradient of `func` (scalar output) at its arguments."""
    both = grad_and_value(func, argnums, has_aux)

    def run(*args: Any, **kwargs: Any) -> Any:
        gradient, value = both(*args, **kwargs)
        return (gradient, value[1]) if has_aux else gradient

    return run


def jacrev(func: Callable[..., Any], argnums: int | tuple[int, ...] = 0) -> Callable[..., Any]:
    """A function returning the Jacobian of `func` with respect to argument `argnums`."""

    def run(*args: Any) -> Any:
        positions = (argnums,) if isinstance(argnums, int) else tuple(argnums)

        def of_chosen(*chosen: Any) -> Any:
            call = list(args)
            for p, value in zip(positions, chosen, strict=True):
                call[p] = value
            return func(*call)

        chosen = tuple(args[p] for p in positions)
        result = jacobian(of_chosen, chosen if len(chosen) > 1 else chosen[0])
        return result

    return run


jacfwd = jacrev  # the same Jacobian (built by reverse mode here)


# ------------------------------------------------------------------ vmap
def _split(value: Any, dim: int | None, index: int) -> Any:
    if dim is None:
        return value
    if not isinstance(value, Tensor):
        raise TypeError(f"vmap: in_dims maps a {type(value).__name__}, which is not a tensor")
    return value.select(dim, index)


def _stack(results: list[Any], out_dims: Any) -> Any:
    first = results[0]
    if isinstance(first, Mapping):
        return {k: _stack([r[k] for r in results], out_dims) for k in first}
    if isinstance(first, (tuple, list)):
        dims = out_dims if isinstance(out_dims, tuple) else (out_dims,) * len(first)
        return tuple(_stack([r[i] for r in results], dims[i]) for i in range(len(first)))
    return stack(list(results), out_dims)


def vmap(
    func: Callable[..., Any],
    in_dims: int | None | tuple[Any, ...] = 0,
    out_dims: int | tuple[int, ...] = 0,
    randomness: str = "error",
    *,
    chunk_size: int | None = None,
) -> Callable[..., Any]:
    """`func` mapped over dim `in_dims` of its tensor arguments (None: not mapped)."""
    del randomness, chunk_size  # one call per element: randomness is per element anyway

    def run(*args: Any, **kwargs: Any) -> Any:
        dims = in_dims if isinstance(in_dims, tuple) else (in_dims,) * len(args)
        if len(dims) != len(args):
            raise ValueError(f"vmap: in_dims has {len(dims)} entries for {len(args)} arguments")
        sizes = {a.shape[d] for a, d in zip(args, dims, strict=True) if d is not None}
        if len(sizes) != 1:
            raise ShapeError(f"vmap: the mapped dims must have one size, got {sorted(sizes)}")
        (size,) = sizes
        results = [
            func(*(_split(a, d, i) for a, d in zip(args, dims, strict=True)), **kwargs)
            for i in range(size)
        ]
        return _stack(results, out_dims)

    return run
