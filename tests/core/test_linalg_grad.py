"""tinygpt.linalg backward against float64 finite differences, on every backend.

Symmetric-input ops (cholesky, eigh) are checked through a symmetrizing map X -> f(X + X^T),
since they read one triangle only; eigenvectors and singular vectors through sign-invariant
functions of them (their signs are not unique)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygpt as tg
import tinygpt.linalg as LA
from tinygpt.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(1)


def leaf(x: np.ndarray, device: str) -> tg.Tensor:
    return tg.tensor(x, dtype=tg.float64, device=device, requires_grad=True)


def square(*shape: int) -> np.ndarray:
    n = shape[-1]
    return RNG.standard_normal(shape) + 2.0 * n**0.5 * np.eye(n)


def sym(x: tg.Tensor) -> tg.Tensor:
    return x + x.mT


def spd(x: tg.Tensor) -> tg.Tensor:
    eye = tg.eye(x.shape[-1], dtype=x.dtype, device=x.device)
    return x @ x.mT + x.shape[-1] * eye


CASES = {
    "vector_norm_2": (lambda x: LA.vector_norm(x, dim=-1), (2, 3, 3)),
    "vector_norm_3": (lambda x: LA.vector_norm(x, 3, dim=(0, 1)), (2, 3, 3)),
    "matrix_norm_fro": (lambda x: LA.matrix_norm(x), (2, 3, 4)),
    "matrix_norm_1": (lambda x: LA.matrix_norm(x, 1), (2, 3, 4)),
    "matrix_norm_inf": (lambda x: LA.matrix_norm(x, math.inf), (2, 3, 4)),
    "matrix_norm_nuc": (lambda x: LA.matrix_norm(x, "nuc"), (2, 3, 4)),
    "matrix_norm_2": (lambda x: LA.matrix_norm(x, 2), (2, 3, 4)),
    "matrix_norm_-2": (lambda x: LA.matrix_norm(x, -2), (2, 4, 3)),
    "cross": (lambda x: LA.cross(x, x.flip(-1)), (2, 3)),
    "vander": (lambda x: LA.vander(x[0]), (2, 4)),
    "multi_dot": (lambda x: LA.multi_dot([x, x.mT, x]), (3, 4)),
    "matrix_power_3": (lambda x: LA.matrix_power(x, 3), (2, 3, 3)),
    "matrix_power_-2": (lambda x: LA.matrix_power(x, -2), (3, 3)),
    "matrix_exp": (lambda x: LA.matrix_exp(x * 0.7), (2, 3, 3)),
    "inv": (LA.inv, (2, 3, 3)),
    "det": (LA.det, (2, 3, 3)),
    "slogdet": (lambda x: LA.slogdet(x).logabsdet, (2, 3, 3)),
    "solve": (lambda x: LA.solve(x, x[..., :2]), (2, 3, 3)),
    "solve_vector": (lambda x: LA.solve(x, x[..., 0]), (3, 3)),
    "solve_left_false": (lambda x: LA.solve(x, x[:2], left=False), (3, 3)),
    "solve_triangular_upper": (
        lambda x: LA.solve_triangular(x, x.mT, upper=True),
        (2, 3, 3),
    ),
    "solve_triangular_unit": (
        lambda x: LA.solve_triangular(x, x[..., :2], upper=False, unitriangular=True),
        (3, 3),
    ),
    "cholesky": (lambda x: LA.cholesky(spd(x)), (2, 3, 3)),
    "cholesky_upper": (lambda x: LA.cholesky(spd(x), upper=True), (3, 3)),
    "lu_factor": (lambda x: LA.lu_factor(x).LU, (2, 3, 3)),
    "lu_solve": (lambda x: LA.lu_solve(*LA.lu_factor(x), x[..., :2]), (3, 3)),
    "qr_tall_q": (lambda x: LA.qr(x).Q, (4, 3)),
    "qr_tall_r": (lambda x: LA.qr(x).R, (2, 4, 3)),
    "qr_wide": (lambda x: LA.qr(x).Q.sum() + LA.qr(x).R, (3, 5)),
    "eigvalsh": (lambda x: LA.eigvalsh(sym(x)), (2, 4, 4)),
    "eigh_vectors": (lambda x: LA.eigh(sym(x)).eigenvectors ** 2, (4, 4)),
    "svdvals": (LA.svdvals, (2, 4, 3)),
    "svd_u": (lambda x: LA.svd(x, full_matrices=False).U ** 2, (4, 3)),
    "svd_vh_wide": (lambda x: LA.svd(x, full_matrices=False).Vh ** 2, (3, 5)),
    "svd_full_rebuild": (lambda x: _rebuild(LA.svd(x)), (2, 3, 4)),
    "pinv_tall": (LA.pinv, (4, 3)),
    "pinv_wide": (LA.pinv, (2, 3, 4)),
    "lstsq": (lambda x: LA.lstsq(x, x[..., :1] * 2 + 1).solution, (4, 3)),
    "cond": (LA.cond, (3, 3)),
}


def _rebuild(result):
    u, s, vh = result
    k = s.shape[-1]
    return (u[..., :, :k] * s.unsqueeze(-2)) @ vh[..., :k, :]


def sample(shape: tuple[int, ...]) -> np.ndarray:
    """Well-conditioned square matrices, or plain normal samples."""
    return square(*shape) if shape[-1] == shape[-2] else RNG.standard_normal(shape)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient(device, name):
    fn, shape = CASES[name]
    x = sample(shape)
    assert gradcheck(fn, [leaf(x, device)])


@pytest.mark.parametrize("name", ["inv", "det", "solve", "cholesky", "eigvalsh", "svdvals"])
def test_second_derivative(device, name):
    """create_graph=True differentiates the backward formula itself."""
    fn, shape = CASES[name]
    x = sample(shape)
    assert gradgradcheck(fn, [leaf(x, device)])


def test_vector_norm_gradient_at_zero_is_zero(device):
    x = tg.zeros(3, dtype=tg.float64, device=device, requires_grad=True)
    LA.vector_norm(x).backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_float32_gradients_follow_the_input_dtype(device):
    x = tg.tensor(square(3, 3), dtype=tg.float32, device=device, requires_grad=True)
    (LA.inv(x).sum() + LA.det(x) + LA.svdvals(x).sum()).backward()
    assert x.grad.dtype == tg.float32
    assert np.isfinite(x.grad.numpy()).all()


def test_no_grad_records_nothing(device):
    x = tg.tensor(square(3, 3), dtype=tg.float64, device=device, requires_grad=True)
    with tg.no_grad():
        y = LA.inv(x)
    assert not y.requires_grad and y.grad_fn is None


@pytest.mark.parametrize(
    "matrix",
    [[[1.0, 2.0], [2.0, 4.0]], [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]],
)
def test_det_gradient_at_a_singular_matrix_is_the_cofactor_matrix(device, matrix):
    """det is a polynomial: its gradient is the cofactor matrix even where det(A) = 0."""
    x = leaf(np.array(matrix), device)
    assert gradcheck(LA.det, [x])
    a = np.array(matrix)
    if a.shape == (2, 2):
        LA.det(x).backward()
        np.testing.assert_allclose(x.grad.numpy(), [[a[1, 1], -a[1, 0]], [-a[0, 1], a[0, 0]]])


def test_tensorinv_tensorsolve_gradients(device):
    a = leaf(square(6, 6).reshape(6, 2, 3), device)
    assert gradcheck(lambda t: LA.tensorinv(t, ind=1), [a])
    b = leaf(RNG.standard_normal((2, 3)), device)
    assert gradcheck(lambda t, u: LA.tensorsolve(t.reshape(2, 3, 6), u), [a, b])
