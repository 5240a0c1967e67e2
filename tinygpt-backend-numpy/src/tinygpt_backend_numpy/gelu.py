"""The exact (erf) GELU of float32 arrays, forward and backward, built for NumPy's costs.

NumPy makes one pass over memory per ufunc call and has no fused multiply-add, so an
elementwise kernel costs about its number of passes; a transcendental pass costs a few
arithmetic ones (on an AVX-512 x86: `exp2` ~3, `tanh` ~5, `exp` ~7). Hence:

- the normal CDF is a logistic in base 2, Phi(x) = 1 / (1 + 2^b(x)), whose exponent
  b = x P(x^2) / Q(x^2) is a rational fitted by tools/fit_special.py: `exp2` is NumPy's
  cheapest float32 transcendental, and x / (1 + 2^b) is x Phi(x) in one division;
- the backward's x phi(x) is x 2^(-v log2(e) / 2) / sqrt(2 pi) with v = x^2, the same
  square the rational already needed;
- the passes run over chunks of `CHUNK` elements with scratch rows kept per thread: the
  working set stays in the L2 cache, and a call allocates nothing but its result (a fresh
  full-size temporary can cost more in page faults than the arithmetic done on it).

Accuracy (tests/core/test_erf_accuracy.py): the forward within 2 float32 ulp of
max(|gelu(x)|, |x|/2) of the float64 `math.erf` value, the slope within 2e-7.

>>> import numpy as np
>>> forward(np.array([-1.0, 0.0, 2.0], dtype=np.float32)).round(6).tolist()
[-0.158655, 0.0, 1.9545]
"""

from __future__ import annotations

import math
import threading

import numpy as np

__all__ = ["CHUNK", "forward", "backward"]

#: elements per chunk: five float32 rows of 256 KiB (input, result, scratch) share the L2
CHUNK = 1 << 16

# The fit (tools/fit_special.py): Phi(x) = (1 + tanh(x P(x^2) / Q(x^2))) / 2 with
# P = sum p_k v^k and Q = 1 + sum q_k v^k, absolute error of Phi < 2e-9 in float64.
_PHI_NUM = (
    0.7978845795697346,
    0.09891071444583908,
    0.007522920028222381,
    0.0001915735937736417,
)
_PHI_DEN = (0.07842639930482355, 0.005903238264713714, 4.033330355712069e-05)

# (1 + tanh(a)) / 2 = 1 / (1 + e^(-2a)) = 1 / (1 + 2^b) with b = -2 log2(e) a. Dividing P and
# Q by Q's leading coefficient makes Q monic (one pass fewer); P keeps the scale.
_B_SCALE = -2.0 / math.log(2.0) / _PHI_DEN[-1]
_P = tuple(np.float32(c * _B_SCALE) for c in _PHI_NUM)  # c_0 first
_Q = tuple(np.float32(c / _PHI_DEN[-1]) for c in (1.0, *_PHI_DEN[:-1]))  # monic, c_3 = 1
# |x| is clipped here so that v^3 cannot overflow. NOTE: the rational's 2^b overflows to
# inf from x = -14 on, so Phi is exactly 0 below -16 (-1e30 gives -0.0, not -1e30 * 1e-14).
_CLIP = np.float32(16.0)
_HALF_LOG2E = np.float32(-0.5 / math.log(2.0))  # 2^(v * this) = exp(-v / 2)
_INV_SQRT_2PI = np.float32(1.0 / math.sqrt(2.0 * math.pi))
_ONE = np.float32(1.0)


class _Scratch(threading.local):
    """Three float32 rows of CHUNK elements, one set per thread (ufuncs release the GIL)."""

    def __init__(self) -> None:
        self.rows = np.empty((3, CHUNK), dtype=np.float32)


_SCRATCH = _Scratch()


def forward(x: np.ndarray) -> np.ndarray:
    """x Phi(x) of a flat float32 array, in a new flat float32 array."""
    out = np.empty_like(x)
    xc, v, q = _SCRATCH.rows
    # NOTE: 2^b overflows to inf for x < -14, where Phi = 1 / (1 + inf) = 0 is what we want
    with np.errstate(over="ignore"):
        for start in range(0, x.size, CHUNK):
            stop = min(start + CHUNK, x.size)
            n = stop - start
            b = out[start:stop]  # the result's own memory holds b, then 2^b, then the result
            _exponent(x[start:stop], b, xc[:n], v[:n], q[:n])
            np.exp2(b, out=b)
            b += _ONE
            np.divide(x[start:stop], b, out=b)
    return out


def backward(dy: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dy (Phi(x) + x phi(x)) of flat float32 arrays, in a new flat float32 array."""
    out = np.empty_like(x)
    xc, v, q = _SCRATCH.rows
    with np.errstate(over="ignore"):  # see forward
        for start in range(0, x.size, CHUNK):
            stop = min(start + CHUNK, x.size)
            n = stop - start
            slope = out[start:stop]
            _exponent(x[start:stop], slope, xc[:n], v[:n], q[:n])
            np.exp2(slope, out=slope)
            slope += _ONE
            np.divide(_ONE, slope, out=slope)  # Phi(x)
            density = v[:n]  # v = xc^2 is free again: it becomes xc phi(xc)
            density *= _HALF_LOG2E
            np.exp2(density, out=density)
            density *= xc[:n]
            density *= _INV_SQRT_2PI
            slope += density
            slope *= dy[start:stop]
    return out


def _exponent(x: np.ndarray, b: np.ndarray, xc: np.ndarray, v: np.ndarray, q: np.ndarray):
    """b = xc P(v) / Q(v) with xc = clip(x), v = xc^2, written into `b`, `xc` and `v`.

    Two Horner evaluations in place (`q` is scratch); float32 throughout.
    """
    np.clip(x, -_CLIP, _CLIP, out=xc)  # NaN stays NaN
    np.square(xc, out=v)
    np.multiply(v, _P[3], out=b)
    b += _P[2]
    b *= v
    b += _P[1]
    b *= v
    b += _P[0]
    np.add(v, _Q[2], out=q)
    q *= v
    q += _Q[1]
    q *= v
    q += _Q[0]
    b /= q
    b *= xc
