"""Core's random spec (`tinygpt.philox`) vectorized: the same bits and the same doubles.

Every step below is one NumPy operation on whole arrays, each rounded once, in the order
the spec gives, so the results equal the pure-Python reference bit for bit.

>>> [hex(w) for w in random_bits(0, 0, 4)]
['0x6627e8d5', '0xe169c58d', '0xbc57ac4c', '0x9b00dbd8']
"""

from __future__ import annotations

import numpy as np

from tinygpt.philox import (
    COS_COEFFS,
    HALF_PI,
    LN2,
    LOG_COEFFS,
    PHILOX_M0,
    PHILOX_M1,
    PHILOX_W0,
    PHILOX_W1,
    SIN_COEFFS,
    SQRT_HALF,
    largest_below,
)

__all__ = ["random_bits", "samples"]

_LOW = np.uint64(0xFFFFFFFF)
_32 = np.uint64(32)


def _blocks(seed: int, counter: int, blocks: int) -> tuple[np.ndarray, ...]:
    """The four word arrays (uint64 holding 32 bits) of blocks counter .. counter + blocks - 1."""
    base_low = np.uint64(counter % 2**64)
    low = np.arange(blocks, dtype=np.uint64)
    low += base_low  # wraps mod 2**64, and then carries into the high half
    high = (low < base_low).astype(np.uint64)
    high += np.uint64((counter >> 64) % 2**64)
    c0, c1, c2, c3 = (low & _LOW), (low >> _32), (high & _LOW), (high >> _32)
    seed %= 2**64
    k0, k1 = seed & 0xFFFFFFFF, seed >> 32
    m0, m1 = np.uint64(PHILOX_M0), np.uint64(PHILOX_M1)
    product0 = np.empty_like(c0)
    product1 = np.empty_like(c0)
    for _ in range(10):
        # NOTE: in place (out=) to spare allocations: this loop is most of the cost
        np.multiply(c0, m0, out=product0)  # < 2**64: a 32 x 32-bit product in uint64
        np.multiply(c2, m1, out=product1)
        np.right_shift(product1, _32, out=c0)  # c0 = hi(product1) ^ c1 ^ k0, with c1 old
        c0 ^= c1
        c0 ^= np.uint64(k0)
        np.right_shift(product0, _32, out=c2)  # c2 = hi(product0) ^ c3 ^ k1, with c3 old
        c2 ^= c3
        c2 ^= np.uint64(k1)
        np.bitwise_and(product1, _LOW, out=c1)
        np.bitwise_and(product0, _LOW, out=c3)
        k0 = (k0 + PHILOX_W0) & 0xFFFFFFFF
        k1 = (k1 + PHILOX_W1) & 0xFFFFFFFF
    return c0, c1, c2, c3


def random_bits(seed: int, counter: int, size: int) -> np.ndarray:
    """`size` words as int64: word i is word i % 4 of block counter + i // 4."""
    words = np.stack(_blocks(seed, counter, (size + 3) // 4), axis=1)  # (blocks, 4)
    return words.reshape(-1)[:size].astype(np.int64)


def _unit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Doubles in [0, 1): 27 bits of x above 26 bits of y, times 2**-53 (all exact)."""
    top = (x >> np.uint64(5)).astype(np.float64) * 67108864.0
    return (top + (y >> np.uint64(6)).astype(np.float64)) * (1.0 / 9007199254740992.0)


def _horner(coeffs: tuple[float, ...], z: np.ndarray) -> np.ndarray:
    p = np.full_like(z, coeffs[-1])
    for c in reversed(coeffs[:-1]):
        p = p * z + c
    return p


def _log_unit(w: np.ndarray) -> np.ndarray:
    m, e = np.frexp(w)
    small = m < SQRT_HALF
    m = np.where(small, m * 2.0, m)
    e = np.where(small, e - 1, e).astype(np.float64)
    s = (m - 1.0) / (m + 1.0)
    return e * LN2 + s * _horner(LOG_COEFFS, s * s)


def _sincos_turn(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = 4.0 * u
    q = np.floor(t)
    p = ((t - q) - 0.5) * HALF_PI
    z = p * p
    sin_p = p * _horner(SIN_COEFFS, z)
    cos_p = _horner(COS_COEFFS, z)
    diff = cos_p - sin_p
    total = cos_p + sin_p
    quadrant = q.astype(np.int64)
    cos = np.choose(quadrant, [diff, -total, -diff, total])
    sin = np.choose(quadrant, [total, diff, -total, -diff])
    return SQRT_HALF * cos, SQRT_HALF * sin


def _doubles(dist: str, size: int, seed: int, counter: int, a: float, b: float) -> np.ndarray:
    x0, x1, x2, x3 = _blocks(seed, counter, (size + 1) // 2)
    u0 = _unit(x0, x1)
    u1 = _unit(x2, x3)
    if dist == "uniform":
        width = b - a
        pair = (a + width * u0, a + width * u1)
    elif dist == "normal":
        radius = np.sqrt(-2.0 * _log_unit(1.0 - u0))
        cos, sin = _sincos_turn(u1)
        pair = (a + b * (radius * cos), a + b * (radius * sin))
    else:  # bernoulli
        pair = ((u0 < a).astype(np.float64), (u1 < a).astype(np.float64))
    return np.stack(pair, axis=1).reshape(-1)[:size]  # samples 2g and 2g + 1 side by side


def samples(
    dist: str, size: int, dtype: np.dtype, seed: int, counter: int, a: float, b: float
) -> np.ndarray:
    """The spec's samples of `dist` in NumPy dtype `dtype`."""
    doubles = _doubles(dist, size, seed, counter, a, b)
    if dtype.kind in "iu":
        return (np.floor(doubles) if dist == "uniform" else doubles).astype(dtype)
    if dtype == np.bool_:
        return doubles != 0.0
    if dtype == np.float64:
        out = doubles
    else:  # float32 once, then float16 / bfloat16 from it: the spec's two roundings
        out = doubles.astype(np.float32).astype(dtype)
    if dist == "uniform" and b > a:
        cap = dtype.type(largest_below(b, dtype.name))
        out[out.astype(np.float64) >= b] = cap
    return out
