"""`tg.func`: grad (nested, several argnums, dict arguments, has_aux), jacrev and vmap,
checked against float64 finite differences and plain loops."""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg


def _fd(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        out[i] = (f(up) - f(down)) / (2 * eps)
    return out


def test_grad_and_its_grad(device):
    x_np = np.array([0.3, -1.2, 2.0])
    x = tg.tensor(x_np, device=device)

    def f(t):
        return (t.sin() * t).sum()

    np.testing.assert_allclose(
        tg.func.grad(f)(x).numpy(), _fd(lambda a: float((np.sin(a) * a).sum()), x_np), rtol=1e-6
    )
    second = tg.func.grad(lambda t: tg.func.grad(f)(t).sum())(x)
    np.testing.assert_allclose(second.numpy(), 2 * np.cos(x_np) - x_np * np.sin(x_np), rtol=1e-9)
    assert not x.requires_grad  # the caller's tensor is left alone


def test_grad_argnums_dicts_and_aux(device):
    w = {"a": tg.tensor([1.0, 2.0], device=device), "b": tg.tensor(3.0, device=device)}
    x = tg.tensor([0.5, -1.0], device=device)

    def loss(params, inp):
        out = (params["a"] * inp).sum() * params["b"]
        return out, out.detach() * 10

    grads, aux = tg.func.grad(loss, has_aux=True)(w, x)
    assert grads["a"].tolist() == [1.5, -3.0] and grads["b"].item() == pytest.approx(-1.5)
    assert aux.item() == pytest.approx(-45.0)
    gw, gx = tg.func.grad(lambda p, i: loss(p, i)[0], argnums=(0, 1))(w, x)
    assert gx.tolist() == [3.0, 6.0] and set(gw) == {"a", "b"}
    value = tg.func.grad_and_value(lambda i: (i * i).sum())(x)[1]
    assert value.item() == pytest.approx(1.25)
    with pytest.raises(tg.ShapeError, match="single-element"):
        tg.func.grad(lambda i: i * 2)(x)


def test_jacrev_and_vmap(device):
    x = tg.tensor([0.1, 0.7], dtype=tg.float64, device=device)
    np.testing.assert_allclose(tg.func.jacrev(tg.sin)(x).numpy(), np.diag(np.cos([0.1, 0.7])))
    rows = tg.arange(12.0, device=device).reshape(3, 4)
    np.testing.assert_array_equal(tg.func.vmap(lambda r: r.sum())(rows).numpy(), [6.0, 22.0, 38.0])
    w = tg.ones(4, device=device)
    out = tg.func.vmap(lambda r, v: (r * v, r.max()), in_dims=(0, None))(rows, w)
    assert out[0].shape == (3, 4) and out[1].tolist() == [3.0, 7.0, 11.0]
    cols = tg.func.vmap(lambda c: c * 2, in_dims=1, out_dims=1)(rows)
    np.testing.assert_array_equal(cols.numpy(), rows.numpy() * 2)
    with pytest.raises(tg.ShapeError, match="one size"):
        tg.func.vmap(lambda a, b: a + b)(rows, tg.ones(2, 4, device=device))
