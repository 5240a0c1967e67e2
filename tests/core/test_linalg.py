"""tinygpt.linalg forward against numpy.linalg on every backend, float32 and float64, with
batched shapes. Gradients are in test_linalg_grad.py, errors and the torch.* wrappers in
test_linalg_api.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygpt as tg
import tinygpt.linalg as LA

RNG = np.random.default_rng(0)
DTYPES = [(tg.float32, np.float32, 2e-4), (tg.float64, np.float64, 1e-10)]


def rand(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


def well_conditioned(*shape: int) -> np.ndarray:
    """Square matrices with a strong diagonal: condition numbers near 1."""
    n = shape[-1]
    return rand(*shape) + 2.0 * n**0.5 * np.eye(n)


def spd(*shape: int) -> np.ndarray:
    x = rand(*shape)
    return x @ np.swapaxes(x, -1, -2) + shape[-1] * np.eye(shape[-1])


def symmetric(*shape: int) -> np.ndarray:
    x = rand(*shape)
    return x + np.swapaxes(x, -1, -2)


def close(got: tg.Tensor, want: np.ndarray, tol: float) -> None:
    assert tuple(got.shape) == np.shape(want)
    np.testing.assert_allclose(got.numpy().astype(np.float64), want, rtol=tol, atol=tol)


def to(x: np.ndarray, dtype: tg.DType, device: str) -> tg.Tensor:
    return tg.tensor(x, dtype=dtype, device=device)


# ------------------------------------------------------------------ norms
@pytest.mark.parametrize("ord", [2, 1, math.inf, -math.inf, 0, 3, 0.5, -1])
@pytest.mark.parametrize(("dim", "keepdim"), [(None, False), (-1, False), ((0, 2), True)])
def test_vector_norm(device, ord, dim, keepdim):
    x = rand(2, 3, 4)
    x[0, 0, 0] = 0.0
    got = LA.vector_norm(to(x, tg.float64, device), ord, dim, keepdim)
    flat = x.reshape(-1) if dim is None else x
    if dim is None:
        want = np.linalg.norm(flat, ord)
    else:
        axes = dim if isinstance(dim, tuple) else (dim,)
        moved = np.moveaxis(x, axes, range(-len(axes), 0)).reshape(
            *[s for i, s in enumerate(x.shape) if i not in [a % 3 for a in axes]], -1
        )
        want = np.linalg.norm(moved, ord, axis=-1)
        if keepdim:
            want = np.expand_dims(want, tuple(a % 3 for a in axes))
    close(got, want, 1e-10)


@pytest.mark.parametrize("ord", ["fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf])
@pytest.mark.parametrize(("dtype", "np_dtype", "tol"), DTYPES)
def test_matrix_norm(device, ord, dtype, np_dtype, tol):
    x = rand(2, 3, 4)
    got = LA.matrix_norm(to(x, dtype, device), ord)
    close(got, np.linalg.norm(x, ord, axis=(-2, -1)), tol)


def test_matrix_norm_other_dims_and_keepdim(device):
    x = rand(3, 2, 4)
    for ord in ["fro", 1, math.inf, 2]:
        got = LA.matrix_norm(to(x, tg.float64, device), ord, dim=(0, 2), keepdim=True)
        want = np.linalg.norm(x, ord, axis=(0, 2), keepdims=True)
        close(got, want, 1e-10)


@pytest.mark.parametrize(
    ("shape", "ord", "dim"),
    [
        ((2, 3, 4), None, None),
        ((5,), 1, None),
        ((3, 4), None, None),
        ((3, 4), "fro", None),
        ((3, 4), math.inf, None),
        ((3, 4), 2, None),
        ((2, 3, 4), 3, 1),
        ((2, 3, 4), "nuc", (1, 2)),
    ],
)
def test_norm_dispatch(device, shape, ord, dim):
    x = rand(*shape)
    got = LA.norm(to(x, tg.float64, device), ord, dim)
    if dim is None and ord is None:
        want = np.linalg.norm(x.reshape(-1))
    else:
        want = np.linalg.norm(x, ord, axis=dim)
    close(got, np.asarray(want), 1e-10)


# ------------------------------------------------------------------ products
def test_vecdot_cross_vander_diagonal(device):
    x, y = rand(2, 4, 3), rand(4, 3)
    tx, ty = to(x, tg.float64, device), to(y, tg.float64, device)
    close(LA.vecdot(tx, ty), (x * y).sum(-1), 1e-12)
    close(LA.cross(tx, ty), np.cross(x, y), 1e-12)
    close(LA.cross(to(x, tg.float64, device), tx, dim=2), np.cross(x, x), 1e-12)
    v = rand(2, 5)
    close(
        LA.vander(to(v, tg.float64, device)),
        np.stack([np.vander(r, increasing=True) for r in v]),
        1e-12,
    )
    close(LA.vander(to(v[0], tg.float64, device), N=3), np.vander(v[0], 3, increasing=True), 1e-12)
    close(LA.diagonal(tx), np.diagonal(x, axis1=-2, axis2=-1), 0)
    close(LA.diagonal(tx, offset=1), np.diagonal(x, 1, axis1=-2, axis2=-1), 0)
    close(LA.matmul(tx, ty.mT), x @ y.T, 1e-12)


def test_multi_dot(device):
    mats = [rand(5), rand(5, 2), rand(2, 7), rand(7, 3), rand(3)]
    got = LA.multi_dot([to(m, tg.float64, device) for m in mats])
    close(got, np.asarray(np.linalg.multi_dot(mats)), 1e-10)
    two = LA.multi_dot([to(mats[1], tg.float64, device), to(mats[2], tg.float64, device)])
    close(two, mats[1] @ mats[2], 1e-12)


@pytest.mark.parametrize("n", [0, 1, 2, 5, -1, -3])
def test_matrix_power(device, n):
    a = well_conditioned(2, 3, 3)
    got = LA.matrix_power(to(a, tg.float64, device), n)
    close(got, np.linalg.matrix_power(a, n), 1e-10)


@pytest.mark.parametrize("scale", [0.01, 1.0, 20.0])
@pytest.mark.parametrize(("dtype", "np_dtype", "tol"), DTYPES)
def test_matrix_exp(device, scale, dtype, np_dtype, tol):
    a = rand(2, 4, 4) * scale / 4
    # exp(A) = V exp(w) V^T for symmetric A; for a general A compare with a long series
    sym = (a + np.swapaxes(a, -1, -2)) / 2
    w, v = np.linalg.eigh(sym)
    want = v @ (np.exp(w)[..., None] * np.swapaxes(v, -1, -2))
    got = LA.matrix_exp(to(sym, dtype, device))
    np.testing.assert_allclose(got.numpy(), want, rtol=tol * 10, atol=tol * np.abs(want).max())
    nil = np.triu(rand(3, 3), 1)  # nilpotent: exp is the finite series I + N + N^2 / 2
    close(LA.matrix_exp(to(nil, tg.float64, device)), np.eye(3) + nil + nil @ nil / 2, 1e-12)


# ------------------------------------------------------------------ solvers
@pytest.mark.parametrize("shape", [(1, 1), (4, 4), (2, 3, 5, 5)])
@pytest.mark.parametrize(("dtype", "np_dtype", "tol"), DTYPES)
def test_inv_det_slogdet(device, shape, dtype, np_dtype, tol):
    a = well_conditioned(*shape)
    ta = to(a, dtype, device)
    close(LA.inv(ta), np.linalg.inv(a), tol)
    close(LA.det(ta), np.linalg.det(a), tol * np.abs(np.linalg.det(a)).max())
    sign, logabs = LA.slogdet(ta)
    want_sign, want_log = np.linalg.slogdet(a)
    close(sign, want_sign, 0)
    close(logabs, want_log, tol)
    inverse, info = LA.inv_ex(ta)
    assert info.tolist() == np.zeros(shape[:-2], dtype=int).tolist()


def test_det_needs_pivoting_and_is_signed(device):
    a = np.array([[0.0, 2.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 3.0]])
    close(LA.det(to(a, tg.float64, device)), np.linalg.det(a), 1e-12)
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    assert LA.det(to(singular, tg.float64, device)).item() == 0.0
    sign, logabs = LA.slogdet(to(singular, tg.float64, device))
    assert sign.item() == 0.0 and logabs.item() == -math.inf


@pytest.mark.parametrize(
    ("a_shape", "b_shape"),
    [
        ((4, 4), (4,)),
        ((4, 4), (4, 2)),
        ((2, 4, 4), (2, 4)),
        ((2, 4, 4), (4, 3)),
        ((4, 4), (3, 4, 1)),
    ],
)
@pytest.mark.parametrize(("dtype", "np_dtype", "tol"), DTYPES)
def test_solve(device, a_shape, b_shape, dtype, np_dtype, tol):
    a, b = well_conditioned(*a_shape), rand(*b_shape)
    got = LA.solve(to(a, dtype, device), to(b, dtype, device))
    vector = len(b_shape) == 1 or b_shape == a_shape[:-1]
    want = np.linalg.solve(a, b[..., None])[..., 0] if vector else np.linalg.solve(a, b)
    close(got, want, tol)


def test_solve_right(device):
    a, b = well_conditioned(2, 3, 3), rand(2, 5, 3)
    got = LA.solve(to(a, tg.float64, device), to(b, tg.float64, device), left=False)
    close(got, b @ np.linalg.inv(a), 1e-10)


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("unit", [True, False])
@pytest.mark.parametrize("left", [True, False])
def test_solve_triangular(device, upper, unit, left):
    a, b = well_conditioned(2, 4, 4), rand(2, 4, 4)
    tri = np.triu(a) if upper else np.tril(a)
    if unit:
        tri = tri - np.diagonal(tri, axis1=-2, axis2=-1)[..., None] * np.eye(4) + np.eye(4)
    got = LA.solve_triangular(
        to(a, tg.float64, device),
        to(b, tg.float64, device),
        upper=upper,
        left=left,
        unitriangular=unit,
    )
    want = np.linalg.solve(tri, b) if left else b @ np.linalg.inv(tri)
    close(got, want, 1e-10)


@pytest.mark.parametrize(("dtype", "np_dtype", "tol"), DTYPES)
def test_cholesky(device, dtype, np_dtype, tol):
    a = spd(2, 3, 5, 5)
    low = LA.cholesky(to(a, dtype, device))
    close(low, np.linalg.cholesky(a), tol)
    up = LA.cholesky(to(a, dtype, device), upper=True)
    close(up, np.swapaxes(np.linalg.cholesky(a), -1, -2), tol)
    # only the lower triangle is read
    messy = a + np.triu(rand(5, 5), 1)
    close(LA.cholesky(to(messy, dtype, device)), np.linalg.cholesky(a), tol)


def test_lu_family(device):
    a, b = rand(2, 4, 4), rand(2, 4, 3)
    ta, tb = to(a, tg.float64, device), to(b, tg.float64, device)
    p, low, up = LA.lu(ta)
    close(p @ low @ up, a, 1e-12)
    assert np.allclose(np.triu(low.numpy(), 1), 0) and np.allclose(np.tril(up.numpy(), -1), 0)
    assert np.abs(np.tril(low.numpy(), -1)).max() <= 1.0  # partial pivoting: |L| <= 1
    packed, pivots = LA.lu_factor(ta)
    assert pivots.dtype == tg.int32 and pivots.shape == (2, 4)
    close(LA.lu_solve(packed, pivots, tb), np.linalg.solve(a, b), 1e-10)
    close(
        LA.lu_solve(packed, pivots, tb, adjoint=True),
        np.linalg.solve(np.swapaxes(a, -1, -2), b),
        1e-10,
    )
    close(
        LA.lu_solve(packed, pivots, tb.mT, left=False),
        np.swapaxes(b, -1, -2) @ np.linalg.inv(a),
        1e-10,
    )


# ------------------------------------------------------------------ decompositions
@pytest.mark.parametrize("shape", [(5, 3), (3, 3), (2, 3, 5), (1, 1)])
@pytest.mark.parametrize("mode", ["reduced", "complete", "r"])
@pytest.mark.parametrize(("dtype", "np_dtype", "tol"), DTYPES)
def test_qr(device, shape, mode, dtype, np_dtype, tol):
    a = rand(*shape)
    q, r = LA.qr(to(a, dtype, device), mode)
    want = np.linalg.qr(a, mode)
    if mode == "r":
        assert q.numel() == 0
        close(r, want if isinstance(want, np.ndarray) else want[1], tol)
        return
    close(q, want[0], tol)
    close(r, want[1], tol)


@pytest.mark.parametrize("n", [1, 2, 3, 6, 9])
@pytest.mark.parametrize(("dtype", "np_dtype", "tol"), DTYPES)
def test_eigh(device, n, dtype, np_dtype, tol):
    a = symmetric(2, n, n)
    w, v = LA.eigh(to(a, dtype, device))
    want_w, want_v = np.linalg.eigh(a)
    close(w, want_w, tol * n)
    # eigenvectors up to sign: compare |V| and the reconstruction
    close(v.abs(), np.abs(want_v), tol * n * 10)
    rebuilt = (v * w.unsqueeze(-2)) @ v.mT
    close(rebuilt, a, tol * n)
    close(LA.eigvalsh(to(a, dtype, device), UPLO="U"), want_w, tol * n)


def test_eigh_reads_one_triangle_and_repeated_eigenvalues(device):
    a = symmetric(4, 4)
    noisy = a + np.triu(rand(4, 4), 1)
    close(LA.eigvalsh(to(noisy, tg.float64, device)), np.linalg.eigvalsh(a), 1e-10)
    noisy_low = a + np.tril(rand(4, 4), -1)
    close(LA.eigvalsh(to(noisy_low, tg.float64, device), UPLO="U"), np.linalg.eigvalsh(a), 1e-10)
    w, v = LA.eigh(to(np.eye(3) * 2.0, tg.float64, device))
    close(w, np.full(3, 2.0), 1e-12)
    close(v.mT @ v, np.eye(3), 1e-12)


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4), (2, 6, 2), (1, 1), (3, 1)])
@pytest.mark.parametrize("full", [True, False])
@pytest.mark.parametrize(("dtype", "np_dtype", "tol"), DTYPES)
def test_svd(device, shape, full, dtype, np_dtype, tol):
    a = rand(*shape)
    u, s, vh = LA.svd(to(a, dtype, device), full_matrices=full)
    want_u, want_s, want_vh = np.linalg.svd(a, full_matrices=full)
    assert u.shape == want_u.shape and vh.shape == want_vh.shape
    close(s, want_s, tol)
    k = s.shape[-1]
    rebuilt = (u[..., :, :k] * s.unsqueeze(-2)) @ vh[..., :k, :]
    close(rebuilt, a, tol * 4)
    close(
        u.mT @ u,
        np.broadcast_to(np.eye(u.shape[-1]), want_u.shape[:-2] + (u.shape[-1],) * 2),
        tol * 4,
    )
    close(
        vh @ vh.mT,
        np.broadcast_to(np.eye(vh.shape[-2]), want_vh.shape[:-2] + (vh.shape[-2],) * 2),
        tol * 4,
    )
    close(LA.svdvals(to(a, dtype, device)), want_s, tol)


def test_svd_rank_deficient_still_orthonormal(device):
    a = rand(6, 2) @ rand(2, 4)
    u, s, vh = LA.svd(to(a, tg.float64, device))
    close(s[2:], np.zeros(2), 1e-12)
    close(u.mT @ u, np.eye(6), 1e-12)
    close(vh @ vh.mT, np.eye(4), 1e-12)
    close((u[:, :4] * s) @ vh, a, 1e-12)


def test_pinv_rank_lstsq_cond(device):
    full_rank = rand(2, 5, 3)
    low_rank = rand(5, 2) @ rand(2, 4)
    for a in (full_rank, low_rank):
        close(LA.pinv(to(a, tg.float64, device)), np.linalg.pinv(a), 1e-10)
        close(LA.matrix_rank(to(a, tg.float64, device)), np.asarray(np.linalg.matrix_rank(a)), 0)
    sym = low_rank @ low_rank.T
    close(
        LA.pinv(to(sym, tg.float64, device), hermitian=True),
        np.linalg.pinv(sym, hermitian=True),
        1e-8,
    )
    assert LA.matrix_rank(to(sym, tg.float64, device), hermitian=True).item() == 2
    a, b = rand(6, 3), rand(6, 2)
    result = LA.lstsq(to(a, tg.float64, device), to(b, tg.float64, device), driver="gelsd")
    solution, residuals, rank, values = np.linalg.lstsq(a, b, rcond=None)
    close(result.solution, solution, 1e-10)
    close(result.residuals, residuals, 1e-10)
    assert result.rank.item() == rank
    close(result.singular_values, values, 1e-10)
    default = LA.lstsq(to(a, tg.float64, device), to(b[:, 0], tg.float64, device))
    close(default.solution, solution[:, 0], 1e-10)
    assert default.residuals.numel() == 0 and default.singular_values.numel() == 0
    square = well_conditioned(2, 3, 3)
    for p in [None, 2, -2, "fro", "nuc", 1, -1, math.inf, -math.inf]:
        close(LA.cond(to(square, tg.float64, device), p), np.linalg.cond(square, p), 1e-8)
    assert (
        LA.cond(to(np.array([[1.0, 2.0], [2.0, 4.0]]), tg.float64, device), "fro").item()
        == math.inf
    )


@given(
    batch=st.lists(st.integers(1, 2), max_size=2),
    n=st.integers(1, 4),
    m=st.integers(1, 4),
)
def test_decompositions_rebuild_any_shape(batch, n, m):
    """qr, svd and solve put their input back together for any (..., m, n) shape."""
    rng = np.random.default_rng(len(batch) * 100 + n * 10 + m)
    a = rng.standard_normal((*batch, m, n))
    ta = tg.tensor(a, dtype=tg.float64)
    q, r = LA.qr(ta)
    np.testing.assert_allclose((q @ r).numpy(), a, atol=1e-10)
    u, s, vh = LA.svd(ta, full_matrices=False)
    np.testing.assert_allclose(((u * s.unsqueeze(-2)) @ vh).numpy(), a, atol=1e-10)
    square = a[..., :n, :n] if m >= n else a[..., :m, :m]
    sq = square + 3.0 * np.eye(square.shape[-1])
    x = LA.solve(tg.tensor(sq, dtype=tg.float64), tg.tensor(np.ones(sq.shape[:-1])))
    np.testing.assert_allclose(
        x.numpy(), np.linalg.solve(sq, np.ones(sq.shape[:-1])[..., None])[..., 0], atol=1e-10
    )


def test_tensorinv_tensorsolve(device):
    a = rand(6, 2, 3)
    close(LA.tensorinv(to(a, tg.float64, device), ind=1), np.linalg.tensorinv(a, ind=1), 1e-10)
    a4 = rand(2, 3, 6) + 0.0
    b = rand(2, 3)
    got = LA.tensorsolve(to(a4, tg.float64, device), to(b, tg.float64, device))
    close(got, np.linalg.tensorsolve(a4, b), 1e-10)
    got = LA.tensorsolve(to(a, tg.float64, device), to(b, tg.float64, device), dims=(0,))
    close(got, np.linalg.tensorsolve(a, b, axes=(0,)), 1e-10)


@pytest.mark.parametrize("shape", [(0, 0), (2, 0, 0), (0, 3, 3)])
def test_empty_matrices(device, shape):
    """Empty inputs give empty (or neutral) results, as in PyTorch and NumPy."""
    a = np.zeros(shape)
    ta = to(a, tg.float64, device)
    close(LA.inv(ta), a, 0)
    close(LA.det(ta), np.linalg.det(a), 0)  # the empty product: 1
    close(LA.cholesky(ta), a, 0)
    close(LA.eigvalsh(ta), np.zeros(shape[:-1]), 0)
    close(LA.svdvals(ta), np.zeros(shape[:-1]), 0)
    close(LA.pinv(ta), a, 0)
    close(LA.matrix_norm(ta, 2), np.zeros(shape[:-2]), 0)
    close(LA.matrix_rank(ta), np.zeros(shape[:-2], dtype=np.int64), 0)
    close(LA.matrix_exp(ta), a, 0)
