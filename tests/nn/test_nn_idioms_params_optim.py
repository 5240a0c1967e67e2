"""nn/optim pieces added for issue 14's PyTorch idioms (part 2): ParameterList/ParameterDict,
Module.get_parameter/get_buffer/type, init.orthogonal_, RMSprop and Adagrad against NumPy
references of PyTorch's update rules, and the `tinygpt.utils.data` alias of `tinygpt.data`.
PyTorch comparisons live in tests/oracle."""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg
from tinygpt import nn, optim
from tinygpt.nn import init


class Scales(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(2, 2)
        self.scales = nn.ParameterList([nn.Parameter(tg.ones(2)), tg.zeros(3)])
        self.heads = nn.ParameterDict({"q": nn.Parameter(tg.ones(1)), "k": tg.zeros(2)})
        self.register_buffer("step", tg.zeros(1))


# ------------------------------------------------------------------ parameter containers
def test_parameter_containers_register_everything_under_pytorch_names(device):
    model = Scales().to(device)
    names = [n for n, _ in model.named_parameters()]
    assert names == ["lin.weight", "lin.bias", "scales.0", "scales.1", "heads.q", "heads.k"]
    assert list(model.state_dict()) == ["step", *names]  # own members before children
    assert all(isinstance(p, nn.Parameter) for p in model.scales)  # tensors were wrapped
    assert [k for k in model.heads] == ["q", "k"] and "k" in model.heads
    model.to(tg.float64)
    assert {p.dtype for p in model.parameters()} == {tg.float64}
    assert str(model.scales[1].device).startswith(device)


def test_parameter_list_behaves_like_a_list(device):
    ps = nn.ParameterList()
    ps.append(nn.Parameter(tg.ones(2, device=device)))
    ps += [tg.zeros(1, device=device)]
    ps.extend([nn.Parameter(tg.ones(3, device=device))])
    assert len(ps) == 3 and [p.shape for p in ps] == [(2,), (1,), (3,)]
    assert ps[-1].shape == (3,) and len(ps[1:]) == 2
    assert "  (1): Parameter containing: [float32 of size 1]\n" in repr(ps)
    replacement = nn.Parameter(tg.full((4,), 2.0, device=device))
    ps[0] = replacement
    assert ps[0] is replacement
    with pytest.raises(IndexError):
        ps[3]
    with pytest.raises(TypeError, match="Parameter or Tensor"):
        ps.append([1.0])
    with pytest.raises(TypeError, match="iterable"):
        ps.extend(tg.ones(2))
    # an optimizer finds them, and a step changes them
    opt = optim.SGD(ps.parameters(), lr=0.5)
    sum(p.sum() for p in ps).backward()
    opt.step()
    np.testing.assert_allclose(ps[0].detach().numpy(), [1.5] * 4)


def test_parameter_dict_behaves_like_a_dict(device):
    pd = nn.ParameterDict([("a", tg.ones(1, device=device))])
    pd["b"] = nn.Parameter(tg.zeros(2, device=device))
    pd.update({"c": tg.ones(3, device=device)})
    assert list(pd.keys()) == ["a", "b", "c"] and len(pd) == 3
    assert [p.shape for p in pd.values()] == [(1,), (2,), (3,)]
    assert pd.get("zz") is None and pd.pop("a").shape == (1,)
    del pd["b"]
    assert list(pd) == ["c"]
    with pytest.raises(KeyError, match="keys"):
        pd["missing"]
    with pytest.raises(TypeError, match="strings"):
        pd[0] = tg.ones(1)


def test_parameter_containers_round_trip_state_dicts():
    src, dst = Scales(), Scales()
    with tg.no_grad():
        for p in src.parameters():
            p.fill_(3.0)
    dst.load_state_dict(src.state_dict())
    assert all(np.all(p.detach().numpy() == 3.0) for p in dst.parameters())


# ------------------------------------------------------------------ Module lookups
def test_get_parameter_get_buffer_and_type():
    model = nn.Sequential(Scales())
    assert model.get_parameter("0.lin.weight") is model[0].lin.weight
    assert model.get_parameter("0.scales.1") is model[0].scales[1]
    assert model.get_buffer("0.step") is model[0].step
    with pytest.raises(AttributeError, match="no parameter 'nope'"):
        model.get_parameter("0.lin.nope")
    with pytest.raises(AttributeError, match="no buffer"):
        model.get_buffer("0.lin.weight")
    with pytest.raises(AttributeError):
        model.get_parameter("1.weight")
    assert model.type(tg.float64) is model
    assert {p.dtype for p in model.parameters()} == {tg.float64}


# ------------------------------------------------------------------ orthogonal_
@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 2, 3), (6, 6)])
def test_orthogonal_gives_orthonormal_rows_or_columns(shape, device):
    w = tg.empty(*shape, device=device)
    assert init.orthogonal_(w, gain=1.5) is w
    m = w.numpy().reshape(shape[0], -1).astype(np.float64)
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    np.testing.assert_allclose(gram, 2.25 * np.eye(gram.shape[0]), atol=1e-5)
    # a Gaussian draw, so two draws differ (the test can fail if the fill is constant)
    other = init.orthogonal_(tg.empty(*shape, device=device)).numpy()
    assert not np.allclose(other, w.numpy() / 1.5)


def test_orthogonal_rejects_vectors():
    with pytest.raises(tg.ShapeError, match="2 dimensions"):
        init.orthogonal_(tg.empty(3))


# ------------------------------------------------------------------ RMSprop, Adagrad
W0 = np.random.default_rng(7).normal(size=(3, 4))
XS = np.random.default_rng(8).normal(size=(5, 3))


def _grad(w):
    """Gradient of sum(tanh(X @ w)^2): a non-quadratic loss, so every step differs."""
    h = np.tanh(XS @ w)
    return XS.T @ (2 * h * (1 - h * h))


def _np_rmsprop(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    w, v, m, b = W0.copy(), np.zeros_like(W0), np.zeros_like(W0), np.zeros_like(W0)
    for _ in range(10):
        g = _grad(w) + weight_decay * w
        v = alpha * v + (1 - alpha) * g * g
        if centered:
            m = alpha * m + (1 - alpha) * g
        d = np.sqrt(v - m * m if centered else v) + eps
        if momentum > 0:
            b = momentum * b + g / d
            w = w - lr * b
        else:
            w = w - lr * g / d
    return w


def _np_adagrad(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
    w, s = W0.copy(), np.full_like(W0, initial_accumulator_value)
    for t in range(1, 11):
        g = _grad(w) + weight_decay * w
        s = s + g * g
        w = w - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s) + eps)
    return w


def _run(opt_cls, kwargs, device):
    w = nn.Parameter(tg.tensor(W0.astype(np.float32), device=device))
    x = tg.tensor(XS.astype(np.float32), device=device)
    opt = opt_cls([w], **kwargs)
    for _ in range(10):
        opt.zero_grad()
        ((x @ w).tanh() ** 2).sum().backward()
        opt.step()
    return w.detach().numpy()


# fmt: off
OPTIMIZERS = [
    ("rmsprop",          optim.RMSprop, {}, _np_rmsprop),
    ("rmsprop_all",      optim.RMSprop, dict(lr=0.01, alpha=0.9, eps=1e-6, weight_decay=0.1,
                                             momentum=0.9, centered=True), _np_rmsprop),
    ("rmsprop_centered", optim.RMSprop, dict(centered=True), _np_rmsprop),
    ("rmsprop_momentum", optim.RMSprop, dict(momentum=0.5, lr=0.05), _np_rmsprop),
    ("adagrad",          optim.Adagrad, {}, _np_adagrad),
    ("adagrad_all",      optim.Adagrad, dict(lr=0.1, lr_decay=0.05, weight_decay=0.1,
                                             initial_accumulator_value=0.3, eps=1e-6),
                         _np_adagrad),
]
# fmt: on


@pytest.mark.parametrize("name, cls, kwargs, ref", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_optimizers_follow_pytorchs_update_rule(name, cls, kwargs, ref, device):
    np.testing.assert_allclose(_run(cls, kwargs, device), ref(**kwargs), rtol=1e-4, atol=1e-5)


def test_optimizers_check_arguments_and_checkpoint():
    p = nn.Parameter(tg.ones(2))
    with pytest.raises(ValueError, match="alpha"):
        optim.RMSprop([p], alpha=-0.1)
    with pytest.raises(ValueError, match="lr_decay"):
        optim.Adagrad([p], lr_decay=-1.0)
    opt = optim.RMSprop([p], momentum=0.9, centered=True, foreach=True)
    p.sum().backward()
    opt.step()
    fresh = optim.RMSprop([p], momentum=0.9, centered=True)
    fresh.load_state_dict(opt.state_dict())
    assert sorted(fresh.state[p]) == ["grad_avg", "momentum_buffer", "square_avg", "step"]


# ------------------------------------------------------------------ torch.utils.data path
def test_utils_data_is_tinygpt_data():
    import tinygpt.data
    import tinygpt.utils.data as utils_data

    assert tg.utils.data is utils_data
    for name in tinygpt.data.__all__:
        assert getattr(utils_data, name) is getattr(tinygpt.data, name), name
    assert sorted(utils_data.__all__) == sorted(tinygpt.data.__all__)
    parts = utils_data.random_split(utils_data.TensorDataset(tg.arange(10.0)), [7, 3])
    assert [len(p) for p in parts] == [7, 3]
    assert isinstance(parts[0], utils_data.Subset)


def test_default_collate_turns_tuples_into_lists_as_pytorch():
    from collections import namedtuple

    from tinygpt.utils.data import DataLoader, TensorDataset, default_collate

    batch = next(iter(DataLoader(TensorDataset(tg.arange(4.0), tg.arange(4)), batch_size=2)))
    assert isinstance(batch, list) and [t.tolist() for t in batch] == [[0.0, 1.0], [0, 1]]
    Pair = namedtuple("Pair", "x y")
    pair = default_collate([Pair(1, 2.0), Pair(3, 4.0)])
    assert isinstance(pair, Pair) and pair.x.tolist() == [1, 3]
