"""The GELU kernels (exact and tanh form, forward and backward), built for NumPy's costs.

NumPy makes one pass over memory per ufunc call and has no fused multiply-add, so an
elementwise kernel costs about its number of passes; a transcendental pass costs a few
arithmetic ones (on an AVX-512 x86: `exp2` ~3, `tanh` ~5, `exp` ~7). Hence, in float32:

- the exact GELU's normal CDF is a logistic in base 2, Phi(x) = 1 / (1 + 2^b(x)), whose
  exponent b = x P(x^2) / Q(x^2) is an odd rational fitted by tools/fit_special.py: `exp2` is
  NumPy's cheapest float32 transcendental;
- the forward is x Phi(x) = relu(x) - |x| m with m = min(Phi, 1 - Phi) = 1 / (1 + 2^|b|)
  (b is odd): where x > 0 only the small 1 - Phi is rounded, not Phi near 1;
- the backward's x phi(x) is x 2^(-v log2(e) / 2) / sqrt(2 pi) with v = x^2;
- given the forward's output y (core passes it when it is still alive and unchanged, as in
  a GPT's MLP), the backward reads Phi off y instead of recomputing it: 12 passes instead
  of 24. It takes Phi = H(x) - (relu(x) - y) / x with H the step function: relu(x) - y is
  exact, and what is divided and rounded is again min(Phi, 1 - Phi), not Phi (y / x would
  round twice near Phi = 1: 1.86e-7, against the slope bound of 2e-7 below);
- the kernels run over chunks of at most `CHUNK` elements with scratch rows kept per
  thread, so they allocate nothing but their result: a fresh full-size temporary can cost
  more in page faults than the arithmetic done on it (benchmarks/gelu_numpy.py counts them).

float64 keeps the textbook formulas (the exact form through `math.erf`), so that float64
gradient checks see the exact functions. The float32 exact form measures within 1.89 ulp of
max(|gelu(x)|, |x|/2), and its slope within 1.72e-7 from x, 1.56e-7 from y
(tests/core/test_erf_accuracy.py allows 2.5 ulp and 2e-7).

>>> import numpy as np
>>> y = forward(np.array([-1.0, 0.0, 2.0], dtype=np.float32), "none")
>>> [round(v, 6) for v in y.tolist()]  # x Phi(x)
[-0.158655, 0.0, 1.9545]
"""

from __future__ import annotations

import math
import threading

import numpy as np

from .special import erf

__all__ = ["CHUNK", "forward", "backward"]

#: elements per chunk: one chunk for a GPT-sized MLP activation (chunking adds ~0.5 us per
#: NumPy call and saves nothing), and a bound on the scratch: three rows, at most 6 MiB per
#: thread in float32, grown only as far as the inputs need
CHUNK = 1 << 19

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
GELU_CUBIC = 0.044715  # the x^3 coefficient of GPT-2's tanh approximation

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
_P_ABS = tuple(-c for c in _P)  # b(|x|) <= 0, so |x| P_ABS / Q = |b(x)|
_Q = tuple(np.float32(c / _PHI_DEN[-1]) for c in (1.0, *_PHI_DEN[:-1]))  # monic, c_3 = 1
# |x| is clipped here so that v^3 cannot overflow. NOTE: the rational's 2^b overflows to
# inf from about x = -14 down, where Phi is then exactly 0 (-1e30 gives -0.0, not -1e16).
_CLIP = np.float32(16.0)
_HALF_LOG2E = np.float32(-0.5 / math.log(2.0))  # 2^(v * this) = exp(-v / 2)
_INV_SQRT_2PI = np.float32(1.0 / math.sqrt(2.0 * math.pi))
_ONE = np.float32(1.0)
_ZERO = np.float32(0.0)
_INF = np.float32(np.inf)
# the backward from y falls back to the one from x where x^2 is not a normal float32: x = 0
# (y / x is 0 / 0), |x| < 2^-63 (a subnormal y has lost bits), |x| > 1.8e19 and inf or nan
_V_MIN = np.finfo(np.float32).tiny
_V_MAX = np.finfo(np.float32).max


def forward(x: np.ndarray, approximate: str) -> np.ndarray:
    """gelu(x) of a flat float32 or float64 array, in a new array of its dtype.

    approximate "tanh": 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); else x Phi(x).
    """
    if approximate == "tanh":
        out = _tanh_inner(x)
        np.tanh(out, out=out)
        out += 1.0
        out *= x
        out *= 0.5
        return out
    if x.dtype == np.float32:
        return _exact_forward_float32(x)
    out = erf(x * (1.0 / math.sqrt(2.0)))
    out += 1.0
    out *= x
    out *= 0.5
    return out


def backward(
    dy: np.ndarray, x: np.ndarray, approximate: str, y: np.ndarray | None = None
) -> np.ndarray:
    """dy gelu'(x) of flat arrays of one float dtype, in a new array of that dtype.

    tanh form: with t = tanh(inner), gelu' = 0.5 (1 + t) + 0.5 x (1 - t^2) inner'(x);
    exact form: gelu' = Phi(x) + x phi(x). `y`, if given, must be `forward(x, approximate)`
    (bit for bit): the float32 exact form then reads Phi off it; the others ignore it.
    """
    if approximate == "tanh":
        return _tanh_backward(dy, x)
    if x.dtype == np.float32:
        if y is not None and y.dtype == np.float32:
            return _exact_backward_from_output(dy, x, y)
        return _exact_backward_float32(dy, x)
    slope = erf(x * (1.0 / math.sqrt(2.0)))
    slope += 1.0
    slope *= 0.5  # Phi(x)
    rest = x * x
    rest *= -0.5
    np.exp(rest, out=rest)
    rest *= x
    rest *= 1.0 / math.sqrt(2.0 * math.pi)  # x phi(x)
    slope += rest
    slope *= dy
    return slope


class _Scratch(threading.local):
    """Three rows per dtype, one set per thread (ufuncs release the GIL)."""

    def __init__(self) -> None:
        self.by_dtype: dict[np.dtype, np.ndarray] = {}

    def rows(self, dtype: np.dtype, size: int) -> np.ndarray:
        """Rows of at least min(size, CHUNK) elements: reallocated only to grow."""
        width = min(size, CHUNK)
        rows = self.by_dtype.get(dtype)
        if rows is None or rows.shape[1] < width:
            rows = self.by_dtype[dtype] = np.empty((3, width), dtype=dtype)
        return rows


_SCRATCH = _Scratch()


def _exact_forward_float32(x: np.ndarray) -> np.ndarray:
    """x Phi(x) = relu(x) - |x| / (1 + 2^|b|), chunk by chunk."""
    out = np.empty_like(x)
    xc, v, q = _SCRATCH.rows(x.dtype, x.size)
    # NOTE: 2^|b| overflows to inf for |x| > 14, where |x| / (1 + inf) = 0 is what we want
    with np.errstate(over="ignore"):
        for start in range(0, x.size, CHUNK):
            stop = min(start + CHUNK, x.size)
            n = stop - start
            xs = x[start:stop]
            m = out[start:stop]  # the result's own memory: |b|, 1 + 2^|b|, m, then y
            np.abs(xs, out=xc[:n])
            xc[:n].clip(_ZERO, _CLIP, out=xc[:n])  # NOTE: both bounds: np.minimum is 3x slower
            _rational(xc[:n], _P_ABS, m, v[:n], q[:n])
            np.exp2(m, out=m)
            m += _ONE
            np.divide(xc[:n], m, out=m)  # m = |x| min(Phi, 1 - Phi), 0 past the clip
            xs.clip(_ZERO, _INF, out=v[:n])  # relu(x)
            np.subtract(v[:n], m, out=m)
    # NOTE: that gives gelu(-inf) = 0, the limit; PyTorch and the cpu backend say -inf * 0 = nan
    if x.size and not x.min() > -_INF:  # (a nan anywhere makes the min nan)
        out[np.isneginf(x)] = np.nan
    return out


def _exact_backward_float32(dy: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dy (Phi(x) + x phi(x)), chunk by chunk."""
    out = np.empty_like(x)
    xc, v, q = _SCRATCH.rows(x.dtype, x.size)
    with np.errstate(over="ignore"):  # see _exact_forward_float32
        for start in range(0, x.size, CHUNK):
            stop = min(start + CHUNK, x.size)
            n = stop - start
            slope = out[start:stop]
            x[start:stop].clip(-_CLIP, _CLIP, out=xc[:n])  # NaN stays NaN
            _rational(xc[:n], _P, slope, v[:n], q[:n])  # b
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


def _exact_backward_from_output(dy: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dy (Phi(x) + x phi(x)) with Phi(x) = H(x) - (relu(x) - y) / x, chunk by chunk.

    relu(x) - y is exact (y is in [x / 2, x] for x > 0), and (relu(x) - y) / x is 1 - Phi
    for x > 0 and -Phi for x < 0: its rounding is small where Phi is near 1.
    """
    out = np.empty_like(x)
    w, step, _ = _SCRATCH.rows(x.dtype, x.size)
    redo = []  # indices of the elements the backward from x recomputes
    # NOTE: those elements (x = 0, tiny, huge, inf, nan) may warn here: they are redone
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for start in range(0, x.size, CHUNK):
            stop = min(start + CHUNK, x.size)
            n = stop - start
            xs = x[start:stop]
            slope = out[start:stop]
            np.square(xs, out=slope)  # v = x^2
            if not (slope.min() >= _V_MIN and slope.max() <= _V_MAX):  # nan fails both
                normal = (slope >= _V_MIN) & (slope <= _V_MAX)
                redo.append(np.flatnonzero(~normal) + start)
            slope *= _HALF_LOG2E
            np.exp2(slope, out=slope)
            slope *= xs
            slope *= _INV_SQRT_2PI  # x phi(x)
            xs.clip(_ZERO, _INF, out=w[:n])  # relu(x)
            np.divide(w[:n], xs, out=step[:n])  # H(x): 1 for x > 0, 0 for x < 0
            w[:n] -= y[start:stop]
            w[:n] /= xs
            slope -= w[:n]
            slope += step[:n]
            slope *= dy[start:stop]
    if redo:
        where = np.concatenate(redo)
        out[where] = _exact_backward_float32(dy[where], x[where])
    return out


def _rational(xc: np.ndarray, p: tuple, b: np.ndarray, v: np.ndarray, q: np.ndarray) -> None:
    """b = xc P(v) / Q(v) with v = xc^2 (P's coefficients `p`), written into `b` and `v`.

    `xc` must be clipped to |xc| <= 16 so that v^3 cannot overflow. Two Horner evaluations
    in place (`q` is scratch); float32 throughout.
    """
    np.square(xc, out=v)
    np.multiply(v, p[3], out=b)
    b += p[2]
    b *= v
    b += p[1]
    b *= v
    b += p[0]
    np.add(v, _Q[2], out=q)
    q *= v
    q += _Q[1]
    q *= v
    q += _Q[0]
    b /= q
    b *= xc


def _tanh_backward(dy: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The tanh form's slope times dy, chunk by chunk (the arithmetic of whole arrays)."""
    out = np.empty_like(x)
    rest, factor, _ = _SCRATCH.rows(x.dtype, x.size)
    for start in range(0, x.size, CHUNK):
        stop = min(start + CHUNK, x.size)
        n = stop - start
        xs = x[start:stop]
        slope = out[start:stop]
        _tanh_inner(xs, out=slope)
        np.tanh(slope, out=slope)  # t
        np.multiply(slope, slope, out=rest[:n])
        np.subtract(1.0, rest[:n], out=rest[:n])  # 1 - t^2
        rest[:n] *= xs
        rest[:n] *= 0.5 * SQRT_2_OVER_PI
        np.multiply(xs, 3.0 * GELU_CUBIC, out=factor[:n])
        factor[:n] *= xs
        factor[:n] += 1.0  # inner'(x) / sqrt(2/pi)
        rest[:n] *= factor[:n]
        slope += 1.0
        slope *= 0.5
        slope += rest[:n]
        slope *= dy[start:stop]
    return out


def _tanh_inner(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """sqrt(2/pi) (x + 0.044715 x^3) = x (a + b x^2), in `out` or a new array."""
    inner = np.multiply(x, x, out=out)
    inner *= SQRT_2_OVER_PI * GELU_CUBIC
    inner += SQRT_2_OVER_PI
    inner *= x
    return inner
