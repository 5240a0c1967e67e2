"""`torch.distributions` as RL and VAE scripts use it, run as written with `tinygpt`:
policy-gradient losses on Categorical, reparametrised Gaussians, KL terms, shapes of samples.

Random draws differ between the libraries by design, so samples are compared by `Shape` only
and log-probabilities are taken of fixed values. The harness is conftest.py.
"""

from __future__ import annotations

import pytest
from idiom_harness import IDIOM_DEVICES, Shape, idiom, params

# NOTE: importing the subpackage makes `tinygpt.distributions` reachable as an attribute even
# before `tinygpt/__init__.py` imports it itself.
import tinygpt.distributions  # noqa: F401

pytestmark = pytest.mark.oracle


@idiom
def categorical_policy_gradient(torch, nn, F, optim):
    logits = torch.tensor([[0.2, -0.4, 1.0], [1.5, 0.0, -1.0]], requires_grad=True)
    dist = torch.distributions.Categorical(logits=logits)
    action = dist.sample()
    actions = torch.tensor([2, 0])
    adv = torch.tensor([1.0, -0.5])
    loss = (-dist.log_prob(actions) * adv).mean() - 0.01 * dist.entropy().mean()
    loss.backward()
    return [
        Shape(action),
        Shape(dist.sample((4,))),
        dist.probs,
        dist.logits,
        dist.log_prob(actions),
        dist.entropy(),
        loss,
        logits.grad,
        tuple(dist.batch_shape),
        tuple(dist.event_shape),
    ]


@idiom
def categorical_from_probs(torch, nn, F, optim):
    dist = torch.distributions.Categorical(probs=torch.tensor([2.0, 1.0, 1.0]))
    return [dist.probs, dist.logits, dist.entropy(), dist.log_prob(torch.tensor(1)), dist.mode]


@idiom
def normal_reparametrised(torch, nn, F, optim):
    mu = torch.tensor([0.5, -1.0], requires_grad=True)
    std = torch.tensor([1.5, 0.5], requires_grad=True)
    dist = torch.distributions.Normal(mu, std)
    z = dist.rsample((3,))
    x = torch.tensor([0.1, 0.2])
    lp = dist.log_prob(x).sum()
    lp.backward()
    return [
        Shape(z),
        z.requires_grad,
        dist.log_prob(x),
        dist.entropy(),
        dist.mean,
        dist.stddev,
        dist.variance,
        dist.cdf(x),
        mu.grad,
        std.grad,
        dist.has_rsample,
    ]


@idiom
def normal_scalar_params_broadcast(torch, nn, F, optim):
    dist = torch.distributions.Normal(0.0, torch.tensor([1.0, 2.0]))
    return [tuple(dist.batch_shape), dist.log_prob(torch.tensor(0.5)), dist.icdf(torch.tensor(0.9))]


@idiom
def vae_kl_term(torch, nn, F, optim):
    mu = torch.tensor([[0.3, -0.2], [1.0, 0.5]], requires_grad=True)
    log_var = torch.tensor([[0.1, -0.3], [0.0, 0.2]], requires_grad=True)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * log_var))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    kl = torch.distributions.kl_divergence(q, p).sum(-1).mean()
    kl.backward()
    return [kl, mu.grad, log_var.grad]


@idiom
def bernoulli_and_kl(torch, nn, F, optim):
    d = torch.distributions.Bernoulli(logits=torch.tensor([0.0, 2.0, -3.0]))
    e = torch.distributions.Bernoulli(probs=torch.tensor([0.3, 0.6, 0.5]))
    x = torch.tensor([1.0, 0.0, 1.0])
    return [
        d.probs,
        d.log_prob(x),
        d.entropy(),
        e.logits,
        torch.distributions.kl_divergence(d, e),
        Shape(d.sample((2,))),
    ]


@idiom
def uniform_and_kl(torch, nn, F, optim):
    u = torch.distributions.Uniform(torch.tensor([0.0, 1.0]), torch.tensor([2.0, 5.0]))
    v = torch.distributions.Uniform(-1.0, 6.0)
    return [
        u.log_prob(torch.tensor([1.0, 2.0])),
        u.entropy(),
        u.mean,
        u.variance,
        torch.distributions.kl_divergence(u, v),
        Shape(u.rsample((3,))),
    ]


@idiom
def independent_diag_gaussian(torch, nn, F, optim):
    base = torch.distributions.Normal(torch.tensor([[0.0, 1.0, 2.0]]), torch.tensor(0.5))
    dist = torch.distributions.Independent(base, 1)
    other = torch.distributions.Independent(torch.distributions.Normal(torch.zeros(1, 3), 1.0), 1)
    x = torch.tensor([[0.5, 0.5, 0.5]])
    return [
        tuple(dist.batch_shape),
        tuple(dist.event_shape),
        dist.log_prob(x),
        dist.entropy(),
        torch.distributions.kl_divergence(dist, other),
    ]


@idiom
def multivariate_normal(torch, nn, F, optim):
    cov = torch.tensor([[2.0, 0.3], [0.3, 1.0]])
    d = torch.distributions.MultivariateNormal(torch.tensor([1.0, -1.0]), covariance_matrix=cov)
    e = torch.distributions.MultivariateNormal(torch.zeros(2), scale_tril=torch.eye(2))
    x = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    return [
        d.log_prob(x),
        d.entropy(),
        d.scale_tril,
        d.variance,
        torch.distributions.kl_divergence(d, e),
        Shape(d.rsample((3,))),
    ]


@idiom
def gamma_family(torch, nn, F, optim):
    D = torch.distributions
    g = D.Gamma(torch.tensor([2.0, 0.5]), torch.tensor([1.0, 3.0]))
    b = D.Beta(torch.tensor([2.0]), torch.tensor([3.0]))
    d = D.Dirichlet(torch.tensor([1.0, 2.0, 3.0]))
    return [
        g.log_prob(torch.tensor([1.0, 0.2])),
        g.entropy(),
        g.mean,
        b.log_prob(torch.tensor([0.3])),
        b.entropy(),
        d.log_prob(torch.tensor([0.2, 0.3, 0.5])),
        d.entropy(),
        D.kl_divergence(g, D.Gamma(1.0, 1.0)),
        D.kl_divergence(b, D.Beta(1.0, 1.0)),
    ]


@idiom
def laplace_exponential_counts(torch, nn, F, optim):
    D = torch.distributions
    x = torch.tensor([0.5, 2.0])
    k = torch.tensor([1.0, 3.0])
    return [
        D.Laplace(0.0, torch.tensor([1.0, 2.0])).log_prob(x),
        D.Laplace(0.0, 1.0).entropy(),
        D.Exponential(torch.tensor([0.5, 2.0])).log_prob(x),
        D.Exponential(torch.tensor([0.5, 2.0])).entropy(),
        D.Poisson(torch.tensor([2.0, 4.0])).log_prob(k),
        D.Binomial(5, probs=torch.tensor([0.3, 0.6])).log_prob(k),
    ]


@idiom
def squashed_gaussian_policy(torch, nn, F, optim):
    D = torch.distributions
    T = torch.distributions.transforms
    base = D.Normal(torch.tensor([0.1, -0.4]), torch.tensor([0.5, 1.0]))
    dist = D.TransformedDistribution(base, [T.TanhTransform()])
    lognormal = D.TransformedDistribution(base, [T.ExpTransform()])
    affine = D.TransformedDistribution(base, [T.AffineTransform(1.0, 2.0), T.SigmoidTransform()])
    return [
        dist.log_prob(torch.tensor([0.3, -0.5])),
        lognormal.log_prob(torch.tensor([0.5, 2.0])),
        affine.log_prob(torch.tensor([0.4, 0.7])),
        Shape(dist.rsample((2,))),
    ]


@idiom
def lognormal(torch, nn, F, optim):
    d = torch.distributions.LogNormal(torch.tensor([0.0, 0.5]), torch.tensor([1.0, 0.3]))
    y = torch.tensor([1.5, 0.8])
    return [d.log_prob(y), d.mean, d.variance, d.entropy(), Shape(d.rsample((2,)))]


@idiom
def onehot_categorical(torch, nn, F, optim):
    d = torch.distributions.OneHotCategorical(probs=torch.tensor([0.2, 0.3, 0.5]))
    return [
        Shape(d.sample((4,))),
        d.log_prob(torch.tensor([0.0, 1.0, 0.0])),
        d.entropy(),
        d.mean,
        tuple(d.event_shape),
    ]


@idiom(raises=ValueError)
def categorical_needs_one_parameter(torch, nn, F, optim):
    return torch.distributions.Categorical()


@pytest.mark.parametrize("dev", IDIOM_DEVICES)
@pytest.mark.parametrize("item", params(globals()))
def test_idiom(item, dev, check_idiom):
    check_idiom(item, dev)
