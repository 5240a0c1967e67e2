"""gradcheck: compare autograd's gradients with float64 central finite differences."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..dtypes import DType, float64
from ..host import from_host_data
from .engine import grad
from .function import enable_grad, no_grad

if TYPE_CHECKING:
    from ..tensor import Tensor

__all__ = ["gradcheck", "gradgradcheck", "numerical_grad"]


def numerical_grad(fn: Callable[..., Tensor], inputs: Sequence[Tensor], eps: float = 1e-6):
    """d sum(fn(*inputs) * probe) / d input by central differences, one element at a time.

    `probe` is a fixed random weighting so every output element is checked, not just a sum.
    Returns NumPy float64 arrays, one per input (zeros for inputs that need no grad).
    """
    import numpy as np

    with no_grad():
        base = [t.detach().numpy().astype(np.float64) for t in inputs]
        like = inputs[0]
        probe = _probe(fn(*[_tensor(b, like) for b in base]))
        grads = []
        for k, t in enumerate(inputs):
            g = np.zeros_like(base[k])
            if t.requires_grad:
                flat = base[k].reshape(-1)
                out = g.reshape(-1)
                for i in range(flat.size):
                    keep = flat[i]
                    flat[i] = keep + eps
                    plus = _weighted(fn, base, probe, like)
                    flat[i] = keep - eps
                    minus = _weighted(fn, base, probe, like)
                    flat[i] = keep
                    out[i] = (plus - minus) / (2 * eps)
            grads.append(g)
    return grads


def _probe(out: Tensor):
    import numpy as np

    rng = np.random.default_rng(0)
    return rng.uniform(0.5, 1.5, size=out.shape)


def _tensor(values: Any, like: Tensor, dtype: DType | None = None) -> Tensor:
    """Host values as a new tensor on `like`'s device (in `like`'s dtype unless given)."""
    data = from_host_data(values, like.dtype if dtype is None else dtype, like._data.backend)
    return type(like)._make(data, False)


def _weighted(fn, base, probe, like) -> float:
    import numpy as np

    out = fn(*[_tensor(b, like) for b in base]).numpy().astype(np.float64)
    return float((out * probe).sum())


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """True when autograd matches finite differences for `fn` at `inputs` (run in float64).

    >>> import tinygpt as tg
    >>> x = tg.tensor([0.5, 1.5], dtype=tg.float64, requires_grad=True)
    >>> tg.autograd.gradcheck(lambda t: (t * t).exp(), [x])
    True
    """
    import numpy as np

    leaves = [_tensor(t.detach().numpy(), t, float64) for t in inputs]
    for leaf, t in zip(leaves, inputs, strict=True):
        leaf.requires_grad_(t.requires_grad)
    out = fn(*leaves)
    probe = _probe(out)
    out.backward(_tensor(probe, out))
    expected = numerical_grad(fn, leaves, eps)
    for k, (leaf, want) in enumerate(zip(leaves, expected, strict=True)):
        if not leaf.requires_grad:
            continue
        got = np.zeros_like(want) if leaf.grad is None else leaf.grad.numpy()
        if not np.allclose(got, want, atol=atol, rtol=rtol):
            if raise_exception:
                worst = float(np.max(np.abs(got - want)))
                raise AssertionError(
                    f"gradcheck: input {k} (shape {tuple(leaf.shape)}): autograd and finite "
                    f"differences differ by up to {worst:.3g}\nautograd:\n{got}\nnumerical:\n{want}"
                )
            return False
    return True


def gradgradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """True when second derivatives (backward of `grad(..., create_graph=True)`) match
    finite differences of the first derivatives, for each input that requires grad.

    >>> import tinygpt as tg
    >>> x = tg.tensor([0.5, 1.5], dtype=tg.float64, requires_grad=True)
    >>> tg.autograd.gradgradcheck(lambda t: (t * t * t).tanh(), [x])
    True
    """
    wants = [t.requires_grad for t in inputs]
    ok = True
    for k, wanted in enumerate(wants):
        if wanted:
            first = _first_derivative(fn, wants, k)
            ok = gradcheck(first, inputs, eps, atol, rtol, raise_exception) and ok
    return ok


def _first_derivative(fn: Callable[..., Tensor], wants: list[bool], k: int) -> Callable:
    """xs -> d sum(fn(xs) * probe) / d xs[k], recorded (create_graph) so it has a gradient.

    NOTE: gradcheck's finite differences call this under no_grad with plain tensors: they
    are made leaves that need grad here, so the first derivative can still be computed.
    """

    def derivative(*xs: Tensor) -> Tensor:
        with enable_grad():
            leaves = [
                x.detach().requires_grad_() if w and not x.requires_grad else x
                for x, w in zip(xs, wants, strict=True)
            ]
            out = fn(*leaves)
            weighted = (out * _tensor(_probe(out), out)).sum()
            (g,) = grad(weighted, [leaves[k]], create_graph=True, allow_unused=True)
            if g is None or not g.requires_grad:
                # a constant first derivative (a bias): connect it, its derivative is 0
                return leaves[k] * 0.0 if g is None else g + leaves[k] * 0.0
            return g

    return derivative
