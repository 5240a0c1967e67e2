# cython: language_level=3
"""Fused softmax / log-softmax along any axis, and fused cross-entropy with its backward.

Composed from core ops, softmax costs five passes over memory (max, subtract, exp, sum,
divide), each writing a full-size temporary. Here each row is read from memory once and
written once: the max, exp and sum passes run while the row sits in cache.

Cross-entropy reads logits[i, target[i]] from raw memory, so the targets are scanned first: one
outside [0, C) that is not ignore_index raises IndexError before any kernel runs.

NOTE: every row subtracts its max before exp: softmax(x) = softmax(x - c) for any c, and with
c = max(x) no exponent is positive, so logits of 1e4 cannot overflow to inf / inf = nan.

float16 logits are widened to float32; the loss is rounded back, the saved logsumexp stays
float32 (1e4 + log 3 in float16 would lose log 3, and with it the gradient).
"""

from cython.parallel cimport prange
from libc.math cimport INFINITY, exp, log

from .dtypes cimport FLOAT16, FLOAT32, int64_t, real
from .memory cimport convert, widened
from .mathfn cimport exp_f32
from .rowops cimport (
    row_exp, row_exp_sum_f32, row_max, row_scale, row_sum, softmax_row_f32,
)
from .strided cimport (
    MAX_DIMS, MAX_OPERANDS, Loop, View, check_index, loop_advance, loop_seek, loop_simplify,
    loop_size, new_dense, read_view, thread_count,
)

cdef enum:
    CHUNK = 512  # elements of a row exponentiated into a stack buffer at a time


# -------------------------------------------------------------------------- softmax
cdef void _softmax_row(real* out, Py_ssize_t so, const real* x, Py_ssize_t sx, Py_ssize_t n,
                       bint log_softmax, const real* next_x, const real* next_out) noexcept nogil:
    cdef real m
    cdef double total
    cdef real scale, shift
    cdef Py_ssize_t i
    if real is float:
        if so == 1 and sx == 1:  # the common case: max, exp + sum, scale in one C call
            softmax_row_f32(out, x, n, log_softmax, next_x, next_out)
            return
    m = row_max(x, sx, n)
    if so == 1:  # the axis is the last one: vectorized passes over a row in cache
        row_exp(out, x, sx, m, n)
        total = row_sum(out, 1, n)
        if log_softmax:
            # subtle: (x - m) - log(total), not x - (m + log(total)): m + log(total) would
            # round away log(total) when |m| is large (1e4 in float32 has a 1e-3 ulp)
            shift = <real>log(total)
            for i in range(n):
                out[i] = (x[i * sx] - m) - shift
        else:
            row_scale(out, <real>(1.0 / total), n)
        return
    # softmax along a dim that is not the last: a strided output row, element by element
    total = 0
    for i in range(n):
        out[i * so] = exp_f32(x[i * sx] - m) if real is float else exp(x[i * sx] - m)
        total += out[i * so]
    shift = <real>log(total)
    scale = <real>(1.0 / total)
    for i in range(n):
        out[i * so] = (x[i * sx] - m) - shift if log_softmax else out[i * so] * scale


cdef void _softmax_rows(const Loop* rows, Py_ssize_t start, Py_ssize_t stop, real* out,
                        Py_ssize_t so, const real* x, Py_ssize_t sx, Py_ssize_t n,
                        bint log_softmax) noexcept nogil:
    cdef Py_ssize_t index[MAX_DIMS]
    cdef Py_ssize_t offset[MAX_OPERANDS]
    cdef Py_ssize_t r
    cdef real* row_out
    cdef const real* row_x
    loop_seek(rows, rows.ndim, start, index, offset)
    for r in range(start, stop):
        row_out = out + offset[0]
        row_x = x + offset[1]
        loop_advance(rows, rows.ndim, index, offset)
        # offset is the next row's now: the row kernel prefetches it (see vecmath.h)
        if r + 1 == stop:
            _softmax_row(row_out, so, row_x, sx, n, log_softmax, NULL, NULL)
        else:
            _softmax_row(row_out, so, row_x, sx, n, log_softmax, x + offset[1], out + offset[0])


cdef void _softmax(Loop* rows, real* out, Py_ssize_t so, const real* x, Py_ssize_t sx,
                   Py_ssize_t n, bint log_softmax) noexcept nogil:
    cdef Py_ssize_t count = loop_size(rows, rows.ndim)
    cdef int threads = thread_count(count * n * 4), t  # exp costs more than a copy
    if threads == 1:
        _softmax_rows(rows, 0, count, out, so, x, sx, n, log_softmax)
        return
    for t in prange(threads, num_threads=threads, schedule="static", chunksize=1):
        _softmax_rows(rows, count * t // threads, count * (t + 1) // threads, out, so, x, sx,
                      n, log_softmax)


def softmax(x, int axis, bint log):
    cdef View view, wide, out, wide_out
    cdef Loop rows
    cdef int d, r = 0
    read_view(x, &view)
    keep = widened(&view, &wide)
    buffer = new_dense(&wide, wide.dtype, &wide_out)
    if wide.size > 0:
        rows.nops = 2  # (out, x) over every dim but the axis
        for d in range(wide.ndim):
            if d != axis:
                rows.shape[r] = wide.shape[d]
                rows.strides[0][r] = wide_out.strides[d]
                rows.strides[1][r] = wide.strides[d]
                r += 1
        rows.ndim = r
        loop_simplify(&rows)
        with nogil:
            if wide.dtype == FLOAT32:
                _softmax(&rows, <float*>wide_out.data, wide_out.strides[axis],
                         <const float*>wide.data, wide.strides[axis], wide.shape[axis], log)
            else:
                _softmax(&rows, <double*>wide_out.data, wide_out.strides[axis],
                         <const double*>wide.data, wide.strides[axis], wide.shape[axis], log)
    if view.dtype != FLOAT16:
        return buffer
    return convert(&wide_out, FLOAT16, &out)


# -------------------------------------------------------------------- cross-entropy
cdef struct Rows:
    # (N, C) logits read in place, and the (N,) vectors beside them (any strides)
    char* logits
    Py_ssize_t row_stride
    Py_ssize_t col_stride
    Py_ssize_t n
    Py_ssize_t c
    const int64_t* targets
    Py_ssize_t target_stride
    int64_t ignore_index


cdef inline double _logsumexp(const real* x, Py_ssize_t stride, Py_ssize_t n) noexcept nogil:
    cdef real buffer[CHUNK]
    cdef real m = row_max(x, stride, n)
    cdef double total = 0
    cdef Py_ssize_t start = 0, k
    if real is float:
        if stride == 1:
            return m + log(row_exp_sum_f32(NULL, x, m, n))  # no buffer: exp and sum fused
    while start < n:
        k = n - start if n - start < CHUNK else CHUNK
        row_exp(buffer, x + start * stride, stride, m, k)
        total += row_sum(buffer, 1, k)
        start += CHUNK
    return m + log(total)


cdef void _cross_entropy(const Rows* rows, real* loss, real* lse) noexcept nogil:
    cdef Py_ssize_t i
    cdef const real* x
    cdef int64_t target
    cdef int threads = thread_count(rows.n * rows.c * 4)
    for i in prange(rows.n, num_threads=threads, schedule="static"):
        x = <const real*>rows.logits + i * rows.row_stride
        lse[i] = <real>_logsumexp(x, rows.col_stride, rows.c)
        target = rows.targets[i * rows.target_stride]
        loss[i] = 0 if target == rows.ignore_index else lse[i] - x[target * rows.col_stride]


cdef void _cross_entropy_backward(const Rows* rows, const real* dloss, Py_ssize_t sd,
                                  const real* lse, Py_ssize_t sl, real* out) noexcept nogil:
    """out[i] = dloss[i] * (softmax(x[i]) - onehot(target[i])); 0 on ignored rows."""
    cdef Py_ssize_t i, j
    cdef real* row
    cdef real g
    cdef int64_t target
    cdef int threads = thread_count(rows.n * rows.c * 4)
    for i in prange(rows.n, num_threads=threads, schedule="static"):
        row = out + i * rows.c
        target = rows.targets[i * rows.target_stride]
        g = 0 if target == rows.ignore_index else dloss[i * sd]
        # softmax from the saved logsumexp: exp(x - lse), one pass, nothing recomputed
        row_exp(row, <const real*>rows.logits + i * rows.row_stride, rows.col_stride,
                lse[i * sl], rows.c)
        for j in range(rows.c):
            row[j] = row[j] * g
        if target != rows.ignore_index:
            row[target] -= g


cdef void _read_rows(const View* logits, const View* targets, int64_t ignore_index,
                     Rows* rows) noexcept nogil:
    rows.logits = logits.data
    rows.n = logits.shape[0]
    rows.c = logits.shape[1]
    rows.row_stride = logits.strides[0]
    rows.col_stride = logits.strides[1]
    rows.targets = <const int64_t*>targets.data
    rows.target_stride = targets.strides[0]
    rows.ignore_index = ignore_index


cdef Py_ssize_t _first_bad_target(const Rows* rows) noexcept nogil:
    """The first row whose target is neither in [0, C) nor ignore_index, or -1 if none."""
    cdef int64_t last = rows.c - 1, signs = 0, target, other
    cdef Py_ssize_t i
    # NOTE: branch-free sign bits, as in indexing.pyx, so that the loop vectorizes: the sign
    # of (t | (last - t)) says t is out of range, that of (d | -d) with d = t ^ ignore_index
    # says t is not ignore_index (d != 0). Only a failure looks for the row.
    for i in range(rows.n):
        target = rows.targets[i * rows.target_stride]
        other = target ^ rows.ignore_index
        signs |= (target | (last - target)) & (other | -other)
    if signs >= 0:
        return -1
    for i in range(rows.n):
        target = rows.targets[i * rows.target_stride]
        if (target < 0 or target > last) and target != rows.ignore_index:
            return i
    return -1


cdef int _check_targets(str op, const Rows* rows) except -1:
    """Raise IndexError naming the first target the kernels would read out of bounds with."""
    cdef Py_ssize_t row
    with nogil:
        row = _first_bad_target(rows)
    if row < 0:
        return 0
    raise IndexError(
        f"{op}: target {rows.targets[row * rows.target_stride]} (row {row}) is out of range "
        f"for {rows.c} classes; targets must be in [0, {rows.c}) or equal "
        f"ignore_index={rows.ignore_index}"
    )


def cross_entropy(logits, targets, int64_t ignore_index):
    cdef View vl, vt, wide, loss_view, lse_view, out_loss
    cdef Rows rows
    read_view(logits, &vl)
    read_view(targets, &vt)
    check_index("cross_entropy: targets", &vt)  # read as int64_t below
    _read_rows(&vl, &vt, ignore_index, &rows)
    _check_targets("cross_entropy", &rows)  # before any work: the kernel trusts every target
    keep = widened(&vl, &wide)
    loss = new_dense(&vt, wide.dtype, &loss_view)  # (N,)
    lse = new_dense(&vt, wide.dtype, &lse_view)
    _read_rows(&wide, &vt, ignore_index, &rows)
    with nogil:
        if rows.n > 0 and rows.c > 0:
            if wide.dtype == FLOAT32:
                _cross_entropy(&rows, <float*>loss_view.data, <float*>lse_view.data)
            else:
                _cross_entropy(&rows, <double*>loss_view.data, <double*>lse_view.data)
        elif wide.dtype == FLOAT32:  # no classes: every row is ignored (checked above)
            _no_classes(<float*>loss_view.data, <float*>lse_view.data, rows.n)
        else:
            _no_classes(<double*>loss_view.data, <double*>lse_view.data, rows.n)
    if vl.dtype != FLOAT16:
        return loss, lse
    return convert(&loss_view, FLOAT16, &out_loss), lse  # the logsumexp stays float32


cdef void _no_classes(real* loss, real* lse, Py_ssize_t n) noexcept nogil:
    """C = 0: the logsumexp of nothing is -inf; an ignored row's loss is 0."""
    cdef Py_ssize_t i
    for i in range(n):
        loss[i] = 0
        lse[i] = -INFINITY


def cross_entropy_backward(dloss, logits, targets, lse, int64_t ignore_index):
    cdef View vd, vl, vt, vs, wide_d, wide_l, wide_s, grad, out
    cdef Rows rows
    read_view(dloss, &vd)
    read_view(logits, &vl)
    read_view(targets, &vt)
    check_index("cross_entropy: targets", &vt)  # read as int64_t below
    read_view(lse, &vs)
    _read_rows(&vl, &vt, ignore_index, &rows)
    _check_targets("cross_entropy_backward", &rows)
    keep = (widened(&vd, &wide_d), widened(&vl, &wide_l), widened(&vs, &wide_s))
    buffer = new_dense(&wide_l, wide_l.dtype, &grad)
    _read_rows(&wide_l, &vt, ignore_index, &rows)
    with nogil:
        if rows.n > 0 and rows.c > 0:
            if wide_l.dtype == FLOAT32:
                _cross_entropy_backward(&rows, <const float*>wide_d.data, wide_d.strides[0],
                                        <const float*>wide_s.data, wide_s.strides[0],
                                        <float*>grad.data)
            else:
                _cross_entropy_backward(&rows, <const double*>wide_d.data, wide_d.strides[0],
                                        <const double*>wide_s.data, wide_s.strides[0],
                                        <double*>grad.data)
    if vl.dtype != FLOAT16:
        return buffer
    return convert(&grad, FLOAT16, &out)
