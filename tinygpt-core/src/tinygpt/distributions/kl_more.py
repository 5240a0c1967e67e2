"""More closed-form KL divergences, registered with `register_kl` on import.

Formulas follow the standard derivations (the same ones torch.distributions uses).
"""

from __future__ import annotations

import tinygpt as tg
from tinygpt.tensor import Tensor

from .continuous import Exponential, Laplace
from .gamma import Beta, Dirichlet, Gamma
from .independent import Independent, _sum_rightmost
from .kl import kl_divergence, register_kl
from .multivariate_normal import MultivariateNormal, _half_log_det

__all__: list[str] = []


@register_kl(Exponential, Exponential)
def _kl_exponential(p: Exponential, q: Exponential) -> Tensor:
    ratio = q.rate / p.rate
    return ratio - tg.log(ratio) - 1.0


@register_kl(Laplace, Laplace)
def _kl_laplace(p: Laplace, q: Laplace) -> Tensor:
    scale_ratio = p.scale / q.scale
    loc_gap = (p.loc - q.loc).abs()
    t1 = -tg.log(scale_ratio)
    t2 = loc_gap / q.scale
    t3 = scale_ratio * tg.exp(-loc_gap / p.scale)
    return t1 + t2 + t3 - 1.0


@register_kl(Gamma, Gamma)
def _kl_gamma(p: Gamma, q: Gamma) -> Tensor:
    ap, bp = p.concentration, p.rate
    aq, bq = q.concentration, q.rate
    t1 = aq * tg.log(bp / bq)
    t2 = tg.lgamma(aq) - tg.lgamma(ap)
    t3 = (ap - aq) * tg.digamma(ap)
    t4 = (bq - bp) * (ap / bp)
    return t1 + t2 + t3 + t4


@register_kl(Beta, Beta)
def _kl_beta(p: Beta, q: Beta) -> Tensor:
    p1, p0 = p.concentration1, p.concentration0
    q1, q0 = q.concentration1, q.concentration0
    sp = p1 + p0
    sq = q1 + q0
    t1 = tg.lgamma(q1) + tg.lgamma(q0) + tg.lgamma(sp)
    t2 = tg.lgamma(p1) + tg.lgamma(p0) + tg.lgamma(sq)
    t3 = (p1 - q1) * tg.digamma(p1)
    t4 = (p0 - q0) * tg.digamma(p0)
    t5 = (sq - sp) * tg.digamma(sp)
    return t1 - t2 + t3 + t4 + t5


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet(p: Dirichlet, q: Dirichlet) -> Tensor:
    a = p.concentration
    b = q.concentration
    sum_a = a.sum(-1)
    sum_b = b.sum(-1)
    t1 = tg.lgamma(sum_a) - tg.lgamma(sum_b)
    t2 = (tg.lgamma(a) - tg.lgamma(b)).sum(-1)
    t3 = (a - b) * (tg.digamma(a) - tg.digamma(sum_a).unsqueeze(-1))
    return t1 - t2 + t3.sum(-1)


@register_kl(Independent, Independent)
def _kl_independent(p: Independent, q: Independent) -> Tensor:
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError(
            "kl_divergence: Independent distributions with different reinterpreted_batch_ndims "
            f"({p.reinterpreted_batch_ndims} vs {q.reinterpreted_batch_ndims})"
        )
    inner = kl_divergence(p.base_dist, q.base_dist)
    return _sum_rightmost(inner, p.reinterpreted_batch_ndims)


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_mvn(p: MultivariateNormal, q: MultivariateNormal) -> Tensor:
    # KL = 1/2 (tr(Sq^-1 Sp) + |Lq^-1 (mq - mp)|^2 - D) + log|Lq| - log|Lp|
    d = p.event_shape[0]
    batch = tg.broadcast_shapes(tuple(p.batch_shape), tuple(q.batch_shape))
    lp = p._unbroadcasted_scale_tril.expand(*(tuple(batch) + (d, d)))
    lq = q._unbroadcasted_scale_tril.expand(*(tuple(batch) + (d, d)))
    # tr(Sq^-1 Sp) = ||Lq^-1 Lp||_F^2
    m = tg.linalg.solve_triangular(lq, lp, upper=False)  # (*batch, D, D)
    trace = (m * m).sum(dim=(-2, -1))
    diff = (q.loc - p.loc).expand(*(tuple(batch) + (d,)))
    z = tg.linalg.solve_triangular(lq, diff.unsqueeze(-1), upper=False)  # (*batch, D, 1)
    maha = (z * z).sum(dim=(-2, -1))
    log_det = _half_log_det(q._unbroadcasted_scale_tril) - _half_log_det(
        p._unbroadcasted_scale_tril
    )
    return 0.5 * (trace + maha - d) + log_det
