"""Parametrizations (`nn.utils.parametrize`, `nn.utils.parametrizations`) and the older
`weight_norm` / `spectral_norm` hooks: values, gradients through them, PyTorch's checkpoint
keys, and removal back to a plain parameter."""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg
from tinygpt import nn
from tinygpt.nn.utils import parametrize
from tinygpt.nn.utils.parametrizations import norm_except_dim


class Symmetric(nn.Module):
    def forward(self, x):
        return x.triu() + x.triu(1).transpose(0, 1)


def _linear(device):
    tg.manual_seed(0)
    return nn.Linear(4, 3).to(device).double()


def test_register_and_remove_a_parametrization(device):
    layer = nn.Linear(3, 3).to(device).double()
    parametrize.register_parametrization(layer, "weight", Symmetric())
    w = layer.weight.numpy()
    np.testing.assert_array_equal(w, w.T)
    assert parametrize.is_parametrized(layer, "weight") and not parametrize.is_parametrized(
        layer, "bias"
    )
    assert "parametrizations.weight.original" in layer.state_dict()
    assert parametrize.type_before_parametrizations(layer) is nn.Linear
    x = tg.randn(2, 3, dtype=tg.float64, device=device)
    layer(x).sum().backward()
    assert layer.parametrizations.weight.original.grad is not None
    with parametrize.cached():
        assert layer.weight is layer.weight  # one computation inside the block
    parametrize.remove_parametrizations(layer, "weight")
    assert type(layer) is nn.Linear and sorted(layer.state_dict()) == ["bias", "weight"]
    np.testing.assert_array_equal(layer.weight.detach().numpy(), w)


def test_weight_norm_value_keys_and_gradient(device):
    layer = _linear(device)
    before = layer.weight.detach().numpy().copy()
    nn.utils.parametrizations.weight_norm(layer)
    keys = sorted(layer.state_dict())
    assert keys == [
        "bias",
        "parametrizations.weight.original0",
        "parametrizations.weight.original1",
    ]
    np.testing.assert_allclose(layer.weight.detach().numpy(), before, rtol=1e-12)
    g = layer.parametrizations.weight.original0
    np.testing.assert_allclose(g.detach().numpy()[:, 0], np.linalg.norm(before, axis=1), rtol=1e-12)
    layer(tg.ones(1, 4, dtype=tg.float64, device=device)).sum().backward()
    # d/dg of sum(W x) with W = g v/|v|: (v/|v|) . x per row
    v = before
    want = (v / np.linalg.norm(v, axis=1, keepdims=True)).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(g.grad.numpy(), want, rtol=1e-10)


def test_old_style_weight_norm_round_trip(device):
    layer = _linear(device)
    before = layer.weight.detach().numpy().copy()
    nn.utils.weight_norm(layer)
    assert sorted(layer.state_dict()) == ["bias", "weight_g", "weight_v"]
    out = layer(tg.ones(2, 4, dtype=tg.float64, device=device))
    np.testing.assert_allclose(
        out.detach().numpy(),
        (before.sum(1) + layer.bias.detach().numpy())[None].repeat(2, 0),
        rtol=1e-10,
    )
    nn.utils.remove_weight_norm(layer)
    assert sorted(layer.state_dict()) == ["bias", "weight"]
    np.testing.assert_allclose(layer.weight.detach().numpy(), before, rtol=1e-12)
    with pytest.raises(ValueError, match="weight_norm"):
        nn.utils.remove_weight_norm(layer)


@pytest.mark.parametrize("old_style", [False, True])
def test_spectral_norm_brings_the_top_singular_value_to_one(device, old_style):
    layer = _linear(device)
    if old_style:
        nn.utils.spectral_norm(layer, n_power_iterations=3)
        assert sorted(layer.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    else:
        nn.utils.parametrizations.spectral_norm(layer, n_power_iterations=3)
    for _ in range(5):
        layer(tg.ones(1, 4, dtype=tg.float64, device=device))
    sigma = np.linalg.svd(layer.weight.detach().numpy(), compute_uv=False)[0]
    assert sigma == pytest.approx(1.0, abs=1e-6)
    if old_style:
        nn.utils.remove_spectral_norm(layer)
        assert sorted(layer.state_dict()) == ["bias", "weight"]


def test_norm_except_dim(device):
    v = tg.tensor(np.arange(24.0).reshape(2, 3, 4), device=device)
    np.testing.assert_allclose(
        norm_except_dim(v, 2, 1).numpy(),
        np.sqrt((np.arange(24.0).reshape(2, 3, 4) ** 2).sum(axis=(0, 2), keepdims=True)),
    )
    assert norm_except_dim(v, 2, -1).shape == ()
