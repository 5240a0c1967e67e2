"""nn.utils: clip_grad_norm_, parameters_to_vector / vector_to_parameters, count_parameters."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygpt as tg
from tinygpt import nn


def _with_grads(device, grads):
    params = []
    for g in grads:
        p = nn.Parameter(tg.zeros(*np.shape(g), dtype=tg.float64, device=device))
        p.grad = tg.tensor(np.asarray(g, dtype=np.float64), device=device)
        params.append(p)
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
def test_clip_grad_norm_scales_all_grads_together(device, norm_type):
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=(3, 4)), rng.normal(size=5)]
    params = _with_grads(device, grads)
    flat = np.concatenate([g.ravel() for g in grads])
    total = (
        np.abs(flat).max()
        if norm_type == math.inf
        else np.sum(np.abs(flat) ** norm_type) ** (1 / norm_type)
    )
    got = nn.utils.clip_grad_norm_(params, max_norm=0.5, norm_type=norm_type)
    assert isinstance(got, tg.Tensor) and got.shape == ()
    np.testing.assert_allclose(got.item(), total, rtol=1e-10)
    scale = 0.5 / (total + 1e-6)
    for p, g in zip(params, grads):
        np.testing.assert_allclose(p.grad.numpy(), g * scale, rtol=1e-10)


def test_clip_grad_norm_leaves_small_grads_alone(device):
    params = _with_grads(device, [[0.1, 0.2], [0.2]])
    total = nn.utils.clip_grad_norm_(iter(params), max_norm=10.0)
    np.testing.assert_allclose(total.item(), 0.3, rtol=1e-10)
    assert params[0].grad.tolist() == [0.1, 0.2]


@pytest.mark.oracle
def test_clip_grad_norm_matches_torch(device):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    grads = [rng.normal(size=(4, 4)) * 3, rng.normal(size=4)]
    params = _with_grads(device, grads)
    theirs = [torch.zeros(*g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for t, g in zip(theirs, grads):
        t.grad = torch.tensor(g)
    want = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    got = nn.utils.clip_grad_norm_(params, 1.0)
    np.testing.assert_allclose(got.item(), want.item(), rtol=1e-10)
    for p, t in zip(params, theirs):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-6)


def test_clip_grad_norm_skips_params_without_grad_and_flags_nonfinite(device):
    p = nn.Parameter(tg.zeros(2, device=device))
    assert nn.utils.clip_grad_norm_([p], 1.0).item() == 0.0
    bad = _with_grads(device, [[float("inf"), 1.0]])
    with pytest.raises(RuntimeError, match="total gradient norm is inf"):
        nn.utils.clip_grad_norm_(bad, 1.0, error_if_nonfinite=True)


def test_clip_grad_norm_on_a_trained_model(device):
    model = nn.Sequential(nn.Linear(3, 4, device=device), nn.Tanh(), nn.Linear(4, 1, device=device))
    (model(tg.randn(8, 3, device=device)) * 100).sum().backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    flat = np.concatenate([p.grad.numpy().ravel() for p in model.parameters()])
    assert np.linalg.norm(flat) == pytest.approx(1.0, rel=1e-4)


def test_parameters_vector_round_trip(device):
    model = nn.Sequential(nn.Linear(3, 2, device=device), nn.LayerNorm(2, device=device))
    vec = nn.utils.parameters_to_vector(model.parameters())
    assert vec.shape == (nn.utils.count_parameters(model),)
    nn.utils.vector_to_parameters(vec * 2, model.parameters())
    np.testing.assert_allclose(
        nn.utils.parameters_to_vector(model.parameters()).detach().numpy(),
        vec.detach().numpy() * 2,
        rtol=1e-6,
    )
    with pytest.raises(tg.ShapeError, match="expected \\(12,\\)"):
        nn.utils.vector_to_parameters(tg.zeros(5, device=device), model.parameters())


def test_count_parameters(device):
    model = nn.Sequential(nn.Linear(3, 4, device=device), nn.Linear(4, 2, device=device))
    assert nn.utils.count_parameters(model) == 3 * 4 + 4 + 4 * 2 + 2
    model[0].requires_grad_(False)
    assert nn.utils.count_parameters(model) == 4 * 2 + 2
    assert nn.utils.count_parameters(model, trainable_only=False) == 26


def test_clip_grad_norm_of_float16_and_0d_grads(device):
    if tg.float16 not in tg.get_backend(device).dtypes:
        pytest.skip(f"{device} has no float16")
    big = nn.Parameter(tg.zeros(300, dtype=tg.float16, device=device))
    big.grad = tg.full((300,), 100.0, dtype=tg.float16, device=device)  # squares overflow f16
    scalar = nn.Parameter(tg.zeros((), device=device))
    scalar.grad = tg.tensor(3.0, device=device)
    total = nn.utils.clip_grad_norm_([big, scalar], max_norm=1.0)
    want = math.sqrt(300 * 100.0**2 + 9.0)
    assert total.dtype == tg.float32
    np.testing.assert_allclose(total.item(), want, rtol=1e-5)
    np.testing.assert_allclose(scalar.grad.item(), 3.0 / want, rtol=1e-5)
