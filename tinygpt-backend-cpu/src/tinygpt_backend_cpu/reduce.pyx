# cython: language_level=3
"""Reductions: sum / max / min over any set of axes, read in place whatever the strides (no
transposing copy). argmax / argmin along one axis are in argreduce.pyx.

The dims split into kept ones (the output's) and reduced ones, each walked by its own loop
nest. Two traversals cover every layout:

- rows: when a reduced dim is the innermost in memory (a row sum), each output element
  reduces its own strided run; threads split the outputs (or, for a total, the input);
- columns: when a kept dim is the innermost (a bias gradient: sum over the batch), a block
  of outputs is accumulated together while the reduced dims are walked, so memory is read
  in order instead of one strided column at a time.

Sums accumulate in float64 (floats) or int64 (integers); float16 is widened to float32.
float32 sums add at most 512 terms (a row sum) or 32 rows (a column sum) in float32 lanes
before folding them into float64: the vector width of float32, nearly the rounding of
float64. Those two loops live in sums_f32.h, compiled for AVX2 and AVX-512 too.
"""

from libc.math cimport INFINITY
from libc.stdint cimport INT64_MAX, INT64_MIN
from cython.parallel cimport prange

from tinygpt.errors import BackendError

from .dtypes cimport (
    FLOAT16, FLOAT32, FLOAT64, INT32, INT64, Element, int32_t, int64_t, scalar, uint8_t,
)
from .memory cimport convert
from .rowops cimport row_sum
from .strided cimport (
    MAX_DIMS, MAX_OPERANDS, PARALLEL_MIN, Loop, View, loop_advance, loop_seek, loop_simplify,
    loop_size, new_dense, read_view, thread_count,
)

cdef extern from "sums_f32.h" nogil:
    enum:
        BLOCK "TG_COL_WIDTH"  # outputs accumulated together by the column traversal (256)
    # out[r * so] = the sum of the dense row x + r * sx of n, for r < rows
    void row_sums_f32 "tg_row_sums"(float* out, Py_ssize_t so, const float* x, Py_ssize_t sx,
                                    Py_ssize_t rows, Py_ssize_t n)
    # sums[j] += x[r * stride + j] for r < rows, j < n <= BLOCK
    void col_sums_f32 "tg_col_sums"(double* sums, const float* x, Py_ssize_t stride,
                                    Py_ssize_t rows, Py_ssize_t n)

cdef enum:
    SUM, MAX, MIN

# NOTE: a full reduction is split into this many parts whatever the thread count, and the
# parts are merged in order: the thread count changes with the machine's load
# (tinygpt.backend.threads), and a sum must not change its last bits with it
cdef enum:
    TOTAL_PARTS = 16

_OPS = {"sum": SUM, "max": MAX, "min": MIN}


# ------------------------------------------------------------------ accumulators
cdef inline void _acc_init(int op, Element* acc, const scalar* kind) noexcept nogil:
    if scalar is float or scalar is double:
        acc.f64 = 0.0 if op == SUM else (-INFINITY if op == MAX else INFINITY)
    else:
        acc.i64 = 0 if op == SUM else (INT64_MIN if op == MAX else INT64_MAX)


cdef inline void _acc_add(int op, Element* acc, scalar v) noexcept nogil:
    """Fold one element in; max and min let nan win (as NumPy)."""
    if scalar is float or scalar is double:
        if op == SUM:
            acc.f64 += v
        elif op == MAX:
            if v > acc.f64 or v != v:
                acc.f64 = v
        elif v < acc.f64 or v != v:
            acc.f64 = v
    else:
        if op == SUM:
            acc.i64 += v
        elif op == MAX:
            if v > acc.i64:
                acc.i64 = v
        elif v < acc.i64:
            acc.i64 = v


cdef inline void _acc_merge(int op, Element* acc, const Element* part,
                            const scalar* kind) noexcept nogil:
    if scalar is float or scalar is double:
        _acc_add(op, acc, part.f64)
    else:
        _acc_add(op, acc, part.i64)


cdef inline void _acc_store(const Element* acc, scalar* out) noexcept nogil:
    if scalar is float or scalar is double:
        out[0] = <scalar>acc.f64
    else:
        out[0] = <scalar>acc.i64


cdef inline void _acc_run(int op, Element* acc, const scalar* x, Py_ssize_t stride,
                          Py_ssize_t n) noexcept nogil:
    """Fold a strided run of n elements into acc."""
    cdef Py_ssize_t i
    if scalar is float or scalar is double:
        if op == SUM:
            acc.f64 += row_sum(x, stride, n)  # blocked partial sums: vector speed
            return
    for i in range(n):
        _acc_add(op, acc, x[i * stride])


# ------------------------------------------------------------------- traversals
cdef void _walk(int op, Element* acc, const Loop* red, const scalar* base,
                Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    """Fold positions [start, stop) of the reduced loop nest (over `base`) into acc."""
    cdef Py_ssize_t index[MAX_DIMS]
    cdef Py_ssize_t offset[MAX_OPERANDS]
    cdef int outer = red.ndim - 1
    cdef Py_ssize_t inner = red.shape[outer], stride = red.strides[0][outer]
    cdef Py_ssize_t column, remaining = stop - start, n
    if remaining <= 0:
        return
    column = start % inner
    loop_seek(red, outer, start // inner, index, offset)
    while remaining > 0:
        n = inner - column if inner - column < remaining else remaining
        _acc_run(op, acc, base + offset[0] + column * stride, stride, n)
        remaining -= n
        column = 0
        if remaining > 0:
            loop_advance(red, outer, index, offset)


cdef void _row_sums(const Loop* kept, Py_ssize_t n, const float* x, float* out,
                    Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    """Outputs [start, stop), each the sum of a dense run of n: the float32 row sum, handed
    a whole run of outputs along the innermost kept dim at a time."""
    cdef Py_ssize_t index[MAX_DIMS]
    cdef Py_ssize_t offset[MAX_OPERANDS]
    cdef int inner = kept.ndim - 1
    cdef Py_ssize_t length = kept.shape[inner], column = start % length, o = start, rows
    cdef Py_ssize_t so = kept.strides[0][inner], sx = kept.strides[1][inner]
    loop_seek(kept, inner, start // length, index, offset)
    while o < stop:
        rows = length - column if length - column < stop - o else stop - o
        row_sums_f32(out + offset[0] + column * so, so, x + offset[1] + column * sx, sx, rows, n)
        o += rows
        column = 0
        if o < stop:
            loop_advance(kept, inner, index, offset)


cdef void _rows(int op, const Loop* kept, const Loop* red, const scalar* x, scalar* out,
                Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    """Outputs [start, stop), each the reduction of its own run over `red`."""
    cdef Py_ssize_t index[MAX_DIMS]
    cdef Py_ssize_t offset[MAX_OPERANDS]
    cdef Py_ssize_t o, red_size = loop_size(red, red.ndim)
    cdef Element acc
    if scalar is float:
        if op == SUM and red.ndim == 1 and red.strides[0][0] == 1:
            _row_sums(kept, red_size, x, out, start, stop)
            return
    loop_seek(kept, kept.ndim, start, index, offset)
    for o in range(start, stop):
        _acc_init(op, &acc, x)
        _walk(op, &acc, red, x + offset[1], 0, red_size)
        _acc_store(&acc, out + offset[0])
        loop_advance(kept, kept.ndim, index, offset)


cdef void _dense_column_sums(const Loop* red, const scalar* x, double* sums,
                             Py_ssize_t count) noexcept nogil:
    """sums[j] += x[j] at every reduced position, j < count: the kept dim is dense, so
    each position adds a dense run of count (float32: in blocks of rows, in float32)."""
    cdef Py_ssize_t red_index[MAX_DIMS]
    cdef Py_ssize_t red_offset[MAX_OPERANDS]
    cdef int inner = red.ndim - 1
    cdef Py_ssize_t length = red.shape[inner], stride = red.strides[0][inner]
    cdef Py_ssize_t runs = loop_size(red, inner), k, r, j
    cdef const scalar* row
    loop_seek(red, inner, 0, red_index, red_offset)
    for k in range(runs):
        if scalar is float:
            col_sums_f32(sums, x + red_offset[0], stride, length, count)
        elif scalar is double:
            for r in range(length):
                row = x + red_offset[0] + r * stride
                for j in range(count):  # one vectorized loop
                    sums[j] += row[j]
        loop_advance(red, inner, red_index, red_offset)


cdef void _strided_columns(int op, const Loop* red, const scalar* x, Py_ssize_t stride,
                           Py_ssize_t count, Element* acc, double* sums) noexcept nogil:
    """Fold output j < count, x[j * stride] at every reduced position, into acc[j] (sums
    into sums[j])."""
    cdef Py_ssize_t red_index[MAX_DIMS]
    cdef Py_ssize_t red_offset[MAX_OPERANDS]
    cdef Py_ssize_t red_size = loop_size(red, red.ndim), r, j
    cdef const scalar* row
    loop_seek(red, red.ndim, 0, red_index, red_offset)
    for r in range(red_size):
        row = x + red_offset[0]
        if (scalar is float or scalar is double) and op == SUM:
            for j in range(count):
                sums[j] += row[j * stride]
        else:
            for j in range(count):
                _acc_add(op, &acc[j], row[j * stride])
        loop_advance(red, red.ndim, red_index, red_offset)


cdef void _columns(int op, const Loop* kept, const Loop* red, const scalar* x, scalar* out,
                   Py_ssize_t item) noexcept nogil:
    """Work item `item`: BLOCK neighbouring outputs along the innermost kept dim, folded in
    one sweep over every reduced position."""
    cdef Py_ssize_t kept_index[MAX_DIMS]
    cdef Py_ssize_t kept_offset[MAX_OPERANDS]
    cdef Element acc[BLOCK]
    cdef double sums[BLOCK]
    cdef int last = kept.ndim - 1
    cdef Py_ssize_t width = kept.shape[last], stride = kept.strides[1][last]
    cdef Py_ssize_t blocks = (width + BLOCK - 1) // BLOCK
    cdef Py_ssize_t first = (item % blocks) * BLOCK, count, j
    cdef const scalar* column
    count = width - first if width - first < BLOCK else BLOCK
    loop_seek(kept, last, item // blocks, kept_index, kept_offset)
    column = x + kept_offset[1] + first * stride
    for j in range(count):
        _acc_init(op, &acc[j], x)
        sums[j] = 0
    if (scalar is float or scalar is double) and op == SUM and stride == 1:
        _dense_column_sums(red, column, sums, count)  # the bias gradient
    else:
        _strided_columns(op, red, column, stride, count, acc, sums)
    if (scalar is float or scalar is double) and op == SUM:
        for j in range(count):
            acc[j].f64 = sums[j]
    for j in range(count):
        _acc_store(&acc[j], out + kept_offset[0] + first + j)


cdef void _total(int op, const Loop* red, const scalar* x, scalar* out, int threads) noexcept nogil:
    """One output over everything: TOTAL_PARTS partials, on `threads` threads, merged in order."""
    cdef Py_ssize_t size = loop_size(red, red.ndim)
    cdef Element parts[TOTAL_PARTS]
    cdef Element acc
    cdef int t
    for t in prange(TOTAL_PARTS, num_threads=threads, schedule="static"):
        _acc_init(op, &parts[t], x)
        _walk(op, &parts[t], red, x, size * t // TOTAL_PARTS, size * (t + 1) // TOTAL_PARTS)
    _acc_init(op, &acc, x)
    for t in range(TOTAL_PARTS):
        _acc_merge(op, &acc, &parts[t], x)
    _acc_store(&acc, out)


cdef void _reduce(int op, Loop* kept, Loop* red, const scalar* x, scalar* out) noexcept nogil:
    cdef Py_ssize_t outputs = loop_size(kept, kept.ndim), red_size = loop_size(red, red.ndim)
    cdef Py_ssize_t items, blocks, i
    cdef int threads = thread_count(outputs * red_size)
    cdef int last = kept.ndim - 1
    cdef Py_ssize_t kept_stride = kept.strides[1][last]
    cdef Py_ssize_t red_stride = red.strides[0][red.ndim - 1]
    cdef Element empty
    if red_size == 0:  # a sum over nothing is 0 (core never asks max/min of nothing)
        _acc_init(op, &empty, x)
        for i in range(outputs):
            _acc_store(&empty, out + i)
    elif outputs == 1 and red_size >= PARALLEL_MIN:  # even on 1 thread: the same parts
        _total(op, red, x, out, threads)
    elif kept.shape[last] > 1 and kept_stride * kept_stride < red_stride * red_stride:
        blocks = (kept.shape[last] + BLOCK - 1) // BLOCK
        items = outputs // kept.shape[last] * blocks
        for i in prange(items, num_threads=threads, schedule="static"):
            _columns(op, kept, red, x, out, i)
    elif threads > 1:
        for i in prange(threads, num_threads=threads, schedule="static", chunksize=1):
            _rows(op, kept, red, x, out, outputs * i // threads, outputs * (i + 1) // threads)
    else:
        _rows(op, kept, red, x, out, 0, outputs)


# ------------------------------------------------------------------------ kernels
cdef void split_dims(const View* x, const View* out, tuple axes, Loop* kept, Loop* red):
    """kept: the output's dims, operands (out, x); red: the reduced dims, operand (x,)."""
    cdef int d, k = 0, r = 0
    kept.nops = 2
    red.nops = 1
    for d in range(x.ndim):
        if d in axes:
            red.shape[r] = x.shape[d]
            red.strides[0][r] = x.strides[d]
            r += 1
        else:
            kept.shape[k] = x.shape[d]
            kept.strides[0][k] = out.strides[k]
            kept.strides[1][k] = x.strides[d]
            k += 1
    kept.ndim = k
    red.ndim = r
    loop_simplify(kept)
    loop_simplify(red)


cdef object reduced_output(const View* x, tuple axes, int dtype, View* out):
    """A new dense buffer shaped like x without `axes`."""
    cdef View shape
    cdef int d
    shape.ndim = 0
    shape.size = 1
    for d in range(x.ndim):
        if d not in axes:
            shape.shape[shape.ndim] = x.shape[d]
            shape.size *= x.shape[d]
            shape.ndim += 1
    return new_dense(&shape, dtype, out)


cdef object _reduce_view(int op, const View* x, tuple axes, View* out):
    cdef Loop kept, red
    buffer = reduced_output(x, axes, x.dtype, out)
    if out.size == 0:
        return buffer
    split_dims(x, out, axes, &kept, &red)
    with nogil:
        if x.dtype == FLOAT32:
            _reduce(op, &kept, &red, <const float*>x.data, <float*>out.data)
        elif x.dtype == FLOAT64:
            _reduce(op, &kept, &red, <const double*>x.data, <double*>out.data)
        elif x.dtype == INT64:
            _reduce(op, &kept, &red, <const int64_t*>x.data, <int64_t*>out.data)
        elif x.dtype == INT32:
            _reduce(op, &kept, &red, <const int32_t*>x.data, <int32_t*>out.data)
        else:
            _reduce(op, &kept, &red, <const uint8_t*>x.data, <uint8_t*>out.data)
    return buffer


cdef int _op_code(str op) except -1:
    code = _OPS.get(op)
    if code is None:
        raise BackendError(f"cpu backend: unknown reduction {op!r}")
    return code


def reduce(str op, x, tuple axes):
    cdef View view, wide, out, wide_out
    cdef int code = _op_code(op)
    read_view(x, &view)
    if view.dtype != FLOAT16:
        return _reduce_view(code, &view, axes, &out)
    # float16: widen, reduce in float32 (sums accumulate in float64), round once
    staged = convert(&view, FLOAT32, &wide)
    result = _reduce_view(code, &wide, axes, &wide_out)
    return convert(&wide_out, FLOAT16, &out)
