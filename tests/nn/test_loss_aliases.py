"""F.l1_loss, nn.L1Loss and nn.NLLLoss (issue 14's idiom sweep): forward against NumPy,
backward against float64 finite differences, every backend."""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg
import tinygpt.nn.functional as F
from tinygpt import nn
from tinygpt.errors import ShapeError

RNG = np.random.default_rng(11)
PRED = RNG.normal(size=(4, 3)).astype(np.float32)
TARGET = RNG.normal(size=(4, 3)).astype(np.float32)
LOGITS = RNG.normal(size=(5, 4)).astype(np.float32)
LABELS = np.array([0, 3, 1, 2, 3])


@pytest.mark.parametrize(
    "reduction, reference",
    [("mean", np.mean), ("sum", np.sum), ("none", lambda v: v)],
)
def test_l1_loss_matches_numpy(device, reduction, reference):
    pred, target = tg.tensor(PRED, device=device), tg.tensor(TARGET, device=device)
    want = reference(np.abs(PRED.astype(np.float64) - TARGET))
    np.testing.assert_allclose(F.l1_loss(pred, target, reduction).numpy(), want, rtol=1e-6)
    np.testing.assert_allclose(nn.L1Loss(reduction)(pred, target).numpy(), want, rtol=1e-6)


def test_l1_loss_backward_and_errors(device):
    pred = tg.tensor(PRED, dtype=tg.float64, device=device, requires_grad=True)
    target = tg.tensor(TARGET, dtype=tg.float64, device=device)
    assert tg.autograd.gradcheck(lambda p: F.l1_loss(p, target), [pred])
    with pytest.raises(ShapeError, match=r"l1_loss: input \(4, 3\) and target \(3,\)"):
        F.l1_loss(pred, target[0])
    with pytest.raises(ValueError, match="l1_loss: reduction must be one of"):
        F.l1_loss(pred, target, reduction="max")
    assert "reduction='sum'" in repr(nn.L1Loss("sum"))


@pytest.mark.parametrize("ignore_index", [-100, 3])
def test_nll_loss_module_matches_numpy(device, ignore_index):
    log_probs = tg.tensor(LOGITS, device=device).log_softmax(-1)
    labels = tg.tensor(LABELS, device=device)
    picked = -log_probs.numpy()[np.arange(5), LABELS]
    keep = LABELS != ignore_index
    want = picked[keep].mean()
    got = nn.NLLLoss(ignore_index=ignore_index)(log_probs, labels)
    np.testing.assert_allclose(got.item(), want, rtol=1e-6)
    summed = nn.NLLLoss(reduction="sum")(log_probs, labels)
    np.testing.assert_allclose(summed.item(), picked.sum(), rtol=1e-6)
    assert "ignore_index=" in repr(nn.NLLLoss())


def test_nll_loss_module_backward(device):
    logits = tg.tensor(LOGITS, dtype=tg.float64, device=device, requires_grad=True)
    labels = tg.tensor(LABELS, device=device)
    loss_fn = nn.NLLLoss()
    assert tg.autograd.gradcheck(lambda x: loss_fn(x.log_softmax(-1), labels), [logits])
