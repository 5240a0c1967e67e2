"""torch.linalg as PyTorch code calls it, run as written with `tinygpt` (tinygpt.linalg):
norms, products, solves, factorizations, their gradients, and the errors for singular and
indefinite input. Eigen- and singular vectors are compared through sign-free quantities (|V|,
reconstructions), since their signs are not unique.

The last idioms use the torch.* top-level names and Tensor methods (`torch.det`, `x.inverse()`);
they are skipped until `tinygpt/__init__.py` and tensor_methods.py wire them.

The harness is conftest.py.
"""

from __future__ import annotations

import math

import pytest
from idiom_harness import IDIOM_DEVICES, idiom, params

import tinygpt as tg
import tinygpt.linalg  # noqa: F401 - sets tinygpt.linalg, which the idioms reach as torch.linalg

pytestmark = pytest.mark.oracle


def mat(torch, n=3, batch=(), dtype=None):
    """A fixed, well-conditioned (*batch, n, n) matrix."""
    dtype = torch.float64 if dtype is None else dtype
    count = n * n * math.prod(batch)
    x = ((torch.arange(float(count), dtype=dtype) ** 2) * 0.37).sin().reshape(*batch, n, n)
    return x + n * torch.eye(n, dtype=dtype)


def rect(torch, m, n, dtype=None):
    dtype = torch.float64 if dtype is None else dtype
    return ((torch.arange(float(m * n), dtype=dtype) ** 2) * 0.61 + 0.3).cos().reshape(m, n)


# ------------------------------------------------------------------ norms and products
@idiom
def vector_norms(torch, nn, F, optim):
    x = torch.tensor([[3.0, -4.0, 0.0], [1.0, 2.0, -2.0]])
    LA = torch.linalg
    return [
        LA.vector_norm(x),
        LA.vector_norm(x, ord=1, dim=1),
        LA.vector_norm(x, ord=math.inf, dim=-1, keepdim=True),
        LA.vector_norm(x, ord=-math.inf, dim=0),
        LA.vector_norm(x, ord=0),
        LA.vector_norm(x, ord=3.0, dim=(0, 1)),
        LA.vector_norm(x, dtype=torch.float64),
        LA.norm(x),
        LA.norm(x, dim=1),
        LA.norm(x[0], ord=1),
    ]


@idiom
def matrix_norms(torch, nn, F, optim):
    x = rect(torch, 3, 4)
    LA = torch.linalg
    return [LA.matrix_norm(x, ord) for ord in ["fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf]] + [
        LA.matrix_norm(x.reshape(2, 2, 3), dim=(0, 2), keepdim=True),
        LA.norm(x, ord="fro"),
        LA.norm(x, ord=math.inf),
        LA.norm(x, ord=2),
    ]


@idiom
def products(torch, nn, F, optim):
    LA = torch.linalg
    a, b = rect(torch, 3, 4), rect(torch, 4, 2)
    v = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    w = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    return [
        LA.vecdot(a, a.flip(-1)),
        LA.cross(v, w),
        LA.cross(a[:, :3], a[:, 1:]),
        LA.multi_dot([v, a, b]),
        LA.multi_dot([a, b, b.T]),
        LA.vander(v),
        LA.vander(w, N=5),
        LA.diagonal(a),
        LA.diagonal(a, offset=1),
        LA.matmul(a, b),
        LA.matrix_power(mat(torch), 3),
        LA.matrix_power(mat(torch), 0),
        LA.matrix_power(mat(torch), -2),
        LA.matrix_exp(mat(torch) * 0.3),
        LA.matrix_exp(mat(torch, 2, (2,), torch.float32) * 0.1),
    ]


# ------------------------------------------------------------------ solves
@idiom
def inverse_and_determinants(torch, nn, F, optim):
    LA = torch.linalg
    a = mat(torch, 4, (2,))
    sign, logabsdet = LA.slogdet(a)
    inverse, info = LA.inv_ex(a)
    return [
        LA.inv(a),
        LA.det(a),
        sign,
        logabsdet,
        LA.slogdet(-a[0]).sign,
        inverse,
        info,
        LA.det(torch.tensor([[1.0, 2.0], [2.0, 4.0]])),
        LA.inv(mat(torch, 2, dtype=torch.float32)),
    ]


@idiom
def solves(torch, nn, F, optim):
    LA = torch.linalg
    a = mat(torch, 3, (2,))
    b = rect(torch, 3, 2)
    return [
        LA.solve(a, b),
        LA.solve(a, b[:, 0]),
        LA.solve(a, a[:, :, 0]),
        LA.solve(a[0], b.T, left=False),
        LA.solve_ex(a, b).result,
        LA.solve_triangular(a, b, upper=True),
        LA.solve_triangular(a, b.expand(2, 3, 2), upper=False, unitriangular=True),
        LA.solve_triangular(a[0], b.T, upper=True, left=False),
    ]


@idiom
def factorizations(torch, nn, F, optim):
    LA = torch.linalg
    a = mat(torch, 4, (2,))
    spd = a @ a.mT
    packed, pivots = LA.lu_factor(a)
    p, low, up = LA.lu(a)
    q, r = LA.qr(rect(torch, 5, 3))
    qc, rc = LA.qr(rect(torch, 3, 5), mode="complete")
    return [
        LA.cholesky(spd),
        LA.cholesky(spd, upper=True),
        LA.cholesky_ex(spd).info,
        packed,
        pivots,
        p,
        low,
        up,
        LA.lu_solve(packed, pivots, a[..., :2]),
        q,
        r,
        qc,
        rc,
        LA.qr(rect(torch, 4, 4), mode="r").R,
    ]


@idiom
def spectral(torch, nn, F, optim):
    LA = torch.linalg
    x = rect(torch, 4, 4)
    sym = x + x.T
    w, v = LA.eigh(sym)
    u, s, vh = LA.svd(rect(torch, 5, 3), full_matrices=False)
    uf, sf, vhf = LA.svd(rect(torch, 3, 5))
    low_rank = rect(torch, 5, 2) @ rect(torch, 2, 4)
    result = LA.lstsq(rect(torch, 6, 3), rect(torch, 6, 2), driver="gelsd")
    return [
        w,
        v.abs(),
        (v * w) @ v.T,
        LA.eigvalsh(sym, UPLO="U"),
        s,
        u.abs(),
        vh.abs(),
        (u * s) @ vh,
        uf.shape,
        vhf.shape,
        sf,
        LA.svdvals(rect(torch, 3, 3, torch.float32)),
        LA.pinv(rect(torch, 5, 3)),
        LA.pinv(low_rank),
        LA.matrix_rank(low_rank),
        LA.matrix_rank(rect(torch, 2, 4).expand(3, 2, 4)),
        result.solution,
        result.residuals,
        result.rank,
        result.singular_values,
        LA.lstsq(rect(torch, 6, 3), rect(torch, 6, 2)).solution,
        LA.cond(mat(torch)),
        LA.cond(mat(torch), "fro"),
    ]


@idiom
def tensor_solves_and_empty_inputs(torch, nn, F, optim):
    LA = torch.linalg
    a = mat(torch, 6).reshape(6, 2, 3)
    b = rect(torch, 2, 3)
    empty = torch.zeros(2, 0, 0)
    return [
        LA.tensorinv(a, ind=1),
        LA.tensorsolve(a, b, dims=(0,)),
        LA.inv(empty),
        LA.det(empty),
        LA.svdvals(empty),
        LA.matrix_rank(empty),
        LA.eigvalsh(torch.zeros(0, 3, 3)),
    ]


# ------------------------------------------------------------------ gradients
@idiom
def gradients_of_solves(torch, nn, F, optim):
    LA = torch.linalg
    grads = []
    for fn in [
        lambda a: LA.inv(a).sum(),
        lambda a: LA.det(a).sum(),
        lambda a: LA.slogdet(a).logabsdet.sum(),
        lambda a: (LA.solve(a, a[..., :1] * 2) ** 2).sum(),
        lambda a: LA.solve_triangular(a, a.mT, upper=True).sum(),
        lambda a: LA.matrix_exp(a * 0.2).sum(),
        lambda a: LA.matrix_norm(a, "nuc").sum(),
    ]:
        a = mat(torch, 3, (2,)).requires_grad_()
        fn(a).backward()
        grads.append(a.grad)
    return grads


@idiom
def gradients_of_factorizations(torch, nn, F, optim):
    LA = torch.linalg
    grads = []
    weights = torch.arange(9.0, dtype=torch.float64).reshape(3, 3)
    for fn in [
        lambda a: (LA.cholesky(a @ a.mT) * weights).sum(),
        lambda a: (LA.qr(a).Q * weights).sum() + LA.qr(a).R.sum(),
        lambda a: (LA.eigvalsh(a + a.mT) * weights[0]).sum(),
        lambda a: (LA.eigh(a + a.mT).eigenvectors ** 2 * weights).sum(),
        lambda a: (LA.svdvals(a) * weights[0]).sum(),
        lambda a: ((LA.svd(a).U * LA.svd(a).Vh.mT) * weights).sum(),
        lambda a: (LA.pinv(a[:, :2]) ** 2).sum(),
        lambda a: (LA.lu_factor(a).LU * weights).sum(),
    ]:
        a = mat(torch, 3).requires_grad_()
        fn(a).backward()
        grads.append(a.grad)
    return grads


# ------------------------------------------------------------------ errors
@idiom(raises=RuntimeError)
def inverse_of_singular_matrix(torch, nn, F, optim):
    return torch.linalg.inv(torch.tensor([[1.0, 2.0], [2.0, 4.0]]))


@idiom(raises=RuntimeError)
def cholesky_of_indefinite_matrix(torch, nn, F, optim):
    return torch.linalg.cholesky(torch.tensor([[1.0, 2.0], [2.0, 1.0]]))


@idiom
def catching_linalg_error(torch, nn, F, optim):
    try:
        torch.linalg.solve(torch.zeros(2, 2), torch.ones(2))
    except torch.linalg.LinAlgError:
        return "singular"
    return "solved"


@idiom(raises=RuntimeError)
def inverse_of_rectangular_matrix(torch, nn, F, optim):
    return torch.linalg.inv(torch.ones(2, 3))


IDIOMS = params(globals())


@pytest.mark.parametrize("dev", IDIOM_DEVICES)
@pytest.mark.parametrize("item", IDIOMS)
def test_idiom(item, dev, check_idiom):
    check_idiom(item, dev)


# ------------------------------------------------------------------ torch.* names (after wiring)
@idiom
def toplevel_names(torch, nn, F, optim):
    a = mat(torch, 3)
    b = rect(torch, 3, 2)
    v = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    low = torch.linalg.cholesky(a @ a.T)
    u, s, vv = torch.svd(b)
    return [
        torch.det(a),
        torch.logdet(a),
        torch.slogdet(a).logabsdet,
        torch.inverse(a),
        torch.pinverse(b),
        torch.cholesky(a @ a.T),
        torch.cholesky_solve(b, low),
        torch.cholesky_inverse(low),
        torch.qr(b).R,
        s,
        (u * s) @ vv.T,
        torch.matrix_power(a, 2),
        torch.matrix_exp(a * 0.1),
        torch.mv(a, v),
        torch.addmv(v, a, v, beta=0.5),
        torch.addr(a, v, v, alpha=2),
        torch.ger(v, v),
        torch.vdot(v, v),
        torch.chain_matmul(a, a, b),
    ]


@idiom
def tensor_methods(torch, nn, F, optim):
    a = mat(torch, 3)
    v = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    return [
        a.det(),
        a.logdet(),
        a.inverse(),
        a.pinverse(),
        a.matrix_power(3),
        a.matrix_exp(),
        a.mv(v),
        v.ger(v),
        v.vdot(v),
        (a @ a.T).cholesky(),
        a.slogdet().sign,
        a.svd().S,
        a.qr().R,
    ]


@pytest.mark.parametrize("dev", IDIOM_DEVICES)
@pytest.mark.parametrize("item", params({"toplevel_names": toplevel_names}))
def test_toplevel_idiom(item, dev, check_idiom):
    if not hasattr(tg, "cholesky_inverse"):
        pytest.skip("the torch.* linalg names are not wired into tinygpt yet")
    check_idiom(item, dev)


@pytest.mark.parametrize("dev", IDIOM_DEVICES)
@pytest.mark.parametrize("item", params({"tensor_methods": tensor_methods}))
def test_tensor_method_idiom(item, dev, check_idiom):
    if not hasattr(tg.Tensor, "cholesky_inverse"):
        pytest.skip("the linalg Tensor methods are not wired into tinygpt.Tensor yet")
    check_idiom(item, dev)
