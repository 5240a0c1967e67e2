# cython: language_level=3
"""Seeded random fills: uniform [a, b), normal (mean a, std b), bernoulli (p = a).

Element i draws from a counter-based generator: bits(i) = SplitMix64 at position i of the
stream keyed by the seed. No generator state passes from one element to the next, so the
threads fill disjoint ranges and the numbers depend only on (seed, i), never on the thread
count.
"""

from cython.parallel cimport prange
from libc.math cimport INFINITY, cos, floor, log, nextafter, nextafterf, sin, sqrt

from tinygpt.errors import BackendError

from .buffer cimport Buffer, new_buffer
from .dtypes cimport (
    FLOAT16, FLOAT32, FLOAT64, INT32, INT64, dtype_code, float_to_half, half_to_float,
    int32_t, int64_t, itemsize_of, uint8_t, uint16_t, uint64_t,
)
from .strided cimport thread_count

cdef enum:
    UNIFORM, NORMAL, BERNOULLI
    CHUNK = 4096  # elements per work item (even, so that normal pairs never split)

_DISTRIBUTIONS = {"uniform": UNIFORM, "normal": NORMAL, "bernoulli": BERNOULLI}

cdef double TWO_PI = 6.283185307179586


cdef inline uint64_t _mix(uint64_t z) noexcept nogil:
    """SplitMix64's output function: a bijective 64-bit hash."""
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL
    return z ^ (z >> 31)


cdef inline double _unit(uint64_t key, Py_ssize_t i) noexcept nogil:
    """Uniform in [0, 1) with 53 random bits: the stream's i-th number."""
    cdef uint64_t bits = _mix(key + (<uint64_t>i + 1) * 0x9e3779b97f4a7c15ULL)
    return (bits >> 11) * (1.0 / 9007199254740992.0)  # the top 53 bits, times 2^-53


cdef struct Fill:
    int dist
    int dtype
    uint64_t key
    double a
    double b
    double below_high  # the largest value of the dtype under b (uniform only)
    char* out


cdef inline void _store(const Fill* f, Py_ssize_t i, double value) noexcept nogil:
    """Element i = value rounded to the dtype; a uniform that rounded up to b steps down."""
    if f.dist == UNIFORM and f.dtype != INT32 and f.dtype != INT64 and value > f.below_high:
        value = f.below_high  # representable, so rounding to the dtype cannot go above it
    if f.dtype == FLOAT32:
        (<float*>f.out)[i] = <float>value
    elif f.dtype == FLOAT64:
        (<double*>f.out)[i] = value
    elif f.dtype == FLOAT16:
        (<uint16_t*>f.out)[i] = float_to_half(<float>value)
    elif f.dtype == INT32:
        (<int32_t*>f.out)[i] = <int32_t>(floor(value) if f.dist == UNIFORM else value)
    elif f.dtype == INT64:
        (<int64_t*>f.out)[i] = <int64_t>(floor(value) if f.dist == UNIFORM else value)
    else:
        (<uint8_t*>f.out)[i] = value != 0


cdef void _fill_chunk(const Fill* f, Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    cdef Py_ssize_t i
    cdef double radius, angle
    if f.dist == UNIFORM:
        for i in range(start, stop):
            _store(f, i, f.a + (f.b - f.a) * _unit(f.key, i))
    elif f.dist == BERNOULLI:
        for i in range(start, stop):
            _store(f, i, 1.0 if _unit(f.key, i) < f.a else 0.0)
    else:
        # Box-Muller: numbers 2q and 2q+1 give two independent standard normals
        i = start
        while i < stop:
            radius = sqrt(-2.0 * log(1.0 - _unit(f.key, i)))  # 1 - u is in (0, 1]
            angle = TWO_PI * _unit(f.key, i + 1)
            _store(f, i, f.a + f.b * radius * cos(angle))
            if i + 1 < stop:
                _store(f, i + 1, f.a + f.b * radius * sin(angle))
            i += 2


cdef double _below(double high, int dtype) noexcept:
    """The largest value of `dtype` strictly below `high`."""
    cdef float single
    cdef uint16_t half
    if dtype == FLOAT32:
        single = <float>high
        return nextafterf(single, -INFINITY) if single >= high else single
    if dtype == FLOAT16:
        half = float_to_half(<float>high)
        if half_to_float(half) >= high:  # one step down in binary16
            if half == 0 or half == 0x8000:
                half = 0x8001
            elif half & 0x8000:
                half += 1
            else:
                half -= 1
        return half_to_float(half)
    return nextafter(high, -INFINITY)


def random(str dist, Py_ssize_t size, dtype, object seed, double a, double b):
    cdef Fill f
    cdef Py_ssize_t chunks = (size + CHUNK - 1) // CHUNK, c
    cdef int threads = thread_count(size * 8)  # each element costs several operations
    code = _DISTRIBUTIONS.get(dist)
    if code is None:
        raise BackendError(f"cpu backend: unknown distribution {dist!r}")
    f.dist = code
    f.dtype = dtype_code(dtype)
    f.key = _mix(<uint64_t>(seed & 0xFFFFFFFFFFFFFFFF))
    f.a = a
    f.b = b
    f.below_high = _below(b, f.dtype) if b > a else b
    cdef Buffer buffer = new_buffer(size, itemsize_of(f.dtype))
    f.out = buffer.data
    with nogil:
        for c in prange(chunks, num_threads=threads, schedule="static"):
            _fill_chunk(&f, c * CHUNK, c * CHUNK + CHUNK if c * CHUNK + CHUNK < size else size)
    return buffer
