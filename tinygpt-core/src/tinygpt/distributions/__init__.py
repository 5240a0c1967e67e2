"""Probability distributions with PyTorch's `torch.distributions` API.

Read in this order: distribution.py (the base class and shapes), categorical.py, bernoulli.py,
normal.py, uniform.py, continuous.py (Laplace, Exponential), gamma.py (Gamma, Beta,
Dirichlet), discrete.py (Poisson, Binomial), multivariate_normal.py, independent.py,
transforms.py, transformed.py, lognormal.py, kl.py and kl_more.py (closed-form KL divergences).

>>> import tinygpt as tg
>>> import tinygpt.distributions as D
>>> D.Categorical(logits=tg.zeros(3)).sample().shape
()
"""

from . import kl_more as _kl_more  # noqa: F401  (registers the extra KL closed forms)
from . import transforms
from .bernoulli import Bernoulli
from .categorical import Categorical, OneHotCategorical
from .continuous import Exponential, Laplace
from .discrete import Binomial, Poisson
from .distribution import Distribution
from .gamma import Beta, Dirichlet, Gamma
from .independent import Independent
from .kl import kl_divergence, register_kl
from .lognormal import LogNormal
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .transformed import TransformedDistribution
from .uniform import Uniform

__all__ = [
    "Bernoulli",
    "Beta",
    "Binomial",
    "Categorical",
    "Dirichlet",
    "Distribution",
    "Exponential",
    "Gamma",
    "Independent",
    "Laplace",
    "LogNormal",
    "MultivariateNormal",
    "Normal",
    "OneHotCategorical",
    "Poisson",
    "TransformedDistribution",
    "Uniform",
    "kl_divergence",
    "register_kl",
    "transforms",
]
