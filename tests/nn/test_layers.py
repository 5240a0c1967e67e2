"""nn layers, as a table: output shape, forward vs a NumPy reference, backward vs float64 finite
differences; then the few behaviours a table cannot show (dropout, batch-norm modes, errors)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygpt as tg
from tinygpt import nn


def _np(t):
    return t.detach().numpy().astype(np.float64)


def _erf(x):
    return np.vectorize(math.erf)(x)


# --------------------------------------------------------- NumPy references
def ref_linear(m, x):
    out = x @ _np(m.weight).T
    return out if m.bias is None else out + _np(m.bias)


def ref_layer_norm(m, x):
    dims = tuple(range(x.ndim - len(m.normalized_shape), x.ndim))
    y = (x - x.mean(dims, keepdims=True)) / np.sqrt(x.var(dims, keepdims=True) + m.eps)
    if m.weight is not None:
        y = y * _np(m.weight)
    return y if m.bias is None else y + _np(m.bias)


def ref_rms_norm(m, x):
    y = x / np.sqrt((x * x).mean(-1, keepdims=True) + (m.eps or np.finfo(np.float32).eps))
    return y * _np(m.weight)


def ref_batch_norm_train(m, x):
    dims = (0, *range(2, x.ndim))
    view = (1, -1) + (1,) * (x.ndim - 2)
    y = (x - x.mean(dims, keepdims=True)) / np.sqrt(x.var(dims, keepdims=True) + m.eps)
    return y * _np(m.weight).reshape(view) + _np(m.bias).reshape(view)


def ref_gelu(x):
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


def ref_gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def ref_softmax(x, dim=-1):
    e = np.exp(x - x.max(dim, keepdims=True))
    return e / e.sum(dim, keepdims=True)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# (id, make(device), input shape, expected output shape, reference(module, x) or None)
LAYERS = [
    ("linear", lambda d: nn.Linear(3, 4, device=d), (2, 3), (2, 4), ref_linear),
    ("linear_3d", lambda d: nn.Linear(3, 4, device=d), (2, 5, 3), (2, 5, 4), ref_linear),
    ("linear_nobias", lambda d: nn.Linear(3, 2, bias=False, device=d), (4, 3), (4, 2), ref_linear),
    ("identity", lambda d: nn.Identity(), (2, 3), (2, 3), lambda m, x: x),
    ("flatten", lambda d: nn.Flatten(), (2, 3, 4), (2, 12), lambda m, x: x.reshape(2, 12)),
    ("flatten_mid", lambda d: nn.Flatten(0, 1), (2, 3, 4), (6, 4), lambda m, x: x.reshape(6, 4)),
    ("layer_norm", lambda d: nn.LayerNorm(5, device=d), (2, 3, 5), (2, 3, 5), ref_layer_norm),
    (
        "layer_norm_2d",
        lambda d: nn.LayerNorm((3, 4), device=d),
        (2, 3, 4),
        (2, 3, 4),
        ref_layer_norm,
    ),
    (
        "layer_norm_no_affine",
        lambda d: nn.LayerNorm(4, elementwise_affine=False, device=d),
        (3, 4),
        (3, 4),
        ref_layer_norm,
    ),
    (
        "layer_norm_no_bias",
        lambda d: nn.LayerNorm(4, bias=False, device=d),
        (3, 4),
        (3, 4),
        ref_layer_norm,
    ),
    ("rms_norm", lambda d: nn.RMSNorm(4, device=d), (3, 4), (3, 4), ref_rms_norm),
    ("rms_norm_eps", lambda d: nn.RMSNorm(4, eps=1e-3, device=d), (2, 4), (2, 4), ref_rms_norm),
    ("batch_norm_1d", lambda d: nn.BatchNorm1d(3, device=d), (4, 3), (4, 3), ref_batch_norm_train),
    (
        "batch_norm_1d_3d",
        lambda d: nn.BatchNorm1d(3, device=d),
        (2, 3, 5),
        (2, 3, 5),
        ref_batch_norm_train,
    ),
    (
        "batch_norm_2d",
        lambda d: nn.BatchNorm2d(2, device=d),
        (2, 2, 3, 3),
        (2, 2, 3, 3),
        ref_batch_norm_train,
    ),
    ("relu", lambda d: nn.ReLU(), (3, 4), (3, 4), lambda m, x: np.maximum(x, 0)),
    ("gelu", lambda d: nn.GELU(), (3, 4), (3, 4), lambda m, x: ref_gelu(x)),
    ("gelu_tanh", lambda d: nn.GELU("tanh"), (3, 4), (3, 4), lambda m, x: ref_gelu_tanh(x)),
    ("tanh", lambda d: nn.Tanh(), (3, 4), (3, 4), lambda m, x: np.tanh(x)),
    ("sigmoid", lambda d: nn.Sigmoid(), (3, 4), (3, 4), lambda m, x: _sigmoid(x)),
    ("silu", lambda d: nn.SiLU(), (3, 4), (3, 4), lambda m, x: x * _sigmoid(x)),
    (
        "leaky_relu",
        lambda d: nn.LeakyReLU(0.2),
        (3, 4),
        (3, 4),
        lambda m, x: np.where(x > 0, x, 0.2 * x),
    ),
    ("softmax", lambda d: nn.Softmax(dim=1), (3, 4), (3, 4), lambda m, x: ref_softmax(x, 1)),
    ("softmax_0", lambda d: nn.Softmax(dim=0), (3, 4), (3, 4), lambda m, x: ref_softmax(x, 0)),
    (
        "log_softmax",
        lambda d: nn.LogSoftmax(),
        (3, 4),
        (3, 4),
        lambda m, x: np.log(ref_softmax(x)),
    ),
    ("dropout_eval", lambda d: nn.Dropout(0.5).eval(), (3, 4), (3, 4), lambda m, x: x),
    (
        "sequential",
        lambda d: nn.Sequential(nn.Linear(3, 4, device=d), nn.ReLU(), nn.Linear(4, 2, device=d)),
        (5, 3),
        (5, 2),
        lambda m, x: ref_linear(m[2], np.maximum(ref_linear(m[0], x), 0)),
    ),
    (
        "residual",
        lambda d: nn.Residual(nn.Linear(3, 3, device=d)),
        (2, 3),
        (2, 3),
        lambda m, x: x + ref_linear(m.fn, x),
    ),
]
IDS = [row[0] for row in LAYERS]


@pytest.mark.parametrize("name,make,in_shape,out_shape,ref", LAYERS, ids=IDS)
def test_forward_matches_numpy(device, name, make, in_shape, out_shape, ref):
    tg.manual_seed(0)
    module = make(device)
    x = np.random.default_rng(0).normal(size=in_shape).astype(np.float32)
    out = module(tg.tensor(x, device=device))
    assert out.shape == out_shape
    assert out.dtype == tg.float32
    np.testing.assert_allclose(out.numpy(), ref(module, x.astype(np.float64)), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name,make,in_shape,out_shape,ref", LAYERS, ids=IDS)
def test_backward_matches_finite_differences(device, name, make, in_shape, out_shape, ref):
    """Gradients w.r.t. the input and every parameter, in float64."""
    tg.manual_seed(0)
    module = make(device).to(tg.float64)
    params = list(module.parameters())
    x = tg.randn(*in_shape, dtype=tg.float64, device=device, requires_grad=True)
    # gradcheck differentiates w.r.t. its own leaves, so the module runs with copies of its
    # parameters swapped in (see _with_params)
    leaves = [x] + [p.detach().requires_grad_() for p in params]
    assert tg.autograd.gradcheck(_with_params(module, params), leaves, atol=1e-6, rtol=1e-4)


def _with_params(module, params):
    """fn(x, *values) that runs `module` with each Parameter swapped for the given tensor."""

    def fn(x, *values):
        originals = {}
        for owner in module.modules():
            for key, p in list(owner._parameters.items()):
                for q, v in zip(params, values):
                    if p is q:
                        originals[(id(owner), key)] = (owner, key, p)
                        owner._parameters[key] = v
        try:
            return module(x)
        finally:
            for owner, key, p in originals.values():
                owner._parameters[key] = p

    return fn


# --------------------------------------------------------------- default inits
def test_linear_default_init_bounds(device):
    tg.manual_seed(1)
    layer = nn.Linear(16, 64, device=device)
    bound = 1 / math.sqrt(16)
    for p in (layer.weight, layer.bias):
        values = p.numpy()
        assert values.min() >= -bound and values.max() <= bound
        assert values.max() > 0.8 * bound  # spread over the whole range, not stuck at 0
    assert layer.weight.shape == (64, 16) and layer.bias.shape == (64,)


def test_embedding_default_init_and_padding(device):
    tg.manual_seed(2)
    emb = nn.Embedding(200, 50, padding_idx=-1, device=device)
    w = emb.weight.numpy()
    assert emb.padding_idx == 199
    assert np.all(w[199] == 0)
    assert abs(w[:199].mean()) < 0.05 and abs(w[:199].std() - 1) < 0.05
    idx = tg.tensor([[0, 199], [3, 3]], device=device)
    out = emb(idx)
    assert out.shape == (2, 2, 50)
    out.sum().backward()
    grad = emb.weight.grad.numpy()
    assert np.all(grad[199] == 0) and np.all(grad[3] == 2) and np.all(grad[0] == 1)


def test_layer_norm_defaults(device):
    ln = nn.LayerNorm(6, device=device)
    assert ln.weight.tolist() == [1.0] * 6 and ln.bias.tolist() == [0.0] * 6
    assert "LayerNorm((6,), eps=1e-05, elementwise_affine=True)" == repr(ln)


# --------------------------------------------------------------------- dropout
def test_dropout_train_scales_and_zeroes(device):
    tg.manual_seed(3)
    drop = nn.Dropout(0.25)
    y = drop(tg.ones(200, 100, device=device)).numpy()
    kept = y[y != 0]
    np.testing.assert_allclose(kept, 1 / 0.75, rtol=1e-6)
    assert abs((y == 0).mean() - 0.25) < 0.02


def test_dropout_is_seeded(device):
    drop = nn.Dropout(0.5)
    tg.manual_seed(7)
    a = drop(tg.ones(50, device=device)).numpy()
    tg.manual_seed(7)
    b = drop(tg.ones(50, device=device)).numpy()
    np.testing.assert_array_equal(a, b)


def test_dropout_extremes_and_eval(device):
    x = tg.randn(4, 4, device=device)
    assert nn.Dropout(0.0)(x) is x
    assert float(nn.Dropout(1.0)(x).abs().sum()) == 0.0
    assert nn.Dropout(0.9).eval()(x) is x
    with pytest.raises(ValueError, match="p must be in"):
        nn.Dropout(1.5)


# ------------------------------------------------------------------ batch norm
def test_batch_norm_running_stats_follow_pytorch(device):
    rng = np.random.default_rng(4)
    x = rng.normal(2.0, 3.0, size=(8, 3)).astype(np.float32)
    bn = nn.BatchNorm1d(3, momentum=0.1, device=device)
    bn(tg.tensor(x, device=device))
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.9 + 0.1 * x.var(0, ddof=1), rtol=1e-5)
    assert bn.num_batches_tracked.item() == 1
    bn.eval()
    y = bn(tg.tensor(x, device=device)).numpy()
    rm = bn.running_mean.numpy()
    rv = bn.running_var.numpy()
    np.testing.assert_allclose(y, (x - rm) / np.sqrt(rv + 1e-5), rtol=1e-4, atol=1e-5)
    assert bn.num_batches_tracked.item() == 1  # eval does not count batches


def test_batch_norm_cumulative_average_and_no_tracking(device):
    bn = nn.BatchNorm1d(2, momentum=None, device=device)
    batches = [np.random.default_rng(i).normal(size=(5, 2)).astype(np.float32) for i in range(3)]
    for b in batches:
        bn(tg.tensor(b, device=device))
    mean_of_means = np.mean([b.mean(0) for b in batches], 0)
    np.testing.assert_allclose(bn.running_mean.numpy(), mean_of_means, rtol=1e-5)
    free = nn.BatchNorm1d(2, track_running_stats=False, device=device).eval()
    assert free.running_mean is None and "running_mean" not in free.state_dict()
    y = free(tg.tensor(batches[0], device=device)).numpy()
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)  # batch statistics even in eval


@pytest.mark.oracle
def test_batch_norm_matches_torch(device):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(5).normal(size=(4, 3, 2, 2)).astype(np.float32)
    ours = nn.BatchNorm2d(3, device=device)
    theirs = torch.nn.BatchNorm2d(3)
    for _ in range(2):
        y = ours(tg.tensor(x, device=device)).numpy()
        want = theirs(torch.tensor(x)).detach().numpy()
        np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), rtol=1e-5)
    assert list(ours.state_dict()) == list(theirs.state_dict())


# ----------------------------------------------------------------- bad inputs
def test_linear_wrong_feature_size_names_layer_and_shapes(device):
    layer = nn.Linear(3, 4, device=device)
    with pytest.raises(tg.ShapeError, match=r"Linear: input \(2, 5\) does not fit weight \(4, 3\)"):
        layer(tg.zeros(2, 5, device=device))


def test_batch_norm_wrong_channels(device):
    with pytest.raises(tg.ShapeError, match="BatchNorm2d: input .* expected num_features=3"):
        nn.BatchNorm2d(3, device=device)(tg.zeros(2, 4, 2, 2, device=device))
    with pytest.raises(tg.ShapeError, match="BatchNorm2d: expected 4-D input"):
        nn.BatchNorm2d(3, device=device)(tg.zeros(2, 3, device=device))


def test_layer_norm_wrong_shape(device):
    with pytest.raises(tg.ShapeError, match="does not end with normalized_shape"):
        nn.LayerNorm(4, device=device)(tg.zeros(2, 5, device=device))


def test_embedding_needs_integer_ids(device):
    with pytest.raises(tg.DTypeError, match="embedding: ids must be an integer tensor"):
        nn.Embedding(4, 2, device=device)(tg.zeros(3, device=device))
    with pytest.raises(IndexError, match="out of bounds"):
        nn.Embedding(4, 2, device=device)(tg.tensor([4], device=device))


# ------------------------------------------------------------------ containers
def test_sequential_indexing_and_append(device):
    seq = nn.Sequential(nn.Linear(2, 3, device=device), nn.ReLU())
    assert len(seq) == 2 and isinstance(seq[-1], nn.ReLU)
    assert isinstance(seq[:1], nn.Sequential) and len(seq[:1]) == 1
    seq.append(nn.Linear(3, 1, device=device))
    assert [n for n, _ in seq.named_parameters()][-1] == "2.bias"
    assert seq(tg.zeros(4, 2, device=device)).shape == (4, 1)
    with pytest.raises(IndexError, match="index 3 is out of range"):
        seq[3]


def test_sequential_from_dict_uses_names(device):
    seq = nn.Sequential({"fc": nn.Linear(2, 2, device=device), "act": nn.Tanh()})
    assert list(seq.state_dict()) == ["fc.weight", "fc.bias"]


def test_module_list_and_dict(device):
    layers = nn.ModuleList([nn.Linear(2, 2, device=device)])
    layers.append(nn.ReLU())
    layers.insert(0, nn.Tanh())
    assert [type(m).__name__ for m in layers] == ["Tanh", "Linear", "ReLU"]
    assert [n for n, _ in layers.named_parameters()] == ["1.weight", "1.bias"]
    del layers[0]
    assert [n for n, _ in layers.named_parameters()] == ["0.weight", "0.bias"]
    heads = nn.ModuleDict({"a": nn.Linear(2, 1, device=device)})
    heads["b"] = nn.Linear(2, 3, device=device)
    assert "b" in heads and list(heads) == ["a", "b"] and len(heads) == 2
    assert [n for n, _ in heads.named_parameters()][-1] == "b.bias"
    with pytest.raises(KeyError, match="no module named 'c'"):
        heads["c"]
