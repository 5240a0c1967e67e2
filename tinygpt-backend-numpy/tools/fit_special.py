"""Fit the coefficients in `tinygpt_backend_numpy/special.py` (erf) and `gelu.py` (the exact
GELU's normal CDF); run it to reproduce them.

Every fit is a weighted least-squares fit on a Chebyshev grid, reweighted until the largest
error stops shrinking (Lawson's iteration towards the minimax fit); float64 `math.erf` and
`math.erfc` are the reference, accurate far beyond float32. Prints Python literals.

    python tinygpt-backend-numpy/tools/fit_special.py
"""

from __future__ import annotations

import math

import numpy as np

ERF_SPLIT = 1.0  # erf's two pieces meet here (see special.erf)
ERF_ONE = 3.9375  # from here on float32 erf rounds to 1


def grid(lo: float, hi: float, n: int = 4000) -> np.ndarray:
    """Chebyshev points on (lo, hi]: dense near the ends, where fits go wrong first."""
    x = lo + (hi - lo) * (1 - np.cos(np.linspace(0, np.pi, n))) / 2
    return x[x > lo] if lo == 0 else x


def lawson(columns: np.ndarray, target: np.ndarray, weight: np.ndarray, rounds: int = 200):
    """Coefficients c minimizing max |weight * (columns @ c - target)|, approximately."""
    extra = np.ones_like(target)
    best = (np.inf, None)
    for _ in range(rounds):
        w = np.sqrt(extra) * weight
        c, *_ = np.linalg.lstsq(columns * w[:, None], target * w, rcond=None)
        err = np.abs((columns @ c - target) * weight)
        if err.max() < best[0]:
            best = (err.max(), c)
        extra = extra * err / err.max() + 1e-15
        extra /= extra.sum()
    return best


def fit_erf_near(degree: int = 6) -> np.ndarray:
    """erf(z) = z + z R(z^2) on |z| <= ERF_SPLIT: R's coefficients (relative error)."""
    z = grid(0.0, ERF_SPLIT)
    ratio = np.array([math.erf(v) / v for v in z])
    powers = np.vander(z * z, degree + 1, increasing=True)
    _, c = lawson(powers, ratio, 1.0 / ratio)
    c[0] -= 1.0  # z * c0 = z + z (c0 - 1): the leading term stays exact in float32
    return c


def fit_erf_tail(degree: int = 7) -> np.ndarray:
    """erfc(s) = exp(-s^2) F(s - ERF_SPLIT) on [ERF_SPLIT, ERF_ONE]: F's coefficients.

    Weighted by erfc / erf: F's relative error enters erf = 1 - erfc scaled by that.
    """
    s = grid(ERF_SPLIT, ERF_ONE)
    erfc = np.array([math.erfc(v) for v in s])
    scaled = erfc * np.exp(s * s)
    powers = np.vander(s - ERF_SPLIT, degree + 1, increasing=True)
    _, c = lawson(powers, scaled, erfc / (1 - erfc) / scaled)
    return c


def fit_gelu_phi(p: int = 3, q: int = 3, rounds: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """Phi(x) = (1 + tanh(x P(x^2) / Q(x^2))) / 2, Q(0) = 1: P's and Q's coefficients.

    The rational is atanh(2 Phi(x) - 1) / x, fitted for the absolute error of Phi (what
    x Phi(x) needs), by linearizing P - f Q and reweighting (Sanathanan-Koerner). gelu.py
    rescales it into the exponent of Phi = 1 / (1 + 2^b); (3, 3) is the smallest that keeps
    the float32 GELU within 2.5 ulp: (3, 2) fits to 5e-8 and measures 3.4 ulp.
    """
    x = grid(0.0, 7.0)
    phi = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in x])
    tail = np.array([0.5 * math.erfc(v / math.sqrt(2)) for v in x])  # 1 - Phi, exactly
    f = 0.5 * np.log(phi / tail) / x  # atanh(2 Phi - 1) / x
    t = 2 * phi - 1
    # d Phi = (1 - t^2) / 2 * x * d f: how an error in f shows up in Phi
    sensitivity = 0.5 * (1 - t * t) * x
    v = x * x
    num = np.vander(v, p + 1, increasing=True)
    den = np.vander(v, q + 1, increasing=True)[:, 1:]
    previous = np.ones_like(v)
    extra = np.ones_like(v)
    best = (np.inf, None)
    for _ in range(rounds):
        w = np.sqrt(extra) * sensitivity / previous
        columns = np.hstack([num, -f[:, None] * den]) * w[:, None]
        c, *_ = np.linalg.lstsq(columns, f * w, rcond=None)
        p_val = num @ c[: p + 1]
        q_val = 1 + den @ c[p + 1 :]
        err = np.abs((p_val / q_val - f) * sensitivity)
        if err.max() < best[0]:
            best = (err.max(), c)
        previous = q_val
        extra = extra * err / err.max() + 1e-15
        extra /= extra.sum()
    c = best[1]
    return c[: p + 1], c[p + 1 :]


if __name__ == "__main__":
    print("_ERF_NEAR =", [float(v) for v in fit_erf_near()])
    print("_ERF_TAIL =", [float(v) for v in fit_erf_tail()])
    num, den = fit_gelu_phi()
    print("_PHI_NUM =", [float(v) for v in num])
    print("_PHI_DEN =", [float(v) for v in den])
