# Helpers for the fused kernels, which all work row by row: the sum, max and exp of a
# strided run of one row, written so that the contiguous case vectorizes.

from libc.math cimport exp

from .dtypes cimport real
from .mathfn cimport exp_rows, row_max_f32, row_scale_f32, row_sum_f32


cdef extern from "softmax_rows.h" nogil:
    # dense float32 rows, n >= 1, AVX-512 where the CPU has it: sum(exp(x - shift)), writing
    # the exp into out unless out is NULL; and a whole (log-)softmax of a row in cache, which
    # prefetches the next row's input and output (NULL: none) while it computes
    double row_exp_sum_f32 "tg_row_exp_sum"(float* out, const float* x, float shift,
                                            Py_ssize_t n)
    void softmax_row_f32 "tg_softmax_row"(float* out, const float* x, Py_ssize_t n,
                                          bint take_log, const float* next_x,
                                          const float* next_out)


cdef enum:
    LANES = 8  # partial sums kept side by side: the compiler maps them onto vector registers
    SUM_BLOCK = 512  # elements summed in the element type before a float64 add


# NOTE: a loop like `total += x[i]` cannot vectorize: without -ffast-math the compiler must
# keep the additions in order. Eight partial sums in an array, updated by an inner loop of
# fixed length, are eight independent additions, which it does turn into vector adds.
cdef inline double row_sum(const real* x, Py_ssize_t stride, Py_ssize_t n) noexcept nogil:
    """Sum in blocks: LANES partial sums in the element type, each block's total added in
    float64. Vector speed, and the rounding error of a 64-term sum."""
    cdef double total = 0
    cdef real p[LANES]
    cdef Py_ssize_t i = 0, j, end, whole = n - n % LANES
    if real is float:
        if stride == 1:
            return row_sum_f32(x, n)  # the same blocked sum, compiled for wider vectors
    while i < whole:
        end = i + SUM_BLOCK if i + SUM_BLOCK < whole else whole
        for j in range(LANES):
            p[j] = 0
        if stride == 1:  # the same loop, spelled out dense so that it vectorizes
            while i < end:
                for j in range(LANES):
                    p[j] += x[i + j]
                i += LANES
        else:
            while i < end:
                for j in range(LANES):
                    p[j] += x[(i + j) * stride]
                i += LANES
        total += ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]))
    while i < n:
        total += x[i * stride]
        i += 1
    return total


cdef inline double row_dot(const real* a, const real* b, Py_ssize_t n) noexcept nogil:
    """sum(a * b) over two dense rows, blocked like row_sum."""
    cdef double total = 0
    cdef real p[LANES]
    cdef Py_ssize_t i = 0, j, end, whole = n - n % LANES
    while i < whole:
        end = i + SUM_BLOCK if i + SUM_BLOCK < whole else whole
        for j in range(LANES):
            p[j] = 0
        while i < end:
            for j in range(LANES):
                p[j] += a[i + j] * b[i + j]
            i += LANES
        total += ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]))
    while i < n:
        total += a[i] * b[i]
        i += 1
    return total


cdef inline real row_max(const real* x, Py_ssize_t stride, Py_ssize_t n) noexcept nogil:
    """Max of n >= 1 elements, LANES running maxima. A nan in the row may be skipped here:
    it reaches a softmax's result through exp(nan - max) anyway."""
    cdef real p[LANES]
    cdef real m
    cdef Py_ssize_t i = 0, j, whole = n - n % LANES
    if real is float:
        if stride == 1:
            return row_max_f32(x, n)
    for j in range(LANES):
        p[j] = x[0]
    if stride == 1:  # the same loop, spelled out dense so that it vectorizes
        while i < whole:
            for j in range(LANES):
                p[j] = x[i + j] if x[i + j] > p[j] else p[j]
            i += LANES
    else:
        while i < whole:
            for j in range(LANES):
                p[j] = x[(i + j) * stride] if x[(i + j) * stride] > p[j] else p[j]
            i += LANES
    m = p[0]
    for j in range(1, LANES):
        m = p[j] if p[j] > m else m
    while i < n:
        m = x[i * stride] if x[i * stride] > m else m
        i += 1
    return m


cdef inline void row_exp(real* out, const real* x, Py_ssize_t stride, real shift,
                         Py_ssize_t n) noexcept nogil:
    """out[i] = exp(x[i * stride] - shift), out dense."""
    cdef Py_ssize_t i
    if real is float:
        exp_rows(out, x, stride, shift, n)
    else:
        for i in range(n):
            out[i] = exp(x[i * stride] - shift)


cdef inline double row_centered_squares(const real* x, Py_ssize_t n, real mean) noexcept nogil:
    """sum((x - mean)^2) over a dense row: the second pass of a two-pass variance (no
    cancellation, unlike E[x^2] - E[x]^2). Blocked like row_sum."""
    cdef double total = 0
    cdef real p[LANES]
    cdef real d
    cdef Py_ssize_t i = 0, j, end, whole = n - n % LANES
    while i < whole:
        end = i + SUM_BLOCK if i + SUM_BLOCK < whole else whole
        for j in range(LANES):
            p[j] = 0
        while i < end:
            for j in range(LANES):
                p[j] += (x[i + j] - mean) * (x[i + j] - mean)
            i += LANES
        total += ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]))
    while i < n:
        d = x[i] - mean
        total += d * d
        i += 1
    return total


cdef inline void row_scale(real* x, real scale, Py_ssize_t n) noexcept nogil:
    """x[i] *= scale over a dense row."""
    cdef Py_ssize_t i
    if real is float:
        row_scale_f32(x, scale, n)
    else:
        for i in range(n):
            x[i] = x[i] * scale
