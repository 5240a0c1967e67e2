"""optim.swa_utils: AveragedModel (SWA mean, EMA, buffers), SWALR and update_bn, checked
against averages computed by hand with NumPy."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygpt as tg
from tinygpt import nn, optim
from tinygpt.optim import swa_utils as swa

# the weights a model takes in turn; averaged models fold them in one by one
SNAPSHOTS = [np.array([[1.0, -2.0], [0.5, 4.0]]) * k for k in (1.0, 3.0, -2.0, 0.5)]


def _model(device):
    model = nn.Linear(2, 2, bias=False).to(device)
    return model


def _feed(avg, model, device):
    for w in SNAPSHOTS:
        with tg.no_grad():
            model.weight.copy_(tg.tensor(w, dtype=tg.float32, device=device))
        avg.update_parameters(model)


def test_swa_mean(device):
    model = _model(device)
    avg = swa.AveragedModel(model)
    _feed(avg, model, device)
    np.testing.assert_allclose(avg.module.weight.tolist(), np.mean(SNAPSHOTS, axis=0), rtol=1e-6)
    assert int(avg.n_averaged.item()) == 4
    x = tg.ones(1, 2, device=device)
    np.testing.assert_allclose(avg(x).tolist(), avg.module(x).tolist())  # runs the copy


@pytest.mark.parametrize("multi", [False, True])
def test_ema(device, multi):
    model = _model(device)
    if multi:
        avg = swa.AveragedModel(model, multi_avg_fn=swa.get_ema_multi_avg_fn(0.75))
    else:
        avg = swa.AveragedModel(model, avg_fn=swa.get_ema_avg_fn(0.75))
    _feed(avg, model, device)
    want = SNAPSHOTS[0]
    for w in SNAPSHOTS[1:]:
        want = 0.75 * want + 0.25 * w
    np.testing.assert_allclose(avg.module.weight.tolist(), want, rtol=1e-6)


def test_buffers_copied_or_averaged(device):
    model = nn.BatchNorm1d(2).to(device)
    copied = swa.AveragedModel(model)
    averaged = swa.AveragedModel(model, use_buffers=True)
    means = []
    for k in (1.0, 3.0):
        with tg.no_grad():
            model.running_mean.fill_(k)
        means.append(k)
        copied.update_parameters(model)
        averaged.update_parameters(model)
    assert copied.module.running_mean.tolist() == [3.0, 3.0]  # follows the model
    assert averaged.module.running_mean.tolist() == [2.0, 2.0]  # mean of 1 and 3
    with pytest.raises(ValueError):
        swa.AveragedModel(
            model, avg_fn=swa.get_swa_avg_fn(), multi_avg_fn=swa.get_swa_multi_avg_fn()
        )


def test_update_bn_recomputes_statistics(device):
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2, momentum=0.3)).to(device)
    model.eval()
    x = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.0], [2.0, 4.0]], dtype=np.float32)
    loader = [(tg.tensor(x[:2], device=device), 0), (tg.tensor(x[2:], device=device), 1)]
    swa.update_bn(loader, model)
    w = np.array(model[0].weight.tolist())
    b = np.array(model[0].bias.tolist())
    h = x @ w.T + b
    batches = [h[:2], h[2:]]
    want_mean = np.mean([hb.mean(0) for hb in batches], axis=0)  # a plain average of batches
    want_var = np.mean([hb.var(0, ddof=1) for hb in batches], axis=0)
    bn = model[1]
    np.testing.assert_allclose(bn.running_mean.tolist(), want_mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.tolist(), want_var, rtol=1e-5)
    assert bn.momentum == 0.3 and not model.training  # both restored


@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_swalr(strategy):
    p = tg.zeros(1, requires_grad=True)
    opt = optim.SGD([p], lr=1.0)
    sched = swa.SWALR(opt, swa_lr=0.2, anneal_epochs=4, anneal_strategy=strategy)
    got = [opt.param_groups[0]["lr"]]
    for _ in range(6):
        sched.step()
        got.append(opt.param_groups[0]["lr"])
    for t, lr in enumerate(got):
        frac = min(1.0, t / 4)
        a = frac if strategy == "linear" else (1 - math.cos(math.pi * frac)) / 2
        assert math.isclose(lr, 0.2 * a + 1.0 * (1 - a), rel_tol=1e-12), t
    with pytest.raises(ValueError):
        swa.SWALR(opt, swa_lr=0.1, anneal_strategy="step")


def test_swalr_without_annealing_jumps():
    opt = optim.SGD([tg.zeros(1, requires_grad=True)], lr=1.0)
    swa.SWALR(opt, swa_lr=0.3, anneal_epochs=0)
    assert opt.param_groups[0]["lr"] == 0.3
