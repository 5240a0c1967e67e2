"""tinygpt.linalg errors (LinAlgError for singular / indefinite input, shape and dtype
errors) and the torch.* wrappers of `tinygpt.linalg.toplevel`, against NumPy."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygpt as tg
import tinygpt.linalg as LA
from tinygpt.errors import DTypeError, ShapeError, TinyGPTError
from tinygpt.linalg import toplevel

RNG = np.random.default_rng(2)
SINGULAR = [[[1.0, 0.0], [0.0, 1.0]], [[1.0, 2.0], [2.0, 4.0]]]  # batch element 1 is singular


def t(x, device, dtype=tg.float64):
    return tg.tensor(np.asarray(x), dtype=dtype, device=device)


def test_linalg_error_is_a_runtime_error():
    assert issubclass(LA.LinAlgError, RuntimeError)
    assert issubclass(LA.LinAlgError, TinyGPTError)


@pytest.mark.parametrize(
    "call",
    [
        lambda a: LA.inv(a),
        lambda a: LA.solve(a, a[..., 0]),
        lambda a: LA.matrix_power(a, -1),
        lambda a: toplevel.inverse(a),
    ],
)
def test_singular_matrix_raises_naming_the_batch_element(device, call):
    with pytest.raises(LA.LinAlgError, match=r"\(batch element 1\).*singular.*pinv"):
        call(t(SINGULAR, device))


def test_singular_ex_variants_report_info_instead(device):
    a = t(SINGULAR, device)
    assert LA.inv_ex(a).info.tolist() == [0, 2]
    assert LA.solve_ex(a, a).info.tolist() == [0, 2]
    assert LA.lu_factor_ex(a).info.tolist() == [0, 2]
    with pytest.raises(LA.LinAlgError, match="inv"):
        LA.inv_ex(a, check_errors=True)


def test_not_positive_definite(device):
    bad = t([[[4.0, 0.0], [0.0, 1.0]], [[1.0, 2.0], [2.0, 1.0]]], device)
    with pytest.raises(LA.LinAlgError, match=r"\(batch element 1\).*minor of order 2.*positive"):
        LA.cholesky(bad)
    low, info = LA.cholesky_ex(bad)
    assert info.tolist() == [0, 2]
    np.testing.assert_allclose(low[0].numpy(), [[2.0, 0.0], [0.0, 1.0]])
    with pytest.raises(LA.LinAlgError, match="order 1"):
        LA.cholesky(t([[-1.0]], device))
    with pytest.raises(RuntimeError):  # what PyTorch code catches
        LA.cholesky(t([[math.nan]], device))


def test_shape_and_dtype_errors(device):
    with pytest.raises(ShapeError, match=r"linalg.inv: expected square matrices.*\(2, 3\)"):
        LA.inv(t(np.ones((2, 3)), device))
    with pytest.raises(ShapeError, match="at least 2 dims"):
        LA.det(t(np.ones(3), device))
    with pytest.raises(DTypeError, match="float32 or float64"):
        LA.inv(tg.tensor([[1, 0], [0, 1]], device=device))
    with pytest.raises(ShapeError, match="do not fit"):
        LA.solve(t(np.eye(3), device), t(np.ones((2, 1)), device))
    with pytest.raises(ShapeError, match="size 3"):
        LA.cross(t(np.ones(2), device), t(np.ones(2), device))
    with pytest.raises(ValueError, match="mode"):
        LA.qr(t(np.eye(2), device), mode="full")
    with pytest.raises(ShapeError, match="1-D or 2-D"):
        LA.norm(t(np.ones((2, 2, 2)), device), ord=1)
    with pytest.raises(ValueError, match="ord"):
        LA.matrix_norm(t(np.eye(2), device), ord=3)


def test_qr_complete_tall_has_no_gradient(device):
    x = tg.tensor(RNG.standard_normal((4, 2)), dtype=tg.float64, device=device, requires_grad=True)
    q, r = LA.qr(x, mode="complete")
    with pytest.raises(NotImplementedError, match="reduced"):
        q.sum().backward()


# ------------------------------------------------------------------ torch.* names
def test_toplevel_names_exist():
    for name in toplevel.TOPLEVEL_NAMES:
        assert callable(getattr(toplevel, name)), name
    assert set(toplevel.TENSOR_METHODS) <= set(toplevel.TOPLEVEL_NAMES)
    assert set(toplevel.TOPLEVEL_NAMES) <= set(toplevel.__all__)


def test_toplevel_wrappers(device):
    a = RNG.standard_normal((3, 3)) + 3 * np.eye(3)
    b = RNG.standard_normal((3, 2))
    v, w = RNG.standard_normal(3), RNG.standard_normal(3)
    ta, tb, tv, tw = t(a, device), t(b, device), t(v, device), t(w, device)
    np.testing.assert_allclose(toplevel.det(ta).item(), np.linalg.det(a))
    np.testing.assert_allclose(toplevel.logdet(ta).item(), np.log(np.linalg.det(a)))
    assert math.isnan(toplevel.logdet(t([[0.0, 1.0], [1.0, 0.0]], device)).item())
    np.testing.assert_allclose(toplevel.inverse(ta).numpy(), np.linalg.inv(a), atol=1e-12)
    np.testing.assert_allclose(toplevel.pinverse(tb).numpy(), np.linalg.pinv(b), atol=1e-12)
    s = a @ a.T
    low = np.linalg.cholesky(s)
    np.testing.assert_allclose(toplevel.cholesky(t(s, device)).numpy(), low, atol=1e-12)
    np.testing.assert_allclose(toplevel.cholesky(t(s, device), True).numpy(), low.T, atol=1e-12)
    for factor, upper in ((low, False), (low.T, True)):
        got = toplevel.cholesky_solve(tb, t(factor, device), upper)
        np.testing.assert_allclose(got.numpy(), np.linalg.solve(s, b), atol=1e-10)
        got = toplevel.cholesky_inverse(t(factor, device), upper)
        np.testing.assert_allclose(got.numpy(), np.linalg.inv(s), atol=1e-10)
    q, r = toplevel.qr(tb)
    assert q.shape == (3, 2) and r.shape == (2, 2)
    assert toplevel.qr(tb, some=False).Q.shape == (3, 3)
    u, sv, vv = toplevel.svd(tb)
    assert u.shape == (3, 2) and vv.shape == (2, 2)
    np.testing.assert_allclose(((u * sv) @ vv.T).numpy(), b, atol=1e-12)
    u0, s0, v0 = toplevel.svd(tb, compute_uv=False)
    assert u0.shape == (3, 3) and v0.shape == (2, 2) and float(u0.abs().sum().item()) == 0.0
    np.testing.assert_allclose(toplevel.matrix_power(ta, 2).numpy(), a @ a, atol=1e-12)
    np.testing.assert_allclose(toplevel.mv(ta, tv).numpy(), a @ v, atol=1e-12)
    np.testing.assert_allclose(
        toplevel.addmv(tv, ta, tw, beta=0.5, alpha=2).numpy(), 0.5 * v + 2 * a @ w, atol=1e-12
    )
    np.testing.assert_allclose(toplevel.ger(tv, tw).numpy(), np.outer(v, w), atol=1e-12)
    np.testing.assert_allclose(
        toplevel.addr(ta, tv, tw, alpha=3).numpy(), a + 3 * np.outer(v, w), atol=1e-12
    )
    nan_in = t(np.full(3, math.nan), device)
    assert np.isfinite(toplevel.addmv(nan_in, ta, tw, beta=0).numpy()).all()
    np.testing.assert_allclose(toplevel.vdot(tv, tw).item(), np.vdot(v, w))
    np.testing.assert_allclose(toplevel.chain_matmul(ta, tb, tb.T).numpy(), a @ b @ b.T, atol=1e-12)
    np.testing.assert_allclose(toplevel.matrix_exp(ta * 0).numpy(), np.eye(3))
    with pytest.raises(ShapeError, match="mv"):
        toplevel.mv(tv, tv)


def test_factorizations_ignore_autocast(device):
    """Inside tg.autocast the factorization loops still run in the input's precision."""
    a = RNG.standard_normal((6, 6)) + 4 * np.eye(6)
    x = tg.tensor(a, dtype=tg.float32, device=device, requires_grad=True)
    with tg.autocast(device_type=device, dtype=tg.bfloat16):
        inverse = LA.inv(x)
        values = LA.svdvals(x)
    assert inverse.dtype == tg.float32
    np.testing.assert_allclose(inverse.detach().numpy(), np.linalg.inv(a), atol=1e-5)
    np.testing.assert_allclose(
        values.detach().numpy(), np.linalg.svd(a, compute_uv=False), rtol=1e-5
    )
