"""Gradients through several slices of one tensor (q, k, v = qkv.split(...)): the engine adds
each slice's gradient straight into the one it is summing for the input; the result must
equal NumPy's scatter-add of the pieces, whatever else also uses the input."""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg


def _weights(shape, seed):
    return np.random.default_rng(seed).normal(size=shape)


def test_split_gradients_match_numpy(device):
    data = _weights((2, 3, 12), 0)
    x = tg.tensor(data, device=device, requires_grad=True)
    h = x * 1.0  # a non-leaf: the engine sums its gradient before passing it on
    pieces = h.split(4, dim=2)
    ws = [_weights((2, 3, 4), s) for s in (1, 2, 3)]
    loss = sum((p * tg.tensor(w, device=device)).sum() for p, w in zip(pieces, ws))
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), np.concatenate(ws, axis=2), rtol=1e-12)


def test_overlapping_slices_and_other_uses_add_up(device):
    data = _weights((5, 6), 4)
    x = tg.tensor(data, device=device, requires_grad=True)
    h = x.exp()
    y = (h[1:4] * 2.0).sum() + (h[2:, ::2] * 3.0).sum() + h[0].sum() + (h * h).sum()
    y.backward()
    dh = np.zeros((5, 6))
    dh[1:4] += 2.0
    dh[2:, ::2] += 3.0
    dh[0] += 1.0
    e = np.exp(data)
    dh += 2 * e
    np.testing.assert_allclose(x.grad.numpy(), dh * e, rtol=1e-10)


def test_a_slice_of_a_slice(device):
    x = tg.tensor(_weights((4, 8), 5), device=device, requires_grad=True)
    h = x + 0.0
    a = h[:, :4]
    (a[1:, 2:].sum() + a.sum() * 2.0 + h[:, 6:].sum() * 5.0).backward()
    expected = np.zeros((4, 8))
    expected[:, :4] = 2.0
    expected[1:, 2:4] += 1.0
    expected[:, 6:] = 5.0
    np.testing.assert_allclose(x.grad.numpy(), expected)


def test_autograd_grad_of_a_sliced_intermediate_is_not_mutated(device):
    x = tg.tensor(_weights((6,), 6), device=device, requires_grad=True)
    h = x * 2.0
    y = (h[:3] * 3.0).sum() + (h[3:] * 4.0).sum() + (h[1:5] * 5.0).sum()
    (gh,) = tg.autograd.grad(y, [h], retain_graph=True)
    np.testing.assert_allclose(gh.numpy(), [3.0, 8.0, 8.0, 9.0, 9.0, 4.0])
    (gx,) = tg.autograd.grad(y, [x])
    np.testing.assert_allclose(gx.numpy(), [6.0, 16.0, 16.0, 18.0, 18.0, 8.0])


@pytest.mark.parametrize("retain", [False, True])
def test_split_backward_twice_with_retain_graph(device, retain):
    x = tg.tensor(_weights((3, 6), 7), device=device, requires_grad=True)
    q, k, v = (x * 1.0).split(2, dim=1)
    y = (q * 1.0).sum() + (k * 2.0).sum() + (v * 3.0).sum()
    y.backward(retain_graph=retain)
    expected = np.repeat([[1.0, 2.0, 3.0]], 2, axis=1).reshape(1, 6).repeat(3, 0)
    np.testing.assert_allclose(x.grad.numpy(), expected)
    if retain:
        y.backward()
        np.testing.assert_allclose(x.grad.numpy(), 2 * expected)
    else:
        with pytest.raises(RuntimeError, match="retain_graph=True"):
            y.backward()
