"""Optimizers: updates vs hand-written NumPy (float64) and vs torch.optim, no graphs, param
groups, state-dict round trips through safetensors, and the errors."""

import numpy as np
import pytest

import tinygpt as tg
from tinygpt import optim

STEPS = 5
SHAPE = (3, 4)


def gradients(seed: int = 0, steps: int = STEPS) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(SHAPE).astype(np.float32) for _ in range(steps)]


def start(seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(SHAPE).astype(np.float32)


# ---------------------------------------------------------------- NumPy references
def numpy_sgd(p, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    p = p.astype(np.float64)
    buf = None
    for g in grads:
        g = g + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
    return p


def numpy_adam(p, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
               decoupled=False):  # fmt: skip
    p = p.astype(np.float64)
    m, v, v_max = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    beta1, beta2 = betas
    for t, g in enumerate(grads, start=1):
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v_max = np.maximum(v_max, v)
        m_hat = m / (1 - beta1**t)
        v_hat = (v_max if amsgrad else v) / (1 - beta2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


# One row per configuration: (id, tinygpt optimizer, kwargs, NumPy reference, torch class name)
CASES = [
    ("sgd", optim.SGD, {"lr": 0.1}, numpy_sgd, "SGD"),
    ("sgd-momentum", optim.SGD, {"lr": 0.1, "momentum": 0.9}, numpy_sgd, "SGD"),
    ("sgd-dampening", optim.SGD, {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}, numpy_sgd, "SGD"),
    ("sgd-nesterov", optim.SGD, {"lr": 0.1, "momentum": 0.8, "nesterov": True}, numpy_sgd, "SGD"),
    ("sgd-wd", optim.SGD, {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.1}, numpy_sgd, "SGD"),
    ("adam", optim.Adam, {"lr": 0.01}, numpy_adam, "Adam"),
    ("adam-l2", optim.Adam, {"lr": 0.01, "weight_decay": 0.1}, numpy_adam, "Adam"),
    ("adam-betas", optim.Adam, {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6}, numpy_adam, "Adam"),
    ("adam-amsgrad", optim.Adam, {"lr": 0.01, "amsgrad": True}, numpy_adam, "Adam"),
    ("adamw", optim.AdamW, {"lr": 0.01, "weight_decay": 0.1}, numpy_adam, "AdamW"),
    ("adamw-amsgrad", optim.AdamW, {"lr": 0.01, "amsgrad": True}, numpy_adam, "AdamW"),
]


def run_tinygpt(device, cls, kwargs, grads, p0):
    p = tg.tensor(p0, device=device, requires_grad=True)
    opt = cls([p], **kwargs)
    for g in grads:
        p.grad = tg.tensor(g, device=device)
        opt.step()
    return p


@pytest.mark.parametrize("name, cls, kwargs, reference, _", CASES, ids=[c[0] for c in CASES])
def test_matches_numpy(device, path, name, cls, kwargs, reference, _):
    grads, p0 = gradients(), start()
    p = run_tinygpt(device, cls, kwargs, grads, p0)
    ref_kwargs = dict(kwargs)
    if cls is optim.AdamW:
        ref_kwargs.setdefault("weight_decay", 0.01)
        ref_kwargs["decoupled"] = True
    np.testing.assert_allclose(p.numpy(), reference(p0, grads, **ref_kwargs), rtol=1e-5, atol=1e-6)


@pytest.mark.oracle
@pytest.mark.parametrize("name, cls, kwargs, _, torch_name", CASES, ids=[c[0] for c in CASES])
def test_matches_torch(device, path, name, cls, kwargs, _, torch_name):
    torch = pytest.importorskip("torch")
    grads, p0 = gradients(), start()
    p = run_tinygpt(device, cls, kwargs, grads, p0)
    q = torch.tensor(p0, requires_grad=True)
    opt = getattr(torch.optim, torch_name)([q], **kwargs)
    for g in grads:
        q.grad = torch.tensor(g)
        opt.step()
    np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_a_real_training_loop_lowers_the_loss(device):
    """Least squares with a real backward: loss falls, params keep requiring grad, no graph."""
    x = tg.tensor(np.random.default_rng(0).standard_normal((16, 3)), dtype=tg.float32,
                  device=device)  # fmt: skip
    y = x @ tg.tensor([[1.0], [-2.0], [0.5]], device=device)
    w = tg.zeros(3, 1, device=device, requires_grad=True)
    opt = optim.Adam([w], lr=0.1)
    losses = []
    for _ in range(30):
        loss = ((x @ w - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.05 * losses[0]
    assert w.requires_grad and w.is_leaf and w.grad_fn is None
    for value in opt.state[w].values():
        if isinstance(value, tg.Tensor):
            assert value.grad_fn is None and not value.requires_grad


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.AdamW])
def test_step_builds_no_graph_and_skips_missing_grads(device, cls):
    a = tg.ones(2, device=device, requires_grad=True)
    b = tg.ones(2, device=device, requires_grad=True)
    (a * 3.0).sum().backward()
    opt = cls([a, b], lr=0.1, **({"momentum": 0.9} if cls is optim.SGD else {}))
    opt.step()
    assert a.grad_fn is None and a.requires_grad and a.tolist() != [1.0, 1.0]
    assert b.tolist() == [1.0, 1.0] and b not in opt.state  # b had no grad: untouched
    for value in opt.state[a].values():
        if isinstance(value, tg.Tensor):
            assert value.grad_fn is None and not value.requires_grad


@pytest.mark.parametrize(
    "name, cls, kwargs", [c[:3] for c in CASES[::2]], ids=[c[0] for c in CASES[::2]]
)
def test_nn_parameters_update_like_plain_tensors(device, name, cls, kwargs):
    from tinygpt.nn import Parameter

    grads, p0 = gradients(), start()
    plain = run_tinygpt(device, cls, kwargs, grads, p0)
    w = Parameter(tg.tensor(p0, device=device))
    opt = cls([w], **kwargs)
    for g in grads:
        w.grad = tg.tensor(g, device=device)
        opt.step()
    assert isinstance(w, Parameter) and w.requires_grad
    np.testing.assert_array_equal(w.numpy(), plain.numpy())


def test_zero_grad(device):
    p = tg.ones(3, device=device, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    p.sum().backward()
    opt.zero_grad(set_to_none=False)
    assert p.grad.tolist() == [0.0, 0.0, 0.0]
    opt.zero_grad()
    assert p.grad is None


def test_param_groups_with_their_own_options(device):
    grads, p0 = gradients(), start()
    p = tg.tensor(p0, device=device, requires_grad=True)
    q = tg.tensor(p0, device=device, requires_grad=True)
    opt = optim.SGD([{"params": [p]}, {"params": [q], "lr": 0.01, "momentum": 0.5}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    for g in grads:
        p.grad = tg.tensor(g, device=device)
        q.grad = tg.tensor(g, device=device)
        opt.step()
    np.testing.assert_allclose(p.numpy(), numpy_sgd(p0, grads, lr=0.1), rtol=1e-5, atol=1e-6)
    expected = numpy_sgd(p0, grads, lr=0.01, momentum=0.5)
    np.testing.assert_allclose(q.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_add_param_group(device):
    p = tg.ones(2, device=device, requires_grad=True)
    q = tg.ones(2, device=device, requires_grad=True)
    opt = optim.AdamW([p], lr=0.1)
    opt.add_param_group({"params": q, "weight_decay": 0.0})
    assert opt.param_groups[1]["weight_decay"] == 0.0 and opt.param_groups[1]["lr"] == 0.1
    assert "Parameter Group 1" in repr(opt)


# ------------------------------------------------------------------ checkpoints
RESUME_CASES = [
    (optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    (optim.Adam, {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1}),
    (optim.AdamW, {"lr": 0.01}),
]


@pytest.mark.parametrize("cls, kwargs", RESUME_CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_resume_from_safetensors_is_exact(device, tmp_path, cls, kwargs):
    grads, p0 = gradients(steps=6), start()

    def make(values):
        p = tg.tensor(values, device=device, requires_grad=True)
        q = tg.tensor(values[0], device=device, requires_grad=True)
        opt = cls([{"params": [p]}, {"params": [q], "lr": 0.003}], **kwargs)
        return p, q, opt

    def train(p, q, opt, steps):
        for g in steps:
            p.grad = tg.tensor(g, device=device)
            q.grad = tg.tensor(g[1], device=device)
            opt.step()

    p, q, opt = make(p0)
    train(p, q, opt, grads)  # uninterrupted

    p1, q1, opt1 = make(p0)
    train(p1, q1, opt1, grads[:3])
    path = tmp_path / "ckpt.safetensors"
    weights = {"p": p1.detach(), "q": q1.detach()}
    tg.save({**weights, **optim.flatten_state_dict(opt1.state_dict(), prefix="optim.")}, path)

    loaded = tg.load(path, device=device)
    p2, q2, opt2 = make(loaded["p"].numpy())
    with tg.no_grad():
        q2.copy_(loaded["q"])
    opt2.load_state_dict(optim.unflatten_state_dict(loaded, prefix="optim."))
    assert opt2.param_groups[1]["lr"] == 0.003
    train(p2, q2, opt2, grads[3:])
    np.testing.assert_array_equal(p2.numpy(), p.numpy())
    np.testing.assert_array_equal(q2.numpy(), q.numpy())


def test_state_dict_is_a_snapshot_and_round_trips(device):
    p = tg.ones(2, device=device, requires_grad=True)
    opt = optim.Adam([p], lr=0.1, betas=(0.8, 0.9))
    p.grad = tg.ones(2, device=device)
    opt.step()
    saved = opt.state_dict()
    assert saved["param_groups"][0]["params"] == [0] and saved["state"][0]["step"] == 1
    opt.step()
    assert saved["state"][0]["step"] == 1
    assert saved["state"][0]["exp_avg"].tolist() == pytest.approx([0.2, 0.2])
    again = optim.unflatten_state_dict(optim.flatten_state_dict(saved))
    assert again["param_groups"] == saved["param_groups"]
    assert again["param_groups"][0]["betas"] == (0.8, 0.9)
    assert again["state"][0]["step"] == 1


# ------------------------------------------------------------------------ errors
def test_bad_params_are_refused(device):
    p = tg.ones(2, device=device, requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="not a Tensor"):
        optim.SGD([p, 3.0], lr=0.1)
    with pytest.raises(ValueError, match="not a leaf"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="appears twice"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(TypeError, match="only floats"):
        optim.SGD([tg.ones(2, dtype=tg.int64, device=device)], lr=0.1)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: optim.SGD([{"params": [p], "lrr": 0.1}]), r"unknown option\(s\) \['lrr'\]"),
        (lambda p: optim.SGD([p], lr=-1.0), "lr must be >= 0"),
        (lambda p: optim.SGD([p], momentum=-0.1), "momentum must be >= 0"),
        (lambda p: optim.SGD([p], nesterov=True), "nesterov needs momentum > 0"),
        (lambda p: optim.SGD([{"params": [p], "weight_decay": -1}]), "param group 0: weight_d"),
        (lambda p: optim.Adam([p], betas=(0.9, 1.0)), r"betas must be two numbers in \[0, 1\)"),
        (lambda p: optim.AdamW([p], eps=-1.0), "eps must be >= 0"),
    ],
)
def test_bad_options_are_refused(device, make, message):
    p = tg.ones(2, device=device, requires_grad=True)
    with pytest.raises(ValueError, match=message):
        make(p)


def test_mismatched_loads_are_refused_and_change_nothing(device):
    p = tg.ones(2, device=device, requires_grad=True)
    q = tg.ones(3, device=device, requires_grad=True)
    opt = optim.Adam([p, q], lr=0.1)
    p.grad, q.grad = tg.ones(2, device=device), tg.ones(3, device=device)
    opt.step()
    saved = opt.state_dict()

    with pytest.raises(ValueError, match="2 param groups, this optimizer has 1"):
        optim.Adam([p, q]).load_state_dict({"state": {}, "param_groups": saved["param_groups"] * 2})
    with pytest.raises(ValueError, match="has 1 parameters here but 2"):
        optim.Adam([p]).load_state_dict(saved)
    swapped = optim.Adam([q, p], lr=0.5)
    with pytest.raises(tg.ShapeError, match=r"state 'exp_avg' of parameter 0 has shape \(2,\)"):
        swapped.load_state_dict(saved)
    assert swapped.param_groups[0]["lr"] == 0.5 and not swapped.state  # untouched
    with pytest.raises(ValueError, match="keys 'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})


def test_grad_of_the_wrong_shape(device):
    p = tg.ones(2, device=device, requires_grad=True)
    # as in PyTorch, the assignment itself is refused (it used to fail at the optimizer step)
    with pytest.raises(tg.ShapeError, match=r"assigned grad has shape \(3,\), the tensor \(2,\)"):
        p.grad = tg.ones(3, device=device)
    with pytest.raises(TypeError, match="assigned grad must be a Tensor or None, got int"):
        p.grad = 0


def test_flatten_refuses_what_safetensors_cannot_hold():
    with pytest.raises(TypeError, match="param_groups.0.name is a str"):
        optim.flatten_state_dict({"state": {}, "param_groups": [{"name": "x", "params": []}]})
