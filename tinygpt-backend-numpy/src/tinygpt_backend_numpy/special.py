"""The functions NumPy lacks as ufuncs: a stable `sigmoid` and a vectorized `erf`. (The exact
GELU has its own, cheaper normal CDF: gelu.py.)

>>> import numpy as np
>>> sigmoid(np.array([-1000.0, 0.0, 1000.0])).tolist()
[0.0, 0.5, 1.0]
>>> round(float(erf(np.array([0.5], dtype=np.float32))[0]), 6)
0.5205
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["sigmoid", "erf"]


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), same dtype, without overflow for large |x|."""
    # NOTE: exp(-x) overflows for x << 0. exp(-|x|) is always in (0, 1], and
    # sigmoid(x) = 1 / (1 + e) for x >= 0, e / (1 + e) for x < 0, with e = exp(-|x|).
    e = np.exp(-np.abs(x))
    r = 1 / (1 + e)
    return np.where(x >= 0, r, e * r)


# math.erf element by element: exact to the last bit, but ~50x slower than a ufunc.
_math_erf = np.frompyfunc(math.erf, 1, 1)

# float32 erf in two pieces, each a polynomial fitted by tools/fit_special.py (rerun it to
# reproduce these numbers). Near 0, erf(z) = z + z R(z^2) keeps the relative error small:
# the leading term z is exact and R's rounding errors are scaled down by |R| < 0.13.
_ERF_SPLIT = 1.0
_ERF_NEAR = (
    0.12837916572832153,
    -0.37612625828569746,
    0.1128358518218741,
    -0.026853813054227137,
    0.005188329504206014,
    -0.0008010207842698333,
    7.853904176194492e-05,
)
# From |z| = 1 on, erf(z) = 1 - exp(-z^2) F(|z| - 1): erfc is < 0.16 there, so the float32
# error of exp and F shrinks by that factor in erf. From 3.9375 on float32 erf is 1.
_ERF_ONE = 3.9375
_ERF_TAIL = (
    0.427583544325148,
    -0.27320793508072266,
    0.1542914861859013,
    -0.07865892825167992,
    0.03565966734669076,
    -0.013187197349054153,
    0.003309275358523475,
    -0.00039379109734698784,
)


def erf(x: np.ndarray) -> np.ndarray:
    """The error function, same dtype as `x` (floating).

    float64 goes through `math.erf` so that float64 gradient checks see the exact function;
    float32 (and float16, computed in float32) within 2 ulp of it, vectorized.
    """
    if x.dtype == np.float64:
        # frompyfunc gives an object array (or a bare float for 0-d input)
        return np.asarray(_math_erf(x), dtype=np.float64)
    flat = x.astype(np.float32).reshape(-1)  # 0-d becomes an array: no NumPy scalars
    return _erf_float32(flat).astype(x.dtype, copy=False).reshape(x.shape)


def _erf_float32(z: np.ndarray) -> np.ndarray:
    """erf of a flat float32 array: both pieces over every element, then a branch-free pick.

    NOTE: no masked copies (`out[near] = ...` gathers and scatters, ~10x an arithmetic pass);
    each piece reads a clipped input, so it is finite wherever it is not used.
    """
    size = np.abs(z)
    inner = np.clip(z, -_ERF_SPLIT, _ERF_SPLIT)  # NaN stays NaN, +-inf becomes +-1
    near = _horner(inner * inner, _ERF_NEAR)
    near *= inner
    near += inner
    s = np.clip(size, _ERF_SPLIT, _ERF_ONE)
    gauss = s * s
    np.negative(gauss, out=gauss)
    np.exp(gauss, out=gauss)
    s -= _ERF_SPLIT
    far = _horner(s, _ERF_TAIL)
    far *= gauss  # erfc(|z|)
    np.subtract(1.0, far, out=far)
    far *= inner  # inner is exactly +-1 where far is used: it carries the sign
    # pick far where |z| > 1: near + (far - near) * mask. subtle: far - near is exact there
    # (both lie in [0.84, 1] with one sign), so the sum gives far back to the last bit.
    far -= near
    far *= size > _ERF_SPLIT
    far += near
    return far


def _horner(v: np.ndarray, coefficients: tuple[float, ...]) -> np.ndarray:
    """sum_k c_k v^k in place-updated float32 (c_0 first)."""
    acc = v * np.float32(coefficients[-1])
    for c in reversed(coefficients[1:-1]):
        acc += np.float32(c)
        acc *= v
    acc += np.float32(coefficients[0])
    return acc
