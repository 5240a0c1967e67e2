"""`tg.func.functional_call` (and `nn.utils.stateless.functional_call`): a module run with
other tensors as its parameters and buffers, the module unchanged after, per-sample gradients
through vmap(grad(...)) equal to a loop of ordinary backward passes."""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg
from tinygpt import nn


def _model(device):
    tg.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).to(device).double()


def test_swapped_parameters_and_restored_module(device):
    model = _model(device)
    x = tg.randn(5, 3, dtype=tg.float64, device=device)
    before = model(x).detach().numpy()
    doubled = {k: v.detach() * 2 for k, v in model.named_parameters()}
    out = tg.func.functional_call(model, doubled, (x,))
    twin = _model(device)
    with tg.no_grad():
        for p in twin.parameters():
            p.mul_(2)
    np.testing.assert_allclose(out.numpy(), twin(x).detach().numpy(), rtol=1e-12)
    np.testing.assert_array_equal(model(x).detach().numpy(), before)  # restored
    partial = nn.utils.stateless.functional_call(
        model, {"2.bias": tg.zeros(2, dtype=tg.float64, device=device)}, x
    )
    assert partial.shape == (5, 2)
    with pytest.raises(RuntimeError, match="strict"):
        tg.func.functional_call(model, {"0.weight": doubled["0.weight"]}, (x,), strict=True)
    with pytest.raises(KeyError, match="no parameter or buffer"):
        tg.func.functional_call(model, {"nope": x}, (x,))


def test_per_sample_gradients(device):
    model = _model(device)
    params = {k: v.detach() for k, v in model.named_parameters()}
    x = tg.randn(4, 3, dtype=tg.float64, device=device)

    def loss(p, xi):
        return tg.func.functional_call(model, p, (xi.unsqueeze(0),)).pow(2).sum()

    per_sample = tg.func.vmap(tg.func.grad(loss), in_dims=(None, 0))(params, x)
    for i in range(4):
        model.zero_grad()
        model(x[i : i + 1]).pow(2).sum().backward()
        for name, p in model.named_parameters():
            np.testing.assert_allclose(per_sample[name][i].numpy(), p.grad.numpy(), rtol=1e-10)
