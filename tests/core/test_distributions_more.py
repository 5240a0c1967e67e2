"""tinygpt.distributions, part 2: Laplace, Exponential, Gamma, Beta, Dirichlet, Poisson,
Binomial, MultivariateNormal, TransformedDistribution and their KL divergences, checked
against formulas computed here with NumPy/math, seeded sample statistics and gradchecks.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygpt as tg
import tinygpt.distributions as D
from tinygpt.autograd import gradcheck
from tinygpt.distributions import transforms as T

lgamma = np.vectorize(math.lgamma)


def digamma(x):
    """psi(x) as a central difference of math.lgamma (accurate to ~1e-9 here)."""
    h = 1e-5
    return (lgamma(np.asarray(x) + h) - lgamma(np.asarray(x) - h)) / (2 * h)


def t(values, device, dtype=tg.float64, requires_grad=False):
    return tg.tensor(values, dtype=dtype, device=device, requires_grad=requires_grad)


def close(got, want, rtol=1e-6, atol=1e-8):
    np.testing.assert_allclose(got.numpy(), np.asarray(want, dtype=np.float64), rtol, atol)


# ------------------------------------------------------------------ Laplace / Exponential
def test_laplace_formulas_and_samples(device):
    loc, scale, x = 0.5, np.array([1.0, 2.0]), np.array([0.0, 3.0])
    d = D.Laplace(t(loc, device), t(scale.tolist(), device))
    close(d.log_prob(t(x.tolist(), device)), -np.log(2 * scale) - np.abs(x - loc) / scale)
    close(d.entropy(), 1 + np.log(2 * scale))
    close(d.variance, 2 * scale**2)
    cdf = np.where(x < loc, 0.5 * np.exp((x - loc) / scale), 1 - 0.5 * np.exp(-(x - loc) / scale))
    close(d.cdf(t(x.tolist(), device)), cdf)
    close(d.icdf(t(cdf.tolist(), device)), x, rtol=1e-6, atol=1e-9)
    tg.manual_seed(0)
    s = d.sample((20000,)).numpy()
    np.testing.assert_allclose(np.median(s, 0), [loc, loc], atol=0.08)
    np.testing.assert_allclose(s.var(0), 2 * scale**2, rtol=0.08)


def test_exponential_formulas_and_samples(device):
    rate, x = np.array([0.5, 3.0]), np.array([1.0, 0.2])
    d = D.Exponential(t(rate.tolist(), device))
    close(d.log_prob(t(x.tolist(), device)), np.log(rate) - rate * x)
    close(d.entropy(), 1 - np.log(rate))
    close(d.mean, 1 / rate)
    close(d.cdf(t(x.tolist(), device)), 1 - np.exp(-rate * x))
    tg.manual_seed(1)
    s = d.rsample((20000,)).numpy()
    assert (s >= 0).all()
    np.testing.assert_allclose(s.mean(0), 1 / rate, rtol=0.05)


def test_exponential_rsample_grad(device):
    rate = t([0.7, 2.0], device, requires_grad=True)
    tg.manual_seed(2)
    x = D.Exponential(rate).rsample()
    x.sum().backward()
    # x = -log(1-u) / rate  =>  dx/drate = -x / rate
    close(rate.grad, -x.detach().numpy() / rate.detach().numpy())


# ------------------------------------------------------------------ Gamma family
def test_gamma_formulas(device):
    a, b, x = np.array([0.5, 2.0, 5.0]), np.array([2.0, 1.0, 0.5]), np.array([0.3, 1.0, 7.0])
    d = D.Gamma(t(a.tolist(), device), t(b.tolist(), device))
    want = a * np.log(b) + (a - 1) * np.log(x) - b * x - lgamma(a)
    close(d.log_prob(t(x.tolist(), device)), want)
    close(d.entropy(), a - np.log(b) + lgamma(a) + (1 - a) * digamma(a), rtol=1e-7, atol=1e-7)
    close(d.mean, a / b)
    close(d.variance, a / b**2)


def test_gamma_samples(device):
    tg.manual_seed(3)
    a = np.array([0.3, 1.0, 4.0])
    d = D.Gamma(t(a.tolist(), device, tg.float32), 2.0)
    s = d.sample((20000,)).numpy()
    assert s.shape == (20000, 3)
    assert (s > 0).all()
    np.testing.assert_allclose(s.mean(0), a / 2.0, rtol=0.05)
    np.testing.assert_allclose(s.var(0), a / 4.0, rtol=0.1)
    with pytest.raises(NotImplementedError, match="sample\\(\\)"):
        d.rsample()
    with pytest.raises(NotImplementedError, match="Poisson.sample"):
        D.Poisson(t(1.0, device)).sample()


def test_beta_formulas_and_samples(device):
    a, b, x = np.array([2.0, 0.5]), np.array([3.0, 0.5]), np.array([0.3, 0.9])
    d = D.Beta(t(a.tolist(), device), t(b.tolist(), device))
    log_b = lgamma(a) + lgamma(b) - lgamma(a + b)
    close(d.log_prob(t(x.tolist(), device)), (a - 1) * np.log(x) + (b - 1) * np.log(1 - x) - log_b)
    ent = log_b - (a - 1) * digamma(a) - (b - 1) * digamma(b) + (a + b - 2) * digamma(a + b)
    close(d.entropy(), ent, rtol=1e-7, atol=1e-7)
    close(d.mean, a / (a + b))
    close(d.variance, a * b / ((a + b) ** 2 * (a + b + 1)))
    tg.manual_seed(4)
    s = d.sample((20000,)).numpy()
    assert ((s > 0) & (s < 1)).all()
    np.testing.assert_allclose(s.mean(0), a / (a + b), atol=0.01)


def test_dirichlet_formulas_and_samples(device):
    a, x = np.array([1.0, 2.0, 3.0]), np.array([0.2, 0.3, 0.5])
    d = D.Dirichlet(t(a.tolist(), device))
    assert tuple(d.event_shape) == (3,)
    assert tuple(d.batch_shape) == ()
    log_norm = lgamma(a).sum() - math.lgamma(a.sum())
    close(d.log_prob(t(x.tolist(), device)), ((a - 1) * np.log(x)).sum() - log_norm)
    ent = log_norm + (a.sum() - 3) * digamma(a.sum()) - ((a - 1) * digamma(a)).sum()
    close(d.entropy(), ent, rtol=1e-7, atol=1e-7)
    close(d.mean, a / a.sum())
    tg.manual_seed(5)
    s = d.sample((10000,)).numpy()
    np.testing.assert_allclose(s.sum(-1), np.ones(10000), rtol=1e-5)
    np.testing.assert_allclose(s.mean(0), a / a.sum(), atol=0.01)


def test_gamma_family_log_prob_grads(device):
    a = t([1.5, 3.0], device, requires_grad=True)
    b = t([0.7, 2.0], device, requires_grad=True)
    x = t([0.4, 0.6], device)
    assert gradcheck(lambda p, q: D.Gamma(p, q).log_prob(x), [a, b])
    assert gradcheck(lambda p, q: D.Beta(p, q).log_prob(x) + D.Beta(p, q).entropy(), [a, b])
    assert gradcheck(lambda p: D.Dirichlet(p).log_prob(x / x.sum()), [a])


# ------------------------------------------------------------------ counts
def test_poisson_and_binomial_log_prob(device):
    rate, k = np.array([1.0, 3.5]), np.array([0.0, 4.0])
    close(
        D.Poisson(t(rate.tolist(), device)).log_prob(t(k.tolist(), device)),
        k * np.log(rate) - rate - lgamma(k + 1),
    )
    n, p = np.array([5.0, 10.0]), 0.3
    d = D.Binomial(t(n.tolist(), device), probs=t(p, device))
    log_choose = lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1)
    close(d.log_prob(t(k.tolist(), device)), log_choose + k * np.log(p) + (n - k) * np.log(1 - p))
    close(d.mean, n * p)
    tg.manual_seed(6)
    s = d.sample((4000,)).numpy()
    np.testing.assert_allclose(s.mean(0), n * p, rtol=0.05)
    assert (s <= n).all()


# ------------------------------------------------------------------ MultivariateNormal
def _mvn_ref(loc, cov, x):
    d = loc.shape[-1]
    diff = x - loc
    maha = diff @ np.linalg.solve(cov, diff)
    return -0.5 * (d * np.log(2 * np.pi) + np.linalg.slogdet(cov)[1] + maha)


def test_mvn_log_prob_entropy(device):
    loc = np.array([1.0, -1.0, 0.5])
    a = np.array([[2.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 0.7]])
    x = np.array([0.0, 0.5, 1.0])
    for kwargs in (
        {"covariance_matrix": t(a.tolist(), device)},
        {"scale_tril": t(np.linalg.cholesky(a).tolist(), device)},
        {"precision_matrix": t(np.linalg.inv(a).tolist(), device)},
    ):
        d = D.MultivariateNormal(t(loc.tolist(), device), **kwargs)
        close(d.log_prob(t(x.tolist(), device)), _mvn_ref(loc, a, x), rtol=1e-6)
        close(d.entropy(), 0.5 * (3 * (1 + np.log(2 * np.pi)) + np.linalg.slogdet(a)[1]))
        close(d.covariance_matrix, a)
        close(d.variance, np.diag(a))


def test_mvn_batch_shapes_and_samples(device):
    cov = np.array([[2.0, 0.5], [0.5, 1.0]])
    d = D.MultivariateNormal(
        t(np.zeros((4, 2)).tolist(), device, tg.float32),
        covariance_matrix=t(cov.tolist(), device, tg.float32),
    )
    assert tuple(d.batch_shape) == (4,)
    assert tuple(d.event_shape) == (2,)
    assert tuple(d.log_prob(t(np.zeros((5, 4, 2)).tolist(), device, tg.float32)).shape) == (5, 4)
    tg.manual_seed(7)
    s = d.rsample((5000,)).numpy()
    assert s.shape == (5000, 4, 2)
    flat = s.reshape(-1, 2)
    np.testing.assert_allclose(np.cov(flat.T), cov, atol=0.06)


def test_mvn_log_prob_grad(device):
    loc = t([0.3, -0.2], device, requires_grad=True)
    tril = t([[1.2, 0.0], [0.4, 0.8]], device, requires_grad=True)
    x = t([0.5, 0.5], device)
    assert gradcheck(lambda m, s: D.MultivariateNormal(m, scale_tril=s).log_prob(x), [loc, tril])


def test_mvn_needs_one_matrix(device):
    with pytest.raises(ValueError):
        D.MultivariateNormal(t([0.0, 0.0], device))


# ------------------------------------------------------------------ transforms
def test_lognormal_via_exp_transform(device):
    mu, s, y = 0.2, 0.5, np.array([0.5, 2.0])
    d = D.TransformedDistribution(D.Normal(t(mu, device), s), [T.ExpTransform()])
    want = -((np.log(y) - mu) ** 2) / (2 * s * s) - np.log(s * y * np.sqrt(2 * np.pi))
    close(d.log_prob(t(y.tolist(), device)), want)
    tg.manual_seed(8)
    assert (d.sample((100,)).numpy() > 0).all()


def test_tanh_affine_sigmoid_transforms(device):
    x = t([-2.0, 0.1, 3.0], device)
    xn = x.numpy()
    for tr, f, dfdx in (
        (T.TanhTransform(), np.tanh, 1 - np.tanh(xn) ** 2),
        (T.SigmoidTransform(), lambda v: 1 / (1 + np.exp(-v)), None),
        (T.AffineTransform(1.0, -3.0), lambda v: 1.0 - 3.0 * v, np.full(3, 3.0)),
    ):
        y = tr(x)
        close(y, f(xn))
        close(tr.inv(y), xn, rtol=1e-6, atol=1e-9)
        if dfdx is None:
            sig = f(xn)
            dfdx = sig * (1 - sig)
        close(tr.log_abs_det_jacobian(x, y), np.log(dfdx), rtol=1e-6, atol=1e-9)


def test_squashed_gaussian_rsample_grad(device):
    loc = t([0.1, -0.4], device, requires_grad=True)
    d = D.TransformedDistribution(D.Normal(loc, 0.5), [T.TanhTransform()])
    assert d.has_rsample
    tg.manual_seed(9)
    a = d.rsample()
    (d.log_prob(a.detach()).sum() + a.sum()).backward()
    assert loc.grad is not None and np.isfinite(loc.grad.numpy()).all()


# ------------------------------------------------------------------ more KL
def test_kl_closed_forms(device):
    def pair(cls, *args):
        return cls(*[t(v, device) for v in args])

    kl = D.kl_divergence
    close(kl(pair(D.Exponential, 2.0), pair(D.Exponential, 0.5)), 0.25 - math.log(0.25) - 1)
    lap = kl(pair(D.Laplace, 0.0, 1.0), pair(D.Laplace, 1.0, 2.0))
    close(lap, -math.log(0.5) + 0.5 + 0.5 * math.exp(-1.0) - 1)
    ap, bp, aq, bq = 2.0, 3.0, 1.5, 1.0
    gam = aq * math.log(bp / bq) + math.lgamma(aq) - math.lgamma(ap)
    gam += (ap - aq) * digamma(ap) + (bq - bp) * ap / bp
    close(kl(pair(D.Gamma, ap, bp), pair(D.Gamma, aq, bq)), gam, rtol=1e-7)


def test_kl_beta_dirichlet_mvn_numeric(device):
    """Check closed forms against E_p[log p - log q] by midpoint quadrature / Monte Carlo."""
    p, q = D.Beta(t(2.0, device), t(3.0, device)), D.Beta(t(1.5, device), t(1.0, device))
    grid = t(((np.arange(20000) + 0.5) / 20000).tolist(), device)
    integrand = p.log_prob(grid).exp() * (p.log_prob(grid) - q.log_prob(grid))
    close(D.kl_divergence(p, q), integrand.numpy().mean(), rtol=1e-4)
    # Dirichlet with K=2 is the Beta distribution
    dp = D.Dirichlet(t([2.0, 3.0], device))
    dq = D.Dirichlet(t([1.5, 1.0], device))
    close(D.kl_divergence(dp, dq), D.kl_divergence(p, q).numpy(), rtol=1e-7)
    # MultivariateNormal with diagonal covariance equals the sum of Normal KLs
    mp = D.MultivariateNormal(
        t([0.0, 1.0], device), covariance_matrix=t(np.diag([1.0, 4.0]), device)
    )
    mq = D.MultivariateNormal(
        t([1.0, 0.0], device), covariance_matrix=t(np.diag([2.0, 1.0]), device)
    )
    normal = D.kl_divergence(
        D.Normal(t([0.0, 1.0], device), t([1.0, 2.0], device)),
        D.Normal(t([1.0, 0.0], device), t([2.0**0.5, 1.0], device)),
    )
    close(D.kl_divergence(mp, mq), normal.numpy().sum(), rtol=1e-7)


def test_lognormal(device):
    mu, s, y = 0.3, np.array([0.5, 1.2]), np.array([0.7, 2.5])
    d = D.LogNormal(t(mu, device), t(s.tolist(), device))
    want = -((np.log(y) - mu) ** 2) / (2 * s * s) - np.log(s * y * np.sqrt(2 * np.pi))
    close(d.log_prob(t(y.tolist(), device)), want)
    close(d.mean, np.exp(mu + s * s / 2))
    close(d.variance, (np.exp(s * s) - 1) * np.exp(2 * mu + s * s))
    close(d.entropy(), mu + 0.5 + 0.5 * np.log(2 * np.pi) + np.log(s))
    tg.manual_seed(10)
    samples = d.sample((20000,)).numpy()
    np.testing.assert_allclose(np.median(samples, 0), [np.exp(mu)] * 2, rtol=0.05)
