"""The PyTorch-parity losses: each against a direct NumPy formula for every reduction,
backward vs float64 finite differences on every backend, and the module forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygpt as tg
import tinygpt.nn.functional as F
from tinygpt import nn

RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 5))
Y = RNG.standard_normal((4, 5))
Z = RNG.standard_normal((4, 5))
COUNTS = RNG.integers(0, 5, (4, 5)).astype(np.float64)
VAR = RNG.uniform(0.2, 2.0, (4, 5))
SIGN = np.array([1.0, -1.0, -1.0, 1.0])
SIGN5 = np.where(RNG.standard_normal((4, 5)) > 0, 1.0, -1.0)
LABELS = RNG.integers(0, 2, (4, 5)).astype(np.float64)
CLASSES = np.array([0, 3, 4, 1])
WEIGHT = np.array([0.5, 1.0, 2.0, 1.5, 0.7])
MULTI = np.array([[3, 0, -1, 1, 2], [1, -1, 0, 0, 0], [0, 1, 2, 3, 4], [4, 4, -1, 0, 0]])


def softplus(v):
    return np.logaddexp(0.0, v)


def stirling(c):
    safe = np.maximum(c, 1.0)
    return np.where(c > 1, safe * np.log(safe) - safe + 0.5 * np.log(2 * math.pi * safe), 0.0)


def np_multi_margin(x, y, p=1, margin=1.0, w=None):
    out = np.zeros(len(y))
    for n, cls in enumerate(y):
        for i in range(x.shape[1]):
            if i != cls:
                h = max(0.0, margin - x[n, cls] + x[n, i]) ** p
                out[n] += h * (1.0 if w is None else w[cls])
    return out / x.shape[1]


def np_multilabel_margin(x, t):
    out = np.zeros(len(x))
    for n in range(len(x)):
        targets = []
        for v in t[n]:
            if v < 0:
                break
            targets.append(v)
        for j in targets:
            for i in range(x.shape[1]):
                if i not in targets:
                    out[n] += max(0.0, 1.0 - (x[n, j] - x[n, i]))
    return out / x.shape[1]


def np_cos(a, b):
    return (a * b).sum(1) / np.sqrt(((a * a).sum(1) + 1e-12) * ((b * b).sum(1) + 1e-12))


def dist(a, b, p=2.0):
    return np.linalg.norm(a - b + 1e-6, ord=p, axis=-1)


# name, call(F, tensor maker), per-element NumPy loss, which inputs get finite differences
CASES = [
    ("poisson", lambda f, m, r: f.poisson_nll_loss(m(X), m(COUNTS), reduction=r),
     np.exp(X) - COUNTS * X),
    ("poisson full", lambda f, m, r: f.poisson_nll_loss(
        m(np.abs(X)), m(COUNTS), log_input=False, full=True, reduction=r),
     np.abs(X) - COUNTS * np.log(np.abs(X) + 1e-8) + stirling(COUNTS)),
    ("gaussian", lambda f, m, r: f.gaussian_nll_loss(m(X), m(Y), m(VAR), reduction=r),
     0.5 * (np.log(VAR) + (X - Y) ** 2 / VAR)),
    ("gaussian per-sample var", lambda f, m, r: f.gaussian_nll_loss(
        m(X), m(Y), m(VAR[:, :1]), full=True, reduction=r),
     0.5 * (np.log(VAR[:, :1]) + (X - Y) ** 2 / VAR[:, :1]) + 0.5 * math.log(2 * math.pi)),
    ("margin ranking", lambda f, m, r: f.margin_ranking_loss(
        m(X[:, 0]), m(Y[:, 0]), m(SIGN), margin=0.3, reduction=r),
     np.maximum(0, -SIGN * (X[:, 0] - Y[:, 0]) + 0.3)),
    ("hinge embedding", lambda f, m, r: f.hinge_embedding_loss(m(X), m(SIGN5), 0.5, reduction=r),
     np.where(SIGN5 == 1, X, np.maximum(0, 0.5 - X))),
    ("cosine embedding", lambda f, m, r: f.cosine_embedding_loss(
        m(X), m(Y), m(SIGN), margin=-0.2, reduction=r),
     np.where(SIGN == 1, 1 - np_cos(X, Y), np.maximum(0, np_cos(X, Y) + 0.2))),
    ("soft margin", lambda f, m, r: f.soft_margin_loss(m(X), m(SIGN5), reduction=r),
     softplus(-SIGN5 * X)),
    ("multilabel soft margin", lambda f, m, r: f.multilabel_soft_margin_loss(
        m(X), m(LABELS), m(WEIGHT), reduction=r),
     (WEIGHT * (LABELS * softplus(-X) + (1 - LABELS) * softplus(X))).mean(1)),
    ("multi margin", lambda f, m, r: f.multi_margin_loss(m(X), m(CLASSES), reduction=r),
     np_multi_margin(X, CLASSES)),
    ("multi margin p2", lambda f, m, r: f.multi_margin_loss(
        m(X), m(CLASSES), p=2, margin=0.7, weight=m(WEIGHT), reduction=r),
     np_multi_margin(X, CLASSES, 2, 0.7, WEIGHT)),
    ("multilabel margin", lambda f, m, r: f.multilabel_margin_loss(m(X), m(MULTI), reduction=r),
     np_multilabel_margin(X, MULTI)),
    ("triplet", lambda f, m, r: f.triplet_margin_loss(m(X), m(Y), m(Z), margin=2.0, reduction=r),
     np.maximum(0, 2.0 + dist(X, Y) - dist(X, Z))),
    ("triplet swap p1", lambda f, m, r: f.triplet_margin_loss(
        m(X), m(Y), m(Z), margin=2.0, p=1, swap=True, reduction=r),
     np.maximum(0, 2.0 + dist(X, Y, 1) - np.minimum(dist(X, Z, 1), dist(Y, Z, 1)))),
    ("triplet with distance", lambda f, m, r: f.triplet_margin_with_distance_loss(
        m(X), m(Y), m(Z), distance_function=lambda a, b: ((a - b) ** 2).sum(-1), reduction=r),
     np.maximum(0, 1.0 + ((X - Y) ** 2).sum(-1) - ((X - Z) ** 2).sum(-1))),
]  # fmt: skip


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name, call, want", CASES, ids=[c[0] for c in CASES])
def test_loss_matches_numpy(device, name, call, want, reduction):
    def make(a):
        return tg.tensor(a, device=device)

    got = call(F, make, reduction).numpy()
    expected = {"mean": want.mean(), "sum": want.sum(), "none": want}[reduction]
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


# losses whose first input gets a finite-difference check (targets stay constant)
GRAD_CASES = [c for c in CASES if c[0] not in ("poisson full",)]


@pytest.mark.parametrize("name, call, want", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_loss_backward_matches_finite_differences(device, name, call, want):
    first = {}

    def make(a):
        # the first float input (X or |X|) is the one differentiated
        out = tg.tensor(a, device=device)
        if not first and out.dtype == tg.float64:
            first["x"] = out.requires_grad_()
        return out

    call(F, make, "sum")
    x = first["x"]
    others_fixed = x.detach().numpy()

    def fn(v):
        seen = {}

        def swap(a):
            if not seen and np.array_equal(np.asarray(a, dtype=np.float64), others_fixed):
                seen["done"] = True
                return v
            return tg.tensor(a, device=device)

        return call(F, swap, "sum")

    assert tg.autograd.gradcheck(fn, [x])


def test_gaussian_nll_var_gets_gradient_and_rejects_negative(device):
    v = tg.tensor(VAR, device=device, requires_grad=True)
    x, y = tg.tensor(X, device=device), tg.tensor(Y, device=device)
    assert tg.autograd.gradcheck(lambda w: F.gaussian_nll_loss(x, y, w), [v])
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(x, y, -v.detach())
    with pytest.raises(tg.ShapeError, match="var"):
        F.gaussian_nll_loss(x, y, tg.ones(3, device=device))


def test_legacy_size_average_and_reduce_flags(device):
    x, s = tg.tensor(X[:, 0], device=device), tg.tensor(SIGN, device=device)
    per = F.soft_margin_loss(x, s, reduction="none").numpy()
    assert np.isclose(F.soft_margin_loss(x, s, size_average=False).item(), per.sum())
    assert F.soft_margin_loss(x, s, reduce=False).shape == (4,)
    assert nn.SoftMarginLoss(size_average=False).reduction == "sum"


MODULES = [
    (nn.PoissonNLLLoss(), lambda m: (m(X), m(COUNTS)), lambda a, b: F.poisson_nll_loss(a, b)),
    (nn.GaussianNLLLoss(full=True), lambda m: (m(X), m(Y), m(VAR)),
     lambda a, b, c: F.gaussian_nll_loss(a, b, c, full=True)),
    (nn.MarginRankingLoss(0.1), lambda m: (m(X[:, 0]), m(Y[:, 0]), m(SIGN)),
     lambda a, b, c: F.margin_ranking_loss(a, b, c, 0.1)),
    (nn.HingeEmbeddingLoss(), lambda m: (m(X), m(SIGN5)), F.hinge_embedding_loss),
    (nn.CosineEmbeddingLoss(), lambda m: (m(X), m(Y), m(SIGN)), F.cosine_embedding_loss),
    (nn.SoftMarginLoss(reduction="sum"), lambda m: (m(X), m(SIGN5)),
     lambda a, b: F.soft_margin_loss(a, b, reduction="sum")),
    (nn.MultiLabelSoftMarginLoss(), lambda m: (m(X), m(LABELS)), F.multilabel_soft_margin_loss),
    (nn.MultiMarginLoss(), lambda m: (m(X), m(CLASSES)), F.multi_margin_loss),
    (nn.MultiLabelMarginLoss(), lambda m: (m(X), m(MULTI)), F.multilabel_margin_loss),
    (nn.TripletMarginLoss(), lambda m: (m(X), m(Y), m(Z)), F.triplet_margin_loss),
    (nn.TripletMarginWithDistanceLoss(), lambda m: (m(X), m(Y), m(Z)),
     F.triplet_margin_with_distance_loss),
]  # fmt: skip


@pytest.mark.parametrize("module, args, fn", MODULES, ids=[type(m[0]).__name__ for m in MODULES])
def test_loss_modules_match_functional(device, module, args, fn):
    def make(a):
        return tg.tensor(a, device=device)

    inputs = args(make)
    np.testing.assert_allclose(module(*inputs).numpy(), fn(*inputs).numpy())
    assert list(module.state_dict()) == []


def test_weighted_loss_modules_keep_weight_as_a_buffer():
    weight = tg.tensor(WEIGHT)
    for module in (nn.MultiMarginLoss(weight=weight), nn.MultiLabelSoftMarginLoss(weight)):
        assert list(module.state_dict()) == ["weight"]


def test_unbatched_margin_losses(device):
    x = tg.tensor(X[0], device=device)
    got = F.multi_margin_loss(x, tg.tensor(2, device=device))
    assert got.shape == () and np.isclose(got.item(), np_multi_margin(X[:1], [2])[0])
    got = F.multilabel_margin_loss(x, tg.tensor(MULTI[0], device=device))
    assert np.isclose(got.item(), np_multilabel_margin(X[:1], MULTI[:1])[0])
    pair = F.cosine_embedding_loss(x, tg.tensor(Y[0], device=device), tg.tensor(1.0, device=device))
    assert np.isclose(pair.item(), 1 - np_cos(X[:1], Y[:1])[0])


LOSS_ERRORS = [
    ("multi margin p", lambda: F.multi_margin_loss(tg.ones(2, 3), tg.tensor([0, 1]), p=3),
     ValueError, "p = 1"),
    ("margin ranking shapes", lambda: F.margin_ranking_loss(tg.ones(2), tg.ones(3), tg.ones(2)),
     tg.ShapeError, "same shape"),
    ("reduction", lambda: F.soft_margin_loss(tg.ones(2), tg.ones(2), reduction="avg"),
     ValueError, "reduction"),
    ("triplet margin", lambda: nn.TripletMarginLoss(margin=0.0), ValueError, "margin"),
]  # fmt: skip


@pytest.mark.parametrize("name, call, error, text", LOSS_ERRORS, ids=[e[0] for e in LOSS_ERRORS])
def test_loss_errors(name, call, error, text):
    with pytest.raises(error, match=text):
        call()


def np_log_softmax(x, axis):
    shifted = x - x.max(axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis, keepdims=True))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_weighted_cross_entropy_matches_numpy(device, reduction, smoothing):
    target = np.array([0, 4, 2, -100])
    lp = np_log_softmax(X, 1)
    valid = target != -100
    safe = np.where(valid, target, 0)
    w = WEIGHT[safe] * valid
    loss = -lp[np.arange(4), safe] * w
    loss = loss * (1 - smoothing) + smoothing / 5 * np.where(valid, -(lp * WEIGHT).sum(1), 0)
    want = {"mean": loss.sum() / w.sum(), "sum": loss.sum(), "none": loss}[reduction]
    got = F.cross_entropy(tg.tensor(X, device=device), tg.tensor(target, device=device),
                          tg.tensor(WEIGHT, device=device), reduction=reduction,
                          label_smoothing=smoothing)  # fmt: skip
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10)
    layer = nn.CrossEntropyLoss(tg.tensor(WEIGHT, device=device), reduction=reduction,
                                label_smoothing=smoothing)  # fmt: skip
    assert list(layer.state_dict()) == ["weight"]
    np.testing.assert_allclose(
        layer(tg.tensor(X, device=device), tg.tensor(target, device=device)).numpy(), want
    )
    nll = F.nll_loss(tg.tensor(lp, device=device), tg.tensor(target, device=device),
                     tg.tensor(WEIGHT, device=device), reduction=reduction)  # fmt: skip
    plain = -lp[np.arange(4), safe] * w
    want_nll = {"mean": plain.sum() / w.sum(), "sum": plain.sum(), "none": plain}[reduction]
    np.testing.assert_allclose(nll.numpy(), want_nll, rtol=1e-10)


def test_cross_entropy_with_probability_targets(device):
    probs = np.exp(Y) / np.exp(Y).sum(1, keepdims=True)
    lp = np_log_softmax(X, 1)
    got = F.cross_entropy(tg.tensor(X, device=device), tg.tensor(probs, device=device),
                          tg.tensor(WEIGHT, device=device))  # fmt: skip
    assert np.isclose(got.item(), -(probs * lp * WEIGHT).sum(1).mean())
    x = tg.tensor(X, device=device, requires_grad=True)
    p = tg.tensor(probs, device=device)
    assert tg.autograd.gradcheck(lambda v: F.cross_entropy(v, p, label_smoothing=0.1), [x])
    w = tg.tensor(WEIGHT, device=device)
    t = tg.tensor(np.array([0, 4, 2, 1]), device=device)
    assert tg.autograd.gradcheck(lambda v: F.cross_entropy(v, t, w, label_smoothing=0.1), [x])


def test_linear_cross_entropy_is_linear_then_cross_entropy(device):
    x = tg.tensor(X, device=device, requires_grad=True)
    w = tg.tensor(RNG.standard_normal((3, 2, 5)), device=device, requires_grad=True)
    b = tg.tensor(RNG.standard_normal((3, 2)), device=device)
    target = tg.tensor(np.array([[0, 2], [1, 1], [2, 0], [1, 2]]), device=device)
    got = F.linear_cross_entropy(x, w, target, linear_bias=b, label_smoothing=0.1)
    logits = (X @ w.detach().numpy().reshape(6, 5).T).reshape(4, 3, 2) + b.numpy()
    lp = np_log_softmax(logits, 1)
    picked = -np.take_along_axis(lp, target.numpy()[:, None], 1)[:, 0]
    want = (0.9 * picked + 0.1 * -lp.mean(1)).mean()
    assert np.isclose(got.item(), want, rtol=1e-10)
    fn = lambda v, u: F.linear_cross_entropy(v, u, target, linear_bias=b)  # noqa: E731
    assert tg.autograd.gradcheck(fn, [x, w])
    head = nn.LinearCrossEntropyLoss(5, 3, out_features=(2,), bias=True)
    assert list(head.state_dict()) == ["linear.weight", "linear.bias"]
    assert head.linear.weight.shape == (6, 5)
    with pytest.raises(tg.ShapeError, match="in_features"):
        F.linear_cross_entropy(x, tg.ones(3, 4, device=device), target[:, 0])
