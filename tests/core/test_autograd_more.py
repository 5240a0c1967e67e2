"""tg.autograd additions: functional (jacobian, hessian, vjp, jvp, vhp, hvp) against NumPy /
analytic derivatives, detect_anomaly / set_detect_anomaly, Variable, grad_mode."""

from __future__ import annotations

import numpy as np
import pytest

import tinygpt as tg
from tinygpt.autograd import functional as AF

X = np.array([[0.3, -0.7, 1.1], [0.5, 0.2, -0.4]])
Y = np.array([[0.2, 0.9], [-0.6, 0.4], [1.3, -0.1]])


def _t(a, device):
    return tg.tensor(a, dtype=tg.float64, device=device)


def _np(t):
    return np.array(t.tolist())


def _numeric_jacobian(f, x, eps=1e-6):
    """d f / d x by central differences, shape f(x).shape + x.shape."""
    fx = f(x)
    jac = np.zeros(fx.shape + x.shape)
    for idx in np.ndindex(*x.shape):
        dx = np.zeros_like(x)
        dx[idx] = eps
        jac[(Ellipsis, *idx)] = (f(x + dx) - f(x - dx)) / (2 * eps)
    return jac


# ------------------------------------------------------------------ functional
def test_jacobian_single(device):
    got = AF.jacobian(lambda x: (x * x).tanh() + x.sum(), _t(X, device))
    want = _numeric_jacobian(lambda x: np.tanh(x * x) + x.sum(), X)
    assert tuple(got.shape) == (2, 3, 2, 3)
    assert not got.requires_grad
    np.testing.assert_allclose(_np(got), want, atol=1e-7)


def test_jacobian_tuple_inputs_and_outputs(device):
    jac = AF.jacobian(lambda x, y: ((x @ y).sin(), (x * 3).sum()), (_t(X, device), _t(Y, device)))
    assert len(jac) == 2 and len(jac[0]) == 2
    np.testing.assert_allclose(
        _np(jac[0][0]), _numeric_jacobian(lambda x: np.sin(x @ Y), X), atol=1e-7
    )
    np.testing.assert_allclose(
        _np(jac[0][1]), _numeric_jacobian(lambda y: np.sin(X @ y), Y), atol=1e-7
    )
    np.testing.assert_allclose(_np(jac[1][0]), np.full((2, 3), 3.0))
    assert tuple(jac[1][1].shape) == (3, 2) and not _np(jac[1][1]).any()  # unused: zeros


def test_jacobian_strict_and_create_graph(device):
    x = _t(X, device)
    with pytest.raises(RuntimeError):
        AF.jacobian(lambda a, b: a * 2, (x, _t(Y, device)), strict=True)
    w = _t(X, device).requires_grad_()
    jac = AF.jacobian(lambda a: (a**3).sum(), w, create_graph=True)  # = 3 a^2
    assert jac.requires_grad
    jac.sum().backward()
    np.testing.assert_allclose(_np(w.grad), 6 * X, rtol=1e-12)


def test_hessian(device):
    got = AF.hessian(lambda x: (x**3).sum() * x.sum(), _t(X, device))
    s, c = X.sum(), (X**3).sum()
    # d2/dxi dxj [c(x) s(x)] = 6 xi s [i==j] + 3 xi^2 + 3 xj^2
    flat = X.reshape(-1)
    want = 3 * flat[:, None] ** 2 + 3 * flat[None, :] ** 2 + np.diag(6 * flat * s)
    assert c != 0
    np.testing.assert_allclose(_np(got).reshape(6, 6), want, rtol=1e-10)
    pair = AF.hessian(lambda x, y: ((x @ y) ** 2).sum(), (_t(X, device), _t(Y, device)))
    assert tuple(pair[0][1].shape) == (2, 3, 3, 2)
    # d2/dx2 of sum((x y)^2) = 2 (y y^T) on each row
    want_xx = np.einsum("ik,jl->ijkl", np.eye(2), 2 * Y @ Y.T)
    np.testing.assert_allclose(_np(pair[0][0]), want_xx, rtol=1e-10)
    with pytest.raises(RuntimeError):
        AF.hessian(lambda x: x * 2, _t(X, device))


def test_vjp_and_jvp(device):
    x, v_in, v_out = _t(X, device), _t(Y.T, device), _t(X[:, :2] + 1, device)
    f_np = lambda x: np.tanh(x @ Y)  # noqa: E731
    jac = _numeric_jacobian(f_np, X)  # (2, 2, 2, 3)
    out, vj = AF.vjp(lambda a: (a @ _t(Y, device)).tanh(), x, v_out)
    np.testing.assert_allclose(_np(out), f_np(X), rtol=1e-12)
    np.testing.assert_allclose(_np(vj), np.einsum("ab,abcd->cd", X[:, :2] + 1, jac), atol=1e-7)
    out, jv = AF.jvp(lambda a: (a @ _t(Y, device)).tanh(), x, v_in)
    np.testing.assert_allclose(_np(jv), np.einsum("abcd,cd->ab", jac, Y.T), atol=1e-7)
    _, g = AF.vjp(lambda a: (a * a).sum(), x)  # v may be omitted for a scalar output
    np.testing.assert_allclose(_np(g), 2 * X)
    with pytest.raises(RuntimeError):
        AF.vjp(lambda a: a * 2, x)  # not a scalar: v is required
    with pytest.raises(RuntimeError):
        AF.jvp(lambda a: a * 2, x, _t(Y, device))  # v has the wrong shape


def test_vhp_and_hvp(device):
    x, v = _t(X, device), _t(X[::-1].copy(), device)
    f = lambda a: (a**3).sum()  # noqa: E731  # H = diag(6 a)
    for fn in (AF.vhp, AF.hvp):
        out, hv = fn(f, x, v)
        assert float(out.item()) == pytest.approx((X**3).sum())
        np.testing.assert_allclose(_np(hv), 6 * X * X[::-1], rtol=1e-12)


# ------------------------------------------------------------------ anomaly
def test_detect_anomaly_names_the_backward(device):
    x = tg.tensor([0.0, 1.0], device=device, requires_grad=True)
    with tg.autograd.detect_anomaly():
        assert tg.autograd.is_anomaly_enabled()
        with pytest.raises(RuntimeError, match="Function 'LogBackward' returned nan"):
            (x * x.log()).sum().backward()  # d/dx log at 0 gets 0 * inf
        x.grad = None
        x.sqrt().sum().backward()  # an inf gradient is not an anomaly (as in PyTorch)
    assert not tg.autograd.is_anomaly_enabled()
    assert x.grad.tolist()[0] == float("inf")
    # off: the nan backward runs to the end
    x.grad = None
    (x * x.log()).sum().backward()
    assert np.isnan(x.grad.tolist()[0])


def test_detect_anomaly_check_inf_and_decorator(device):
    x = tg.tensor([0.0, 4.0], device=device, requires_grad=True)

    @tg.autograd.detect_anomaly(check_inf=True)
    def run():
        x.sqrt().sum().backward()

    with pytest.raises(RuntimeError, match="Function 'SqrtBackward' returned inf values"):
        run()
    assert not tg.autograd.is_anomaly_enabled()


def test_detect_anomaly_check_nan_off_and_grad(device):
    x = tg.tensor([0.0], device=device, requires_grad=True)
    with tg.autograd.detect_anomaly(check_nan=False):
        (x * x.log()).sum().backward()  # no check: no error
    with tg.autograd.detect_anomaly():
        with pytest.raises(RuntimeError, match="LogBackward"):
            tg.autograd.grad((x * x.log()).sum(), x)


def test_set_detect_anomaly_function_and_context():
    tg.autograd.set_detect_anomaly(True)
    try:
        assert tg.autograd.is_anomaly_enabled()
        with tg.autograd.set_detect_anomaly(False):
            assert not tg.autograd.is_anomaly_enabled()
        assert tg.autograd.is_anomaly_enabled()
    finally:
        tg.autograd.set_detect_anomaly(False)
    assert not tg.autograd.is_anomaly_enabled()


# ------------------------------------------------------------------ backward(tensors)
def test_functional_backward_sums_outputs(device):
    x = tg.tensor([1.0, 2.0], device=device, dtype=tg.float64, requires_grad=True)
    w = tg.tensor([3.0, -1.0], device=device, dtype=tg.float64)
    tg.autograd.backward(
        [(x * x).sum(), x * w], [None, tg.ones(2, device=device, dtype=tg.float64)]
    )
    assert x.grad.tolist() == [2 * 1.0 + 3.0, 2 * 2.0 - 1.0]
    tg.autograd.backward((x * x).sum(), grad_variables=None)  # one tensor, accumulates
    assert x.grad.tolist() == [7.0, 7.0]


def test_functional_backward_inputs_and_errors(device):
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = tg.tensor([4.0], device=device, requires_grad=True)
    tg.autograd.backward((x * y).sum(), inputs=[y])
    assert x.grad is None and y.grad.tolist() == [3.0]
    tg.autograd.backward((x * y).sum(), inputs=y)
    assert y.grad.tolist() == [6.0]
    with pytest.raises(RuntimeError):
        tg.autograd.backward([x.sum()], [None, None])
    with pytest.raises(RuntimeError):
        tg.autograd.backward(tg.ones(2, device=device))


# ------------------------------------------------------------------ legacy names
def test_variable(device):
    from tinygpt.autograd import Variable

    t = tg.ones(2, device=device)
    v = Variable(t, requires_grad=True)
    assert isinstance(v, tg.Tensor) and isinstance(t, Variable)
    assert v.requires_grad and v.is_leaf and not t.requires_grad
    (v * 3).sum().backward()
    assert v.grad.tolist() == [3.0, 3.0]
    u = Variable(v * 2)
    assert u.is_leaf and not u.requires_grad
    assert not isinstance([1.0], Variable)
    with pytest.raises(TypeError):
        Variable([1.0])


def test_grad_mode_module():
    from tinygpt.autograd.grad_mode import enable_grad, no_grad, set_grad_enabled

    with no_grad():
        assert not tg.is_grad_enabled()
        with enable_grad():
            assert tg.is_grad_enabled()
    with set_grad_enabled(False):
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()


@pytest.mark.parametrize(
    "name",
    [
        "tinygpt.autograd.functional",
        "tinygpt.autograd.anomaly_mode",
        "tinygpt.autograd.variable",
        "tinygpt.autograd.backward_api",
    ],
)
def test_docstring_examples(name):
    import doctest
    import importlib

    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0, f"{result.failed} failed in {name}"
