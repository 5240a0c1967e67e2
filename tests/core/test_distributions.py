"""tinygpt.distributions, part 1: Categorical, OneHotCategorical, Bernoulli, Normal, Uniform,
Independent and their KL divergences, checked against formulas computed here with NumPy/math,
seeded sample statistics, and gradients against float64 finite differences.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygpt as tg
import tinygpt.distributions as D
from tinygpt.autograd import gradcheck


def t(values, device, dtype=tg.float64, requires_grad=False):
    return tg.tensor(values, dtype=dtype, device=device, requires_grad=requires_grad)


def close(got, want, rtol=1e-6, atol=1e-8):
    np.testing.assert_allclose(got.numpy(), np.asarray(want, dtype=np.float64), rtol, atol)


def _log_softmax(x):
    x = np.asarray(x, dtype=np.float64)
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


# ------------------------------------------------------------------ Categorical
def test_categorical_logits_normalised(device):
    logits = [[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]]
    d = D.Categorical(logits=t(logits, device))
    ref = _log_softmax(logits)
    close(d.logits, ref)
    close(d.probs, np.exp(ref))
    assert tuple(d.batch_shape) == (2,)
    assert tuple(d.event_shape) == ()
    close(d.log_prob(t([2, 1], device, tg.int64)), [ref[0, 2], ref[1, 1]])
    close(d.entropy(), -(np.exp(ref) * ref).sum(-1))
    assert d.mode.tolist() == [1, 2]


def test_categorical_probs_are_normalised(device):
    d = D.Categorical(probs=t([2.0, 1.0, 1.0], device))
    close(d.probs, [0.5, 0.25, 0.25])
    close(d.logits, np.log([0.5, 0.25, 0.25]))
    close(d.entropy(), -(0.5 * math.log(0.5) + 0.5 * math.log(0.25)))


def test_categorical_zero_probability_entropy_is_finite(device):
    d = D.Categorical(probs=t([0.0, 0.5, 0.5], device))
    close(d.entropy(), math.log(2.0), atol=1e-6)


def test_categorical_log_prob_broadcasts_sample_dims(device):
    d = D.Categorical(logits=t([[0.0, 1.0], [2.0, 0.0]], device))
    value = t([[0, 1], [1, 1], [0, 0]], device, tg.int64)  # (3, 2) = sample (3,) + batch (2,)
    ref = _log_softmax([[0.0, 1.0], [2.0, 0.0]])
    want = [[ref[0, 0], ref[1, 1]], [ref[0, 1], ref[1, 1]], [ref[0, 0], ref[1, 0]]]
    close(d.log_prob(value), want)


def test_categorical_sample_shape_and_frequencies(device):
    tg.manual_seed(0)
    d = D.Categorical(probs=t([[0.1, 0.2, 0.7], [0.6, 0.3, 0.1]], device, tg.float32))
    one = d.sample()
    assert tuple(one.shape) == (2,)
    assert one.dtype == tg.int64
    draws = d.sample((4000,))
    assert tuple(draws.shape) == (4000, 2)
    counts = np.stack([np.bincount(draws.numpy()[:, b], minlength=3) / 4000 for b in range(2)])
    np.testing.assert_allclose(counts, [[0.1, 0.2, 0.7], [0.6, 0.3, 0.1]], atol=0.03)


def test_categorical_is_seeded(device):
    d = D.Categorical(logits=t([0.0, 0.3, 0.1, -0.2], device, tg.float32))
    tg.manual_seed(7)
    a = d.sample((50,)).tolist()
    tg.manual_seed(7)
    assert d.sample((50,)).tolist() == a


def test_categorical_policy_gradient(device):
    logits = t([[0.2, -0.4, 1.0]], device, requires_grad=True)
    action = t([2], device, tg.int64)

    def loss(lg):
        dist = D.Categorical(logits=lg)
        return -dist.log_prob(action) * 0.5 - 0.01 * dist.entropy()

    assert gradcheck(loss, [logits])


def test_categorical_needs_exactly_one_parameter(device):
    with pytest.raises(ValueError):
        D.Categorical()
    with pytest.raises(ValueError):
        D.Categorical(probs=t([0.5, 0.5], device), logits=t([0.0, 0.0], device))


def test_onehot_categorical(device):
    d = D.OneHotCategorical(probs=t([0.2, 0.3, 0.5], device))
    assert tuple(d.event_shape) == (3,)
    tg.manual_seed(1)
    s = d.sample((5,))
    assert tuple(s.shape) == (5, 3)
    np.testing.assert_array_equal(s.numpy().sum(-1), np.ones(5))
    close(d.log_prob(t([0.0, 0.0, 1.0], device)), math.log(0.5))
    close(d.mean, [0.2, 0.3, 0.5])
    close(d.mode, [0.0, 0.0, 1.0])


# ------------------------------------------------------------------ Bernoulli
def test_bernoulli_formulas(device):
    p = np.array([0.1, 0.5, 0.9])
    d = D.Bernoulli(probs=t(p.tolist(), device))
    x = np.array([1.0, 0.0, 0.0])
    close(d.log_prob(t(x.tolist(), device)), x * np.log(p) + (1 - x) * np.log(1 - p))
    close(d.entropy(), -(p * np.log(p) + (1 - p) * np.log(1 - p)))
    close(d.mean, p)
    close(d.variance, p * (1 - p))
    logits = np.log(p / (1 - p))
    from_logits = D.Bernoulli(logits=t(logits.tolist(), device))
    close(from_logits.probs, p)
    close(from_logits.log_prob(t(x.tolist(), device)), x * np.log(p) + (1 - x) * np.log(1 - p))


def test_bernoulli_large_logits_stay_finite(device):
    d = D.Bernoulli(logits=t([80.0, -80.0], device))
    close(d.log_prob(t([1.0, 0.0], device)), [0.0, 0.0], atol=1e-12)
    assert np.isfinite(d.entropy().numpy()).all()


def test_bernoulli_sample_mean(device):
    tg.manual_seed(2)
    d = D.Bernoulli(probs=t([0.2, 0.7], device, tg.float32))
    s = d.sample((5000,))
    assert tuple(s.shape) == (5000, 2)
    assert set(np.unique(s.numpy()).tolist()) <= {0.0, 1.0}
    np.testing.assert_allclose(s.numpy().mean(0), [0.2, 0.7], atol=0.03)


def test_bernoulli_log_prob_grad(device):
    logits = t([0.3, -1.2], device, requires_grad=True)
    x = t([1.0, 0.0], device)
    assert gradcheck(lambda lg: D.Bernoulli(logits=lg).log_prob(x), [logits])


# ------------------------------------------------------------------ Normal
def test_normal_formulas(device):
    mu, sigma, x = 0.5, np.array([0.5, 2.0]), np.array([1.0, -1.0])
    d = D.Normal(mu, t(sigma.tolist(), device))  # scalar loc broadcasts with tensor scale
    assert tuple(d.batch_shape) == (2,)
    want = -((x - mu) ** 2) / (2 * sigma**2) - np.log(sigma) - 0.5 * np.log(2 * np.pi)
    close(d.log_prob(t(x.tolist(), device)), want)
    close(d.entropy(), 0.5 + 0.5 * np.log(2 * np.pi) + np.log(sigma))
    close(d.mean, [mu, mu])
    close(d.stddev, sigma)
    close(d.variance, sigma**2)
    erf = np.vectorize(math.erf)
    cdf = 0.5 * (1 + erf((x - mu) / (sigma * math.sqrt(2))))
    close(d.cdf(t(x.tolist(), device)), cdf, rtol=1e-5)
    close(d.icdf(t(cdf.tolist(), device)), x, rtol=1e-4, atol=1e-5)


def test_normal_rsample_shapes_and_moments(device):
    tg.manual_seed(3)
    d = D.Normal(t([1.0, -2.0], device, tg.float32), t([0.5, 2.0], device, tg.float32))
    assert d.has_rsample
    s = d.rsample((20000,))
    assert tuple(s.shape) == (20000, 2)
    np.testing.assert_allclose(s.numpy().mean(0), [1.0, -2.0], atol=0.05)
    np.testing.assert_allclose(s.numpy().std(0), [0.5, 2.0], rtol=0.05)
    assert tuple(d.sample().shape) == (2,)
    assert not d.sample((3,)).requires_grad


def test_normal_rsample_gradient_is_reparametrised(device):
    loc = t([0.5, -1.0], device, requires_grad=True)
    scale = t([1.5, 0.5], device, requires_grad=True)
    tg.manual_seed(4)
    x = D.Normal(loc, scale).rsample()
    x.sum().backward()
    tg.manual_seed(4)
    eps = (D.Normal(loc, scale).rsample().detach() - loc.detach()) / scale.detach()
    close(loc.grad, [1.0, 1.0])
    close(scale.grad, eps.numpy(), rtol=1e-6, atol=1e-9)


def test_normal_log_prob_and_entropy_grad(device):
    loc = t([0.5, -1.0], device, requires_grad=True)
    scale = t([1.5, 0.5], device, requires_grad=True)
    x = t([0.1, 0.2], device)
    assert gradcheck(lambda m, s: D.Normal(m, s).log_prob(x), [loc, scale])
    assert gradcheck(lambda m, s: D.Normal(m, s).entropy() + m, [loc, scale])


# ------------------------------------------------------------------ Uniform
def test_uniform_formulas(device):
    d = D.Uniform(t([0.0, -1.0], device), t([2.0, 3.0], device))
    close(d.log_prob(t([1.0, 5.0], device)), [-math.log(2.0), -np.inf])
    close(d.entropy(), [math.log(2.0), math.log(4.0)])
    close(d.mean, [1.0, 1.0])
    close(d.variance, [4.0 / 12.0, 16.0 / 12.0])
    close(d.cdf(t([0.5, 0.0], device)), [0.25, 0.25])


def test_uniform_samples_in_range(device):
    tg.manual_seed(5)
    d = D.Uniform(2.0, t([3.0, 6.0], device, tg.float32))
    s = d.sample((4000,)).numpy()
    assert s.shape == (4000, 2)
    assert (s >= 2.0).all() and (s[:, 0] < 3.0).all() and (s[:, 1] < 6.0).all()
    np.testing.assert_allclose(s.mean(0), [2.5, 4.0], atol=0.1)


# ------------------------------------------------------------------ Independent
def test_independent_sums_log_prob(device):
    loc = np.array([[0.0, 1.0, 2.0], [1.0, 1.0, 1.0]])
    base = D.Normal(t(loc.tolist(), device), 1.0)
    d = D.Independent(base, 1)
    assert tuple(d.batch_shape) == (2,)
    assert tuple(d.event_shape) == (3,)
    x = t(np.zeros((2, 3)).tolist(), device)
    close(d.log_prob(x), base.log_prob(x).numpy().sum(-1))
    close(d.entropy(), base.entropy().numpy().sum(-1))
    assert tuple(d.rsample((4,)).shape) == (4, 2, 3)
    with pytest.raises(ValueError):
        D.Independent(base, 3)


# ------------------------------------------------------------------ KL
def test_kl_normal_normal(device):
    m1, s1, m2, s2 = 0.3, 0.7, -1.0, 1.9
    got = D.kl_divergence(D.Normal(t(m1, device), t(s1, device)), D.Normal(t(m2, device), s2))
    want = math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5
    close(got, want)


def test_kl_categorical(device):
    p = np.array([[0.2, 0.3, 0.5], [0.6, 0.4, 0.0]])
    q = np.array([[0.1, 0.6, 0.3], [0.3, 0.3, 0.4]])
    got = D.kl_divergence(D.Categorical(probs=t(p.tolist(), device)), D.Categorical(t(q, device)))
    want = [(p[0] * np.log(p[0] / q[0])).sum(), (p[1, :2] * np.log(p[1, :2] / q[1, :2])).sum()]
    close(got, want, atol=1e-7)


def test_kl_bernoulli(device):
    p, q = np.array([0.2, 0.9]), np.array([0.5, 0.4])
    got = D.kl_divergence(D.Bernoulli(t(p.tolist(), device)), D.Bernoulli(t(q.tolist(), device)))
    close(got, p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q)), rtol=1e-5)


def test_kl_uniform(device):
    p = D.Uniform(t([0.0, 0.0], device), t([1.0, 3.0], device))
    q = D.Uniform(t([-1.0, 0.0], device), t([2.0, 2.0], device))
    close(D.kl_divergence(p, q), [math.log(3.0), np.inf])


def test_kl_independent_normal(device):
    p = D.Independent(D.Normal(t([[0.0, 1.0]], device), 1.0), 1)
    q = D.Independent(D.Normal(t([[1.0, 1.0]], device), 2.0), 1)
    inner = math.log(2.0) + (1.0 + 1.0) / 8.0 - 0.5
    other = math.log(2.0) + 1.0 / 8.0 - 0.5
    close(D.kl_divergence(p, q), [inner + other])


def test_kl_grad_and_registry(device):
    m = t([0.2, -0.3], device, requires_grad=True)
    s = t([0.8, 1.3], device, requires_grad=True)
    assert gradcheck(
        lambda a, b: D.kl_divergence(D.Normal(a, b), D.Normal(t(0.0, device), 1.0)), [m, s]
    )
    with pytest.raises(NotImplementedError, match="register_kl"):
        D.kl_divergence(D.Normal(t(0.0, device), 1.0), D.Bernoulli(probs=t(0.5, device)))

    class Wide(D.Normal):
        pass

    # a subclass falls back to its parent's closed form
    close(D.kl_divergence(Wide(t(0.0, device), 1.0), D.Normal(t(1.0, device), 1.0)), 0.5)


def test_cached_probs_keep_grad_after_sampling(device):
    """probs is cached; asking for it first inside sample (under no_grad) must not cut the graph."""
    logits = t([[0.2, -0.4, 1.0]], device, requires_grad=True)
    d = D.Categorical(logits=logits)
    d.sample()
    assert d.probs.requires_grad
    b = D.Bernoulli(logits=t([0.3], device, requires_grad=True))
    b.sample()
    assert b.probs.requires_grad


def test_validate_args_is_accepted(device):
    D.Distribution.set_default_validate_args(False)
    d = D.Normal(t([0.0], device), t([1.0], device), validate_args=True)
    close(d.mean, [0.0])
    with pytest.raises(ValueError):
        D.Distribution.set_default_validate_args("yes")


def test_expand(device):
    n = D.Normal(t([0.0, 1.0], device), 1.0).expand((3, 2))
    assert tuple(n.batch_shape) == (3, 2)
    close(n.log_prob(t(0.0, device)), np.full((3, 2), -0.5 * math.log(2 * math.pi)) - [0, 0.5])
    c = D.Categorical(logits=t([0.0, 0.0], device)).expand((4,))
    assert tuple(c.batch_shape) == (4,)
    close(c.entropy(), np.full(4, math.log(2.0)))
    b = D.Bernoulli(probs=t(0.25, device)).expand((2,))
    close(b.mean, [0.25, 0.25])
