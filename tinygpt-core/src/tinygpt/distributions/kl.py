"""`kl_divergence(p, q)` and the `register_kl` registry of closed forms.

Lookup takes the most specific registered pair: for `p` of class P and `q` of class Q, the
registered (P', Q') with P a subclass of P' and Q a subclass of Q' that is nearest in both MROs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tinygpt as tg
from tinygpt.tensor import Tensor

from .bernoulli import Bernoulli, softplus
from .categorical import Categorical, OneHotCategorical
from .distribution import Distribution
from .normal import Normal
from .uniform import Uniform

__all__ = ["kl_divergence", "register_kl"]

KLFn = Callable[[Any, Any], Tensor]
_KL_REGISTRY: dict[tuple[type, type], KLFn] = {}


def register_kl(type_p: type, type_q: type) -> Callable[[KLFn], KLFn]:
    """Decorator registering `fn(p, q)` as KL(p || q) for instances of `type_p`, `type_q`.

    >>> class Gaussian(Normal):
    ...     pass
    >>> @register_kl(Gaussian, Gaussian)
    ... def _kl(p, q):
    ...     return _kl_normal_normal(p, q) * 1.0
    >>> round(kl_divergence(Gaussian(0.0, 1.0), Gaussian(2.0, 1.0)).item(), 4)
    2.0
    """
    if not (isinstance(type_p, type) and issubclass(type_p, Distribution)):
        raise TypeError(f"register_kl: expected a Distribution subclass, got {type_p!r}")
    if not (isinstance(type_q, type) and issubclass(type_q, Distribution)):
        raise TypeError(f"register_kl: expected a Distribution subclass, got {type_q!r}")

    def decorator(fn: KLFn) -> KLFn:
        _KL_REGISTRY[(type_p, type_q)] = fn
        return fn

    return decorator


def _lookup(type_p: type, type_q: type) -> KLFn | None:
    """The registered function for the nearest (by MRO position) matching pair, if any."""
    best: KLFn | None = None
    best_rank: tuple[int, int] | None = None
    mro_p = type_p.__mro__
    mro_q = type_q.__mro__
    for (reg_p, reg_q), fn in _KL_REGISTRY.items():
        if reg_p in mro_p and reg_q in mro_q:
            rank = (mro_p.index(reg_p), mro_q.index(reg_q))
            if best_rank is None or rank < best_rank:
                best, best_rank = fn, rank
    return best


def kl_divergence(p: Distribution, q: Distribution) -> Tensor:
    """KL(p || q) per batch element, from the registered closed form.

    >>> import tinygpt as tg
    >>> round(kl_divergence(Normal(0.0, 1.0), Normal(1.0, 1.0)).item(), 4)
    0.5
    """
    fn = _lookup(type(p), type(q))
    if fn is None:
        raise NotImplementedError(
            f"kl_divergence: no closed form registered for ({type(p).__name__}, "
            f"{type(q).__name__}); add one with @register_kl({type(p).__name__}, "
            f"{type(q).__name__})"
        )
    return fn(p, q)


@register_kl(Normal, Normal)
def _kl_normal_normal(p: Normal, q: Normal) -> Tensor:
    # KL = log(sq/sp) + (sp^2 + (mp - mq)^2) / (2 sq^2) - 1/2
    var_ratio = (p.scale / q.scale) ** 2
    t1 = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + t1 - 1.0 - tg.log(var_ratio))


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p: Categorical, q: Categorical) -> Tensor:
    t = p.probs * (p.logits - q.logits)
    # NOTE: a class with p = 0 contributes 0 whatever q says (0 * inf is taken as 0).
    t = tg.where(p.probs == 0, tg.zeros_like(t), t)
    return t.sum(-1)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehot_onehot(p: OneHotCategorical, q: OneHotCategorical) -> Tensor:
    return _kl_categorical_categorical(p._categorical, q._categorical)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p: Bernoulli, q: Bernoulli) -> Tensor:
    # KL = p (lp - lq) + softplus(-lp)... written with the stable log(1 - sigmoid) = -softplus
    t1 = p.probs * (softplus(-q.logits) - softplus(-p.logits))
    t2 = (1.0 - p.probs) * (softplus(q.logits) - softplus(p.logits))
    return t1 + t2


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p: Uniform, q: Uniform) -> Tensor:
    result = tg.log((q.high - q.low) / (p.high - p.low))
    # p's support must lie inside q's, else KL is infinite
    outside = (q.low > p.low) | (q.high < p.high)
    return tg.where(outside, tg.full_like(result, float("inf")), result)
