"""Advanced-index writes of values that require grad (`probs[rows, targets] -= 1` on a graph
tensor, `x[idx] = b`, `x[mask] = b`): the forward keeps NumPy's last-write rule, the gradient
reaches the values as PyTorch's `index_put` gives it (every write, repeats included), checked
against NumPy by hand and against float64 finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg


def _t(values, device, requires_grad=False):
    return tg.tensor(
        np.asarray(values, dtype=np.float64), device=device, requires_grad=requires_grad
    )


def test_subtracting_at_targets_on_a_graph_tensor(device):
    rng = np.random.default_rng(0)
    a_np = rng.standard_normal((4, 5))
    w_np = rng.standard_normal((4, 5))
    a = _t(a_np, device, True)
    p = a * 1.5
    p[range(4), [1, 0, 3, 4]] -= 1
    (p * _t(w_np, device)).sum().backward()
    want = a_np * 1.5
    want[range(4), [1, 0, 3, 4]] -= 1
    np.testing.assert_allclose(p.detach().numpy(), want)
    np.testing.assert_allclose(a.grad.numpy(), 1.5 * w_np)  # the shift has no gradient


def test_values_get_the_gradient_of_their_places(device):
    b = _t([1.0, 2.0], device, True)
    x = tg.zeros(4, dtype=tg.float64, device=device)
    x[[1, 3]] = b * 2
    (x * _t([0.0, 1.0, 2.0, 3.0], device)).sum().backward()
    assert x.tolist() == [0.0, 2.0, 0.0, 4.0]
    assert b.grad.tolist() == [2.0, 6.0]


def test_boolean_mask_write(device):
    b = _t([1.0, 2.0], device, True)
    x = _t([5.0, 6.0, 7.0, 8.0], device, True)
    y = x * 1.0
    y[_t([1, 0, 1, 0], device) > 0] = b
    (y * _t([1.0, 2.0, 3.0, 4.0], device)).sum().backward()
    assert y.tolist() == [1.0, 6.0, 2.0, 8.0]
    assert b.grad.tolist() == [1.0, 3.0]
    assert x.grad.tolist() == [0.0, 2.0, 0.0, 4.0]  # overwritten places pass nothing back


def test_repeated_index_last_write_wins_and_every_write_gets_gradient(device):
    b = _t([[1.0, 2.0], [3.0, 4.0]], device, True)
    x = tg.zeros(3, 2, dtype=tg.float64, device=device)
    x[[0, 0]] = b
    (x * _t([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], device)).sum().backward()
    assert x.tolist() == [[3.0, 4.0], [0.0, 0.0], [0.0, 0.0]]
    assert b.grad.tolist() == [[1.0, 2.0], [1.0, 2.0]]  # PyTorch's index_put gradient


def test_broadcast_value_sums_its_gradient(device):
    c = _t([10.0], device, True)
    x = tg.zeros(2, 3, dtype=tg.float64, device=device)
    x[[0, 1], [2, 0]] = c
    (x * _t([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device)).sum().backward()
    assert x.tolist() == [[0.0, 0.0, 10.0], [10.0, 0.0, 0.0]]
    assert c.grad.tolist() == [3.0 + 4.0]


@pytest.mark.parametrize("seed", [0, 1])
def test_finite_differences(device, seed):
    rng = np.random.default_rng(seed)
    a_np, v_np, w_np = (
        rng.standard_normal((3, 4)),
        rng.standard_normal(3),
        rng.standard_normal((3, 4)),
    )
    rows, cols = [0, 1, 2], [3, 1, 0]

    def loss(a_vals, v_vals):
        y = (a_vals * a_vals).copy()
        y[rows, cols] = np.tanh(v_vals)
        return float((y * w_np).sum())

    a, v = _t(a_np, device, True), _t(v_np, device, True)
    y = a * a
    y[rows, cols] = v.tanh()
    (y * _t(w_np, device)).sum().backward()
    eps = 1e-6
    for name, got, base in (("a", a.grad.numpy(), a_np), ("v", v.grad.numpy(), v_np)):
        want = np.zeros_like(base)
        for i in np.ndindex(base.shape):
            up, down = base.copy(), base.copy()
            up[i] += eps
            down[i] -= eps
            args_up = (up, v_np) if name == "a" else (a_np, up)
            args_down = (down, v_np) if name == "a" else (a_np, down)
            want[i] = (loss(*args_up) - loss(*args_down)) / (2 * eps)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8, err_msg=name)
