"""The random-number spec every backend implements bit for bit, with its reference code.

tinygpt has one generator for all devices, so a seed gives the same numbers on numpy, cpu,
pure and cuda (PyTorch promises this only per device). It is counter-based: sample i of a
call depends on (seed, counter, i) alone, so a kernel can compute any element independently.

**Bits.** Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
SC 2011): a 10-round block cipher from a 128-bit counter (four 32-bit words, least
significant first) and a 64-bit key (two words) to four random 32-bit words. The key is the
seed (mod 2**64: low word first); the counter of block g of a call is `counter + g`, where
`counter` is the generator's offset, which advances by the blocks each call uses.

**Unit numbers.** Block g gives samples 2g and 2g+1; each takes two words (x, y) and forms
u = ((x >> 5) * 2**26 + (y >> 6)) * 2**-53, a double in [0, 1) with 53 random bits.

**Distributions**, in double precision, every operation rounded once (no fused multiply-add):

- uniform [a, b): a + (b - a) * u;
- normal (mean a, std b), Box-Muller on the block's two numbers u0, u1:
  r = sqrt(-2 * log(1 - u0)); samples a + b * (r * cos(2 pi u1)), a + b * (r * sin(...));
- bernoulli (p = a): 1.0 if u < a else 0.0.

`log`, `cos` and `sin` are *not* the platform's libm (which differs in the last bit between
glibc, NumPy's SIMD loops and CUDA): `log_unit` and `sincos_turn` below spell out polynomial
evaluations that use only +, -, *, / and sqrt, which IEEE 754 rounds identically everywhere.

**Storing.** The double is rounded to the dtype: float64 as is; float32 once (to nearest
even); float16 and bfloat16 via float32 (double -> float32 -> narrow, each to nearest even);
integers take floor (uniform) or truncation (others); bool is value != 0. A uniform that
rounded up to b is replaced by the dtype's largest value below b, so [a, b) stays half-open.

>>> [hex(w) for w in philox4x32_10((0, 0, 0, 0), (0, 0))]
['0x6627e8d5', '0xe169c58d', '0xbc57ac4c', '0x9b00dbd8']
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator

__all__ = [
    "philox4x32_10",
    "block_words",
    "unit",
    "log_unit",
    "sincos_turn",
    "reference_doubles",
    "reference_samples",
    "round_to",
    "largest_below",
    "LOG_COEFFS",
    "SIN_COEFFS",
    "COS_COEFFS",
]

MASK32 = 0xFFFFFFFF
#: Philox's round multipliers and the Weyl constants that schedule the key
PHILOX_M0 = 0xD2511F53
PHILOX_M1 = 0xCD9E8D57
PHILOX_W0 = 0x9E3779B9
PHILOX_W1 = 0xBB67AE85

#: log(m) = s * P(s*s), s = (m - 1) / (m + 1): the series 2 * atanh(s), P's coefficients
#: 2 / (2k + 1), lowest first; |s| <= 0.1716, so 12 terms reach double precision
LOG_COEFFS = (
    2.0, 0.6666666666666666, 0.4, 0.2857142857142857, 0.2222222222222222,
    0.18181818181818182, 0.15384615384615385, 0.13333333333333333, 0.11764705882352941,
    0.10526315789473684, 0.09523809523809523, 0.08695652173913043,
)  # fmt: skip
#: sin(p) = p * S(p*p) and cos(p) = C(p*p) for |p| <= pi/4: Taylor coefficients, lowest first
SIN_COEFFS = (
    1.0, -0.16666666666666666, 0.008333333333333333, -0.0001984126984126984,
    2.7557319223985893e-06, -2.505210838544172e-08, 1.6059043836821613e-10,
    -7.647163731819816e-13, 2.8114572543455206e-15,
)  # fmt: skip
COS_COEFFS = (
    1.0, -0.5, 0.041666666666666664, -0.001388888888888889, 2.48015873015873e-05,
    -2.755731922398589e-07, 2.08767569878681e-09, -1.1470745597729725e-11,
    4.779477332387385e-14, -1.5619206968586225e-16,
)  # fmt: skip
LN2 = 0.6931471805599453
SQRT_HALF = 0.7071067811865476
HALF_PI = 1.5707963267948966


def philox4x32_10(counter: tuple[int, int, int, int], key: tuple[int, int]) -> tuple[int, ...]:
    """The four 32-bit words of Philox4x32-10 for one 128-bit counter and 64-bit key."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for _ in range(10):
        product0 = PHILOX_M0 * c0
        product1 = PHILOX_M1 * c2
        # each round mixes the high halves of two 32x32 -> 64-bit products into the others
        c0, c1, c2, c3 = (
            (product1 >> 32) ^ c1 ^ k0,
            product1 & MASK32,
            (product0 >> 32) ^ c3 ^ k1,
            product0 & MASK32,
        )
        k0 = (k0 + PHILOX_W0) & MASK32
        k1 = (k1 + PHILOX_W1) & MASK32
    return c0, c1, c2, c3


def _key(seed: int) -> tuple[int, int]:
    seed %= 2**64
    return seed & MASK32, seed >> 32


def block_words(seed: int, counter: int, blocks: int) -> Iterator[tuple[int, ...]]:
    """The words of `blocks` consecutive blocks, from block `counter` (128-bit, wrapping)."""
    key = _key(seed)
    for g in range(blocks):
        c = (counter + g) % 2**128
        words = (c & MASK32, (c >> 32) & MASK32, (c >> 64) & MASK32, c >> 96)
        yield philox4x32_10(words, key)


def unit(x: int, y: int) -> float:
    """A double in [0, 1) from two words: 27 bits of x above 26 bits of y (exact)."""
    return ((x >> 5) * 67108864.0 + (y >> 6)) * (1.0 / 9007199254740992.0)


def _horner(coeffs: tuple[float, ...], z: float) -> float:
    """coeffs[0] + z * (coeffs[1] + z * (...)), from the highest coefficient down."""
    p = coeffs[-1]
    for c in reversed(coeffs[:-1]):
        p = p * z + c
    return p


def log_unit(w: float) -> float:
    """log(w) for w in (0, 1] (any positive finite w works), from +, -, *, / only.

    >>> abs(log_unit(0.3) - math.log(0.3)) < 1e-15
    True
    """
    m, e = math.frexp(w)  # w = m * 2**e, m in [0.5, 1): exact
    if m < SQRT_HALF:
        m = m * 2.0
        e = e - 1  # now m in [sqrt(1/2), sqrt(2)), so |s| <= 0.1716
    s = (m - 1.0) / (m + 1.0)
    return e * LN2 + s * _horner(LOG_COEFFS, s * s)


def sincos_turn(u: float) -> tuple[float, float]:
    """(cos, sin) of the angle 2 pi u for u in [0, 1), from +, -, *, / only.

    The angle is split exactly into a quadrant q and a remainder around the quadrant's
    middle, (q + 1/2 + r) pi/2 with r in [-1/2, 1/2), so the series only meets |p| <= pi/4.

    >>> c, s = sincos_turn(0.1)
    >>> abs(c - math.cos(0.2 * math.pi)) < 1e-15, abs(s - math.sin(0.2 * math.pi)) < 1e-15
    (True, True)
    """
    t = 4.0 * u
    q = math.floor(t)
    r = (t - q) - 0.5  # exact: t has 53 bits, all of them below 2**2
    p = r * HALF_PI
    z = p * p
    sin_p = p * _horner(SIN_COEFFS, z)
    cos_p = _horner(COS_COEFFS, z)
    # rotate by the middle of quadrant q, (2q + 1) pi/4, whose cos and sin are +-sqrt(1/2)
    diff = cos_p - sin_p
    total = cos_p + sin_p
    cos_sin = ((diff, total), (-total, diff), (-diff, -total), (total, -diff))[q]
    return SQRT_HALF * cos_sin[0], SQRT_HALF * cos_sin[1]


def reference_doubles(dist: str, size: int, seed: int, counter: int, a: float, b: float):
    """The `size` doubles of the spec (before rounding to a dtype), as a list.

    >>> len(reference_doubles("normal", 5, seed=0, counter=0, a=0.0, b=1.0))
    5
    """
    out: list[float] = []
    for x0, x1, x2, x3 in block_words(seed, counter, (size + 1) // 2):
        u0 = unit(x0, x1)
        u1 = unit(x2, x3)
        if dist == "uniform":
            width = b - a
            pair = (a + width * u0, a + width * u1)
        elif dist == "normal":
            radius = math.sqrt(-2.0 * log_unit(1.0 - u0))  # 1 - u0 in (0, 1]: exact
            cos_a, sin_a = sincos_turn(u1)
            pair = (a + b * (radius * cos_a), a + b * (radius * sin_a))
        elif dist == "bernoulli":
            pair = (1.0 if u0 < a else 0.0, 1.0 if u1 < a else 0.0)
        else:
            raise ValueError(f"unknown distribution {dist!r}: uniform, normal or bernoulli")
        out.extend(pair)
    return out[:size]


def _bfloat16_bits(single: float) -> int:
    """The bfloat16 bits nearest (ties to even) to a float32 value; nan stays a quiet nan."""
    bits = struct.unpack("<I", struct.pack("<f", single))[0]
    if single != single:
        return ((bits >> 16) & 0x8000) | 0x7FC0  # the canonical quiet nan, as ml_dtypes
    return (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16


def _pack_round(code: str, value: float) -> float:
    """`value` rounded to a float32 ("f") or float16 ("e"), to nearest even; inf past max."""
    try:
        return struct.unpack(code, struct.pack(code, value))[0]
    except OverflowError:  # it rounds past the largest finite value
        return math.copysign(math.inf, value)


def round_to(value: float, dtype: str, floor: bool = False) -> float | int | bool:
    """A spec double stored in dtype `dtype` (a name), as a Python number of that value.

    >>> round_to(1.0 + 2.0**-9, "bfloat16"), round_to(-2.5, "int64"), round_to(-2.5, "int64", True)
    (1.0, -2, -3)
    """
    if dtype == "float64":
        return value
    if dtype == "bool":
        return value != 0.0
    if dtype not in ("float32", "float16", "bfloat16"):
        return math.floor(value) if floor else int(value)  # an integer dtype
    single = _pack_round("f", value)
    if dtype == "float16":
        return _pack_round("e", single)
    if dtype == "bfloat16":
        return struct.unpack("<f", struct.pack("<I", _bfloat16_bits(single) << 16))[0]
    return single


def largest_below(high: float, dtype: str) -> float:
    """The largest value of floating dtype `dtype` strictly below `high`.

    >>> largest_below(1.0, "bfloat16"), largest_below(1.0, "float16"), largest_below(0.0, "float16")
    (0.99609375, 0.99951171875, -5.960464477539063e-08)
    """
    if dtype == "float64":
        return math.nextafter(high, -math.inf)
    value = round_to(high, dtype)
    assert isinstance(value, float)
    if value < high:
        return value
    # one step down through the bits: sign-magnitude, so a positive value steps its bits
    # down, a negative one up, and zero goes to the smallest negative subnormal
    code, width = {"float32": ("f", 32), "float16": ("e", 16), "bfloat16": ("f", 16)}[dtype]
    packed = struct.pack("<" + code, value)
    bits = int.from_bytes(packed, "little") >> (32 - width if dtype == "bfloat16" else 0)
    sign = 1 << (width - 1)
    if bits & ~sign == 0:
        bits = sign | 1
    else:
        bits = bits - 1 if bits < sign else bits + 1
    if dtype == "bfloat16":
        bits <<= 16
    return struct.unpack("<" + code, bits.to_bytes(len(packed), "little"))[0]


def reference_samples(
    dist: str, size: int, dtype: str, seed: int, counter: int, a: float, b: float
) -> list:
    """The spec's `size` samples in dtype `dtype` (a name), as Python numbers: the reference
    a backend is tested against, and a backend itself for the pure example.

    >>> reference_samples("bernoulli", 4, "bool", seed=0, counter=0, a=0.5, b=0.0)
    [True, False, False, False]
    """
    doubles = reference_doubles(dist, size, seed, counter, a, b)
    is_float = dtype in ("float16", "float32", "float64", "bfloat16")
    floor = dist == "uniform"
    out = [round_to(v, dtype, floor) for v in doubles]
    if dist == "uniform" and is_float and b > a:
        cap = largest_below(b, dtype)
        out = [cap if v >= b else v for v in out]
    return out
