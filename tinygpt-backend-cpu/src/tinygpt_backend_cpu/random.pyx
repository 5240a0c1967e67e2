# cython: language_level=3
"""Seeded random fills: uniform [a, b), normal (mean a, std b), bernoulli (p = a).

Core's spec, `tinygpt.philox`, in C: Philox4x32-10 words, two 53-bit unit doubles per
block, then the spec's arithmetic in the spec's order (setup.py compiles this module with
-ffp-contract=off, so no multiply-add is fused and every operation rounds as in NumPy or
Python). Element i depends only on (seed, counter, i), never on the thread count.
"""

from cython.parallel cimport prange
from libc.math cimport floor, sqrt

from tinygpt.errors import BackendError
from tinygpt import philox as spec

from .buffer cimport Buffer, new_buffer
from .dtypes cimport (
    BFLOAT16, BOOL, FLOAT16, FLOAT32, FLOAT64, INT8, INT32, INT64, UINT8, bf16_to_float,
    dtype_code, dtype_object, float_to_bf16, float_to_half, half_to_float, int8_t, int32_t,
    int64_t, itemsize_of, uint8_t, uint16_t, uint32_t, uint64_t,
)
from .strided cimport thread_count

cdef enum:
    UNIFORM, NORMAL, BERNOULLI
    CHUNK = 4096  # elements per work item (even, so that normal pairs never split)
    N_LOG = 12
    N_SIN = 9
    N_COS = 10

_DISTRIBUTIONS = {"uniform": UNIFORM, "normal": NORMAL, "bernoulli": BERNOULLI}

# the spec's coefficients, copied from core so that both use the very same doubles
cdef double LOG_C[N_LOG]
cdef double SIN_C[N_SIN]
cdef double COS_C[N_COS]
for _i in range(N_LOG):
    LOG_C[_i] = spec.LOG_COEFFS[_i]
for _i in range(N_SIN):
    SIN_C[_i] = spec.SIN_COEFFS[_i]
for _i in range(N_COS):
    COS_C[_i] = spec.COS_COEFFS[_i]
cdef double LN2 = spec.LN2
cdef double SQRT_HALF = spec.SQRT_HALF
cdef double HALF_PI = spec.HALF_PI


cdef struct Counter:
    uint64_t low
    uint64_t high
    uint32_t k0
    uint32_t k1


cdef inline void philox(const Counter* base, uint64_t g, uint32_t* w) noexcept nogil:
    """The four words of block base + g (a 128-bit addition)."""
    cdef uint64_t low = base.low + g
    cdef uint64_t high = base.high + (1 if low < base.low else 0)
    cdef uint32_t c0 = <uint32_t>low, c1 = <uint32_t>(low >> 32)
    cdef uint32_t c2 = <uint32_t>high, c3 = <uint32_t>(high >> 32)
    cdef uint32_t k0 = base.k0, k1 = base.k1, n0, n2
    cdef uint64_t p0, p1
    cdef int r
    for r in range(10):
        p0 = <uint64_t>0xD2511F53u * c0
        p1 = <uint64_t>0xCD9E8D57u * c2
        n0 = <uint32_t>(p1 >> 32) ^ c1 ^ k0
        n2 = <uint32_t>(p0 >> 32) ^ c3 ^ k1
        c0 = n0
        c1 = <uint32_t>p1
        c2 = n2
        c3 = <uint32_t>p0
        k0 = k0 + 0x9E3779B9u
        k1 = k1 + 0xBB67AE85u
    w[0] = c0
    w[1] = c1
    w[2] = c2
    w[3] = c3


cdef inline double _unit(uint32_t x, uint32_t y) noexcept nogil:
    return ((x >> 5) * 67108864.0 + (y >> 6)) * (1.0 / 9007199254740992.0)


cdef inline double _horner(const double* c, int n, double z) noexcept nogil:
    cdef double p = c[n - 1]
    cdef int k
    for k in range(n - 2, -1, -1):
        p = p * z + c[k]
    return p


cdef union DoubleBits:
    double d
    uint64_t u


cdef inline double _log_unit(double w) noexcept nogil:
    # frexp by hand (a libm call costs more than the rest): w = m 2**e with m in [0.5, 1).
    # Exact for every w here: 1 - u is a normal double in [2**-53, 1].
    cdef DoubleBits bits
    bits.d = w
    cdef int e = <int>((bits.u >> 52) & 0x7ff) - 1022
    bits.u = (bits.u & 0x800fffffffffffffULL) | (<uint64_t>1022 << 52)
    cdef double m = bits.d, s
    if m < SQRT_HALF:
        m = m * 2.0
        e = e - 1
    s = (m - 1.0) / (m + 1.0)
    return e * LN2 + s * _horner(LOG_C, N_LOG, s * s)


cdef inline void _sincos_turn(double u, double* cos_out, double* sin_out) noexcept nogil:
    cdef double t = 4.0 * u
    cdef double q = floor(t)
    cdef double p = ((t - q) - 0.5) * HALF_PI
    cdef double z = p * p
    cdef double sin_p = p * _horner(SIN_C, N_SIN, z)
    cdef double cos_p = _horner(COS_C, N_COS, z)
    cdef double diff = cos_p - sin_p, total = cos_p + sin_p
    cdef int quadrant = <int>q
    cdef double c, s
    # rotate by the middle of the quadrant, (2q + 1) pi/4 (see tinygpt.philox.sincos_turn)
    if quadrant == 0:
        c = diff
        s = total
    elif quadrant == 1:
        c = -total
        s = diff
    elif quadrant == 2:
        c = -diff
        s = -total
    else:
        c = total
        s = -diff
    cos_out[0] = SQRT_HALF * c
    sin_out[0] = SQRT_HALF * s


cdef struct Fill:
    int dist
    int dtype
    Counter counter
    double a
    double b
    double cap  # the largest value of the dtype under b (uniform only), else +inf
    char* out


cdef inline void _store(const Fill* f, Py_ssize_t i, double value) noexcept nogil:
    """Element i = value rounded as the spec says; a uniform that reached b gets `cap`."""
    cdef double whole
    cdef float single
    cdef uint16_t half
    if f.dtype == FLOAT64:
        (<double*>f.out)[i] = f.cap if value >= f.b and f.cap < f.b else value
    elif f.dtype == FLOAT32 or f.dtype == FLOAT16 or f.dtype == BFLOAT16:
        single = <float>value
        if f.dtype == FLOAT32:
            (<float*>f.out)[i] = <float>f.cap if single >= f.b and f.cap < f.b else single
            return
        if f.dtype == FLOAT16:
            half = float_to_half(single)
            if half_to_float(half) >= f.b and f.cap < f.b:
                half = float_to_half(<float>f.cap)
        else:
            half = float_to_bf16(single)
            if bf16_to_float(half) >= f.b and f.cap < f.b:
                half = float_to_bf16(<float>f.cap)
        (<uint16_t*>f.out)[i] = half
    elif f.dtype == BOOL:
        (<uint8_t*>f.out)[i] = value != 0
    else:
        whole = floor(value) if f.dist == UNIFORM else value  # floor, or truncate below
        if f.dtype == INT64:
            (<int64_t*>f.out)[i] = <int64_t>whole
        elif f.dtype == INT32:
            (<int32_t*>f.out)[i] = <int32_t>whole
        elif f.dtype == INT8:
            (<int8_t*>f.out)[i] = <int8_t><int32_t>whole
        else:
            (<uint8_t*>f.out)[i] = <uint8_t><int32_t>whole


cdef void _fill_chunk(const Fill* f, Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    """Elements start..stop-1 (start even): block g gives elements 2g and 2g + 1."""
    cdef Py_ssize_t i = start
    cdef uint32_t w[4]
    cdef double u0, u1, radius, cos_a, sin_a, v0, v1
    while i < stop:
        philox(&f.counter, <uint64_t>(i // 2), w)
        u0 = _unit(w[0], w[1])
        u1 = _unit(w[2], w[3])
        if f.dist == UNIFORM:
            v0 = f.a + (f.b - f.a) * u0
            v1 = f.a + (f.b - f.a) * u1
        elif f.dist == NORMAL:
            radius = sqrt(-2.0 * _log_unit(1.0 - u0))
            _sincos_turn(u1, &cos_a, &sin_a)
            v0 = f.a + f.b * (radius * cos_a)
            v1 = f.a + f.b * (radius * sin_a)
        else:
            v0 = 1.0 if u0 < f.a else 0.0
            v1 = 1.0 if u1 < f.a else 0.0
        _store(f, i, v0)
        if i + 1 < stop:
            _store(f, i + 1, v1)
        i += 2


cdef void _set_counter(Counter* c, object seed, object counter):
    key = seed % 2**64
    start = counter % 2**128
    c.k0 = <uint32_t>(key & 0xFFFFFFFF)
    c.k1 = <uint32_t>(key >> 32)
    c.low = <uint64_t>(start & 0xFFFFFFFFFFFFFFFF)
    c.high = <uint64_t>(start >> 64)


def random(str dist, Py_ssize_t size, dtype, object seed, double a, double b, object counter=0):
    cdef Fill f
    cdef Py_ssize_t chunks = (size + CHUNK - 1) // CHUNK, c
    cdef int threads = thread_count(size * 8)  # each element costs several operations
    code = _DISTRIBUTIONS.get(dist)
    if code is None:
        raise BackendError(f"cpu backend: unknown distribution {dist!r}")
    f.dist = code
    f.dtype = dtype_code(dtype)
    _set_counter(&f.counter, seed, counter)
    f.a = a
    f.b = b
    f.cap = float("inf")
    is_float = f.dtype in (FLOAT16, FLOAT32, FLOAT64, BFLOAT16)
    if code == UNIFORM and is_float and b > a:
        f.cap = spec.largest_below(b, dtype_object(f.dtype).name)
    cdef Buffer buffer = new_buffer(size, itemsize_of(f.dtype))
    f.out = buffer.data
    with nogil:
        for c in prange(chunks, num_threads=threads, schedule="static"):
            _fill_chunk(&f, c * CHUNK, c * CHUNK + CHUNK if c * CHUNK + CHUNK < size else size)
    return buffer


def random_bits(object seed, object counter, Py_ssize_t size):
    """`size` words as int64: word i is word i % 4 of block counter + i // 4."""
    cdef Counter base
    cdef uint32_t w[4]
    cdef Py_ssize_t i
    _set_counter(&base, seed, counter)
    cdef Buffer buffer = new_buffer(size, 8)
    cdef int64_t* out = <int64_t*>buffer.data
    with nogil:
        for i in range(size):
            if i % 4 == 0:
                philox(&base, <uint64_t>(i // 4), w)
            out[i] = w[i % 4]
    return buffer
