# Element types: one integer code per tinygpt dtype, the C type of each, and float16.
#
# float16 is a storage format here: C has no portable half type, so a float16 element is a
# uint16_t holding the IEEE binary16 bits. Kernels widen float16 to float32, compute, and
# round once at the end (see `half_to_float` / `float_to_half`).
#
# bfloat16, int8 and uint8 are storage-only: only the memory kernels (copy, fill, cast,
# gather, where) and random fills see them; backend.py widens them to float32 / int32 for
# every other kernel and casts the result back (`storage.py`).

from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t

cdef enum DType:
    BOOL = 0      # uint8_t holding 0 or 1
    INT32 = 1     # int32_t
    INT64 = 2     # int64_t
    FLOAT16 = 3   # uint16_t holding binary16 bits
    FLOAT32 = 4   # float
    FLOAT64 = 5   # double
    INT8 = 6      # int8_t
    UINT8 = 7     # uint8_t
    BFLOAT16 = 8  # uint16_t holding the top half of a float32's bits

# Every element type a kernel computes in (float16 is widened to float first).
ctypedef fused scalar:
    uint8_t
    int32_t
    int64_t
    float
    double

# The numeric ones (bool has only logical ops).
ctypedef fused number:
    int32_t
    int64_t
    float
    double

ctypedef fused real:
    float
    double

# Elements seen as raw words of their size: copies, gathers and `where` only move bits.
ctypedef fused word:
    uint8_t
    uint16_t
    uint32_t
    uint64_t


# One element of any dtype, e.g. a Python scalar converted for `full`, `fill` or a scalar op.
cdef union Element:
    uint8_t b
    int8_t i8
    int32_t i32
    int64_t i64
    uint16_t f16
    float f32
    double f64
    uint64_t bits


cdef int dtype_code(object dtype) except -1
cdef object dtype_object(int code)
cdef int itemsize_of(int code) noexcept nogil
cdef int to_element(object value, int code, Element* out) except -1


# --------------------------------------------------------------------------- float16
# Bit patterns are read through a union: GCC defines union type punning, while a pointer
# cast would break strict aliasing under -O3.
cdef union FloatBits:
    float f
    uint32_t u


cdef inline float half_to_float(uint16_t h) noexcept nogil:
    """Exact: every binary16 value is a float32 value."""
    cdef FloatBits out, magic
    cdef uint32_t exponent
    magic.u = 113 << 23
    out.u = (h & 0x7fff) << 13  # exponent and mantissa into float32 position
    exponent = out.u & (0x7c00 << 13)
    out.u += (127 - 15) << 23  # rebias the exponent
    if exponent == (0x7c00 << 13):  # inf or nan: keep the exponent all ones
        out.u += (128 - 16) << 23
    elif exponent == 0:  # zero or subnormal: renormalize with one float subtraction
        out.u += 1 << 23
        out.f -= magic.f
    out.u |= (<uint32_t>(h & 0x8000)) << 16
    return out.f


cdef inline uint16_t float_to_half(float value) noexcept nogil:
    """Round to nearest even, as NumPy does; overflow gives inf, nan stays nan."""
    cdef FloatBits f, magic
    cdef uint32_t sign, odd
    cdef uint16_t out
    f.f = value
    sign = f.u & 0x80000000u
    f.u ^= sign
    if f.u >= ((127 + 16) << 23):  # |value| >= 65536: inf, or nan (quieted)
        out = 0x7e00 if f.u > (255 << 23) else 0x7c00
    elif f.u < (113 << 23):  # a subnormal half or zero
        # NOTE: adding 0.5 aligns the 10 mantissa bits at the bottom and lets the FPU
        # round to nearest even for us; then the exponent bias is subtracted away.
        magic.u = ((127 - 15) + (23 - 10) + 1) << 23
        f.f = f.f + magic.f
        out = <uint16_t>(f.u - magic.u)
    else:
        odd = (f.u >> 13) & 1
        f.u += (<uint32_t>(15 - 127) << 23) + 0xfff  # rebias, round half up ...
        f.u += odd  # ... or half to even
        out = <uint16_t>(f.u >> 13)
    return out | <uint16_t>(sign >> 16)


# -------------------------------------------------------------------------- bfloat16
cdef inline float bf16_to_float(uint16_t h) noexcept nogil:
    """Exact: a bfloat16 is a float32 with the low 16 bits zero."""
    cdef FloatBits out
    out.u = (<uint32_t>h) << 16
    return out.f


cdef inline uint16_t float_to_bf16(float value) noexcept nogil:
    """Round to nearest even, as ml_dtypes does; nan becomes the canonical quiet nan."""
    cdef FloatBits f
    f.f = value
    if (f.u & 0x7fffffffu) > 0x7f800000u:
        return <uint16_t>(((f.u >> 16) & 0x8000u) | 0x7fc0u)
    return <uint16_t>((f.u + 0x7fffu + ((f.u >> 16) & 1u)) >> 16)
