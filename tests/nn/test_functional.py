"""nn.functional: losses (vs NumPy formulas and, where installed, torch), stability at extreme
logits, ignore_index, label smoothing, reductions, and bad-input errors."""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg
import tinygpt.nn.functional as F


def _t(array, device, requires_grad=False):
    return tg.tensor(np.asarray(array), device=device, requires_grad=requires_grad)


def np_log_softmax(x, axis=-1):
    shifted = x - x.max(axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis, keepdims=True))


def np_cross_entropy(logits, targets, ignore_index=-100, smoothing=0.0, reduction="mean"):
    """PyTorch's formula: (1 - e) * nll + e * mean_c(-log p_c), ignored rows dropped."""
    logp = np_log_softmax(logits)
    valid = targets != ignore_index
    safe = np.where(valid, targets, 0)
    nll = -logp[np.arange(len(targets)), safe]
    smooth = -logp.mean(-1)
    loss = np.where(valid, (1 - smoothing) * nll + smoothing * smooth, 0.0)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / valid.sum()


# ------------------------------------------------------------------ cross-entropy
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_matches_formula(device, path, reduction, smoothing):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(7, 5)).astype(np.float32)
    targets = np.array([0, 4, -100, 2, 2, 1, -100])
    got = F.cross_entropy(
        _t(logits, device),
        _t(targets, device),
        reduction=reduction,
        label_smoothing=smoothing,
    )
    want = np_cross_entropy(logits.astype(np.float64), targets, -100, smoothing, reduction)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6)


@pytest.mark.oracle
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_matches_torch(device, path, smoothing):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(6, 4))
    targets = np.array([1, 3, 7, 0, 7, 2])
    x = _t(logits, device, requires_grad=True)
    loss = F.cross_entropy(x, _t(targets, device), ignore_index=7, label_smoothing=smoothing)
    loss.backward()
    xt = torch.tensor(logits, requires_grad=True)
    want = torch.nn.functional.cross_entropy(
        xt, torch.tensor(targets), ignore_index=7, label_smoothing=smoothing
    )
    want.backward()
    np.testing.assert_allclose(loss.item(), want.item(), rtol=1e-10)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_gradcheck(device, path, smoothing):
    rng = np.random.default_rng(2)
    logits = _t(rng.normal(size=(4, 3)), device, requires_grad=True)
    targets = _t(np.array([2, -100, 0, 1]), device)

    def fn(z):
        return F.cross_entropy(z, targets, label_smoothing=smoothing)

    assert tg.autograd.gradcheck(fn, [logits])


def test_cross_entropy_class_dim_is_dim_1_like_torch(device, path):
    """(N, C, d) logits with (N, d) targets, and (C,) logits with a 0-d target."""
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(2, 5, 3)).astype(np.float32)
    targets = rng.integers(0, 5, size=(2, 3))
    got = F.cross_entropy(_t(logits, device), _t(targets, device), reduction="none")
    flat = logits.transpose(0, 2, 1).reshape(-1, 5)
    want = np_cross_entropy(flat, targets.reshape(-1), reduction="none").reshape(2, 3)
    assert got.shape == (2, 3)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5)
    single = F.cross_entropy(_t(logits[0, :, 0], device), _t(np.array(targets[0, 0]), device))
    np.testing.assert_allclose(single.item(), want[0, 0], rtol=1e-5)


def test_cross_entropy_gpt_shapes(device, path):
    """nanoGPT's call: (B, T, C) logits viewed as (B*T, C), (B, T) targets viewed as (B*T,)."""
    logits = tg.randn(2, 3, 11, device=device)
    targets = tg.randint(0, 11, (2, 3), device=device)
    loss = F.cross_entropy(logits.view(-1, 11), targets.view(-1))
    assert loss.shape == ()


@pytest.mark.parametrize("big", [1e4, -1e4])
def test_cross_entropy_and_softmax_are_stable(device, path, big):
    logits = _t(np.array([[big, 0.0, -big], [0.0, big, big]], dtype=np.float32), device)
    loss = F.cross_entropy(logits, _t(np.array([0, 1]), device), reduction="none").numpy()
    assert np.all(np.isfinite(loss))
    expected = [0.0, np.log(2)] if big > 0 else [2e4, 1e4]
    # NOTE: float32 spacing near 1e4 is ~1e-3, so lse = 1e4 + log(2) is only that exact
    np.testing.assert_allclose(loss, expected, rtol=1e-5, atol=2e-3)
    probs = F.softmax(logits, dim=-1).numpy()
    assert np.all(np.isfinite(probs))
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-6)
    assert np.all(np.isfinite(F.log_softmax(logits, dim=-1).numpy()))


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_cross_entropy_all_ignored_is_nan_like_torch(device, path):
    logits = tg.zeros(2, 3, device=device)
    loss = F.cross_entropy(logits, _t(np.array([-100, -100]), device))
    assert np.isnan(loss.item())


def test_cross_entropy_bad_inputs(device):
    logits = tg.zeros(3, 4, device=device)
    with pytest.raises(
        tg.DTypeError, match="cross_entropy: targets must be class indices.*float32"
    ):
        F.cross_entropy(logits, tg.zeros(3, device=device))
    with pytest.raises(IndexError, match="target 4 .* out of range for 4 classes"):
        F.cross_entropy(logits, _t(np.array([0, 4, 1]), device))
    with pytest.raises(IndexError, match="target -3"):
        F.cross_entropy(logits, _t(np.array([0, -3, 1]), device))
    with pytest.raises(tg.ShapeError, match=r"logits \(3, 4\) need targets of shape \(3,\)"):
        F.cross_entropy(logits, _t(np.array([0, 1]), device))
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.cross_entropy(logits, _t(np.array([0, 1, 2]), device), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        F.cross_entropy(logits, _t(np.array([0, 1, 2]), device), label_smoothing=1.5)


def test_nll_loss_after_log_softmax_equals_cross_entropy(device):
    rng = np.random.default_rng(4)
    logits = _t(rng.normal(size=(5, 3)), device)
    targets = _t(np.array([0, 2, -100, 1, 1]), device)
    nll = F.nll_loss(F.log_softmax(logits, -1), targets)
    np.testing.assert_allclose(nll.item(), F.cross_entropy(logits, targets).item(), rtol=1e-10)


# --------------------------------------------------------------------- other losses
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss(device, reduction):
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(2, 3, 4))
    got = F.mse_loss(_t(a, device), _t(b, device), reduction=reduction).numpy()
    sq = (a - b) ** 2
    want = {"mean": sq.mean(), "sum": sq.sum(), "none": sq}[reduction]
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_mse_loss_gradcheck_and_shape_error(device):
    rng = np.random.default_rng(6)
    a = _t(rng.normal(size=(3, 2)), device, True)
    b = _t(rng.normal(size=(3, 2)), device, True)
    assert tg.autograd.gradcheck(F.mse_loss, [a, b])
    with pytest.raises(tg.ShapeError, match=r"mse_loss: input \(3, 2\) and target \(2,\)"):
        F.mse_loss(a, b[0])


def np_bce_with_logits(x, y, pos_weight=1.0):
    log_sig = -np.logaddexp(0, -x)
    log_one_minus = -np.logaddexp(0, x)
    return -(pos_weight * y * log_sig + (1 - y) * log_one_minus)


@pytest.mark.parametrize("pos_weight", [None, 2.5])
def test_bce_with_logits_is_stable_and_correct(device, pos_weight):
    x = np.array([-1e4, -30.0, -1.0, 0.0, 2.0, 30.0, 1e4])
    y = np.array([1.0, 0.0, 1.0, 0.5, 0.0, 1.0, 0.0])
    pw = None if pos_weight is None else _t(np.full(7, pos_weight), device)
    got = F.binary_cross_entropy_with_logits(
        _t(x, device), _t(y, device), reduction="none", pos_weight=pw
    )
    want = np_bce_with_logits(x, y, 1.0 if pos_weight is None else pos_weight)
    assert np.all(np.isfinite(got.numpy()))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)


@pytest.mark.oracle
def test_bce_with_logits_gradcheck_and_torch(device):
    rng = np.random.default_rng(7)
    x = _t(rng.normal(size=(4, 3)), device, True)
    y = _t(rng.uniform(size=(4, 3)), device)
    pw = _t(np.array([0.5, 1.0, 3.0]), device)
    assert tg.autograd.gradcheck(lambda z: F.binary_cross_entropy_with_logits(z, y), [x])
    assert tg.autograd.gradcheck(
        lambda z: F.binary_cross_entropy_with_logits(z, y, pos_weight=pw), [x]
    )
    torch = pytest.importorskip("torch")
    want = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.tensor(x.numpy()), torch.tensor(y.numpy()), pos_weight=torch.tensor(pw.numpy())
    )
    got = F.binary_cross_entropy_with_logits(x, y, pos_weight=pw)
    np.testing.assert_allclose(got.item(), want.item(), rtol=1e-10)


# ------------------------------------------------------------ linear, embedding
def test_linear_reads_the_transposed_weight_in_place(device):
    rng = np.random.default_rng(8)
    x, w, b = rng.normal(size=(2, 3, 4)), rng.normal(size=(5, 4)), rng.normal(size=5)
    got = F.linear(_t(x, device), _t(w, device), _t(b, device))
    np.testing.assert_allclose(got.numpy(), x @ w.T + b, rtol=1e-10)
    assert tg.autograd.gradcheck(F.linear, [_t(a, device, True) for a in (x, w, b)])


@pytest.mark.parametrize(
    "x_shape, transposed", [((4,), False), ((3, 4), True), ((2, 3, 4), False), ((0, 4), False)]
)
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_is_one_node_with_the_composed_gradients(device, x_shape, transposed, with_bias):
    rng = np.random.default_rng(10)
    x_np = rng.normal(size=x_shape[::-1] if transposed else x_shape)
    w_np, b_np = rng.normal(size=(5, 4)), rng.normal(size=5)
    x = _t(x_np, device, True)
    w, b = _t(w_np, device, True), _t(b_np, device, True) if with_bias else None
    xin = x.transpose(0, 1) if transposed else x  # a strided input: reshaped by a copy
    out = F.linear(xin, w, b)
    assert type(out.grad_fn).__name__ == "Linear"  # one node, not five
    x_ref = x_np.T if transposed else x_np
    want = x_ref @ w_np.T + (b_np if with_bias else 0)
    np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-10, atol=1e-12)
    inputs = [x, w] + ([b] if with_bias else [])

    def fn(*args):
        xi = args[0].transpose(0, 1) if transposed else args[0]
        return F.linear(xi, *args[1:])

    assert tg.autograd.gradcheck(fn, inputs)


def test_linear_gradient_for_the_weight_only(device):
    x = _t(np.ones((3, 4)), device)
    w = _t(np.ones((2, 4)), device, True)
    F.linear(x, w, _t(np.zeros(2), device)).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.full((2, 4), 3.0))
    assert x.grad is None


def test_linear_with_mixed_dtypes_promotes_like_matmul(device):
    x = tg.ones(2, 3, dtype=tg.float32, device=device)
    w = tg.ones(4, 3, dtype=tg.float64, device=device)
    out = F.linear(x, w, tg.zeros(4, dtype=tg.float64, device=device))
    assert out.dtype == tg.float64 and out.shape == (2, 4)


def test_embedding_padding_idx_blocks_gradient(device):
    w = tg.randn(4, 2, dtype=tg.float64, device=device, requires_grad=True)
    out = F.embedding(tg.tensor([1, 2, 1], device=device), w, padding_idx=1)
    np.testing.assert_array_equal(out.detach().numpy(), w.detach().numpy()[[1, 2, 1]])
    out.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy()[:, 0], [0, 0, 1, 0])


# ---------------------------------------------------------------- normalization
@pytest.mark.oracle
def test_layer_norm_over_two_dims_matches_torch(device, path):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    x, w, b = rng.normal(size=(2, 3, 4)), rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    got = F.layer_norm(_t(x, device), (3, 4), _t(w, device), _t(b, device))
    want = torch.nn.functional.layer_norm(
        *(torch.tensor(a) for a in (x,)), (3, 4), torch.tensor(w), torch.tensor(b)
    )
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.oracle
def test_rms_norm_matches_torch(device):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(10)
    x, w = rng.normal(size=(3, 5)), rng.normal(size=5)
    got = F.rms_norm(_t(x, device), (5,), _t(w, device), eps=1e-6)
    want = torch.nn.functional.rms_norm(torch.tensor(x), (5,), torch.tensor(w), eps=1e-6)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10)


def test_batch_norm_functional_eval_and_errors(device):
    x = tg.randn(4, 3, device=device)
    mean = tg.zeros(3, device=device)
    var = tg.ones(3, device=device)
    y = F.batch_norm(x, mean, var, training=False, eps=0.0)
    np.testing.assert_allclose(y.numpy(), x.numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="needs the running stats"):
        F.batch_norm(x, None, None, training=False)
    with pytest.raises(tg.ShapeError, match="more than 1 value per channel"):
        F.batch_norm(tg.zeros(1, 3, device=device), None, None, training=True)


# --------------------------------------------------------------- activations
@pytest.mark.parametrize(
    "fn,ref",
    [
        (F.relu, lambda x: np.maximum(x, 0)),
        (F.tanh, np.tanh),
        (F.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
        (F.silu, lambda x: x / (1 + np.exp(-x))),
        (lambda x: F.leaky_relu(x, 0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
        (lambda x: F.softmax(x, 0), lambda x: np.exp(np_log_softmax(x, 0))),
        (lambda x: F.log_softmax(x, 1), lambda x: np_log_softmax(x, 1)),
    ],
    ids=["relu", "tanh", "sigmoid", "silu", "leaky_relu", "softmax", "log_softmax"],
)
def test_activations(device, fn, ref):
    x = np.random.default_rng(11).normal(size=(3, 4))
    np.testing.assert_allclose(fn(_t(x, device)).numpy(), ref(x), rtol=1e-10, atol=1e-12)
    assert tg.autograd.gradcheck(fn, [_t(x, device, True)])


def test_dropout_functional(device):
    x = tg.ones(10, device=device)
    assert F.dropout(x, 0.5, training=False) is x
    with pytest.raises(ValueError, match="dropout: p must be in"):
        F.dropout(x, -0.1)
