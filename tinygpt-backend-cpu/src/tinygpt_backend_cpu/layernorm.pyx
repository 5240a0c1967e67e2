# cython: language_level=3
"""Fused layer norm over the last axis, and its backward.

Forward, per row of C: the mean, the variance (a second pass over the row while it is in
cache), then y = (x - mean) * rstd * weight + bias; the composite would write four
full-size temporaries. Backward, per row: the two row means the formula needs, then dx;
dweight and dbias are summed over rows into per-thread partials and merged once.

    xhat = (x - mean) * rstd,  g = dy * weight
    dx = rstd * (g - mean(g) - xhat * mean(g * xhat))
    dweight = sum over rows of dy * xhat,  dbias = sum over rows of dy

float32 rows go to lnorm_f32.h in runs (all the rows along the innermost row dim at once):
C compiled for AVX2 and AVX-512 too, so that short rows (C = 128) cost a few vector steps
each and no per-row call. float64 stays here, accumulating in float64 throughout. The
normalized axis is made dense first (a copy only for the rare view where it is not).

float16 is widened to float32 and y rounded back once; mean and rstd stay float32 (the
protocol's statistics dtype). Empty inputs: no rows gives empty statistics and zero
dweight, dbias; C = 0 gives nan statistics (0 / 0) and empty gradients.
"""

from cython.parallel cimport prange
from libc.math cimport NAN, sqrt
from libc.stdlib cimport calloc, free
from libc.string cimport memset

from .dtypes cimport FLOAT16, FLOAT32, real
from .memory cimport compact, convert, widened
from .rowops cimport row_centered_squares, row_dot, row_sum
from .strided cimport (
    MAX_DIMS, MAX_OPERANDS, Loop, View, is_dense, loop_advance, loop_seek, loop_simplify,
    loop_size, new_dense, read_view, thread_count,
)


cdef extern from "lnorm_f32.h" nogil:
    enum:
        FOLD_ROWS "TG_COL_ROWS"  # rows whose dweight, dbias stay float32 before a fold
    ctypedef struct tg_ln_run:
        Py_ssize_t rows, n
        float* out
        Py_ssize_t out_stride
        const float* x
        Py_ssize_t x_stride
        const float* dy
        Py_ssize_t dy_stride
        const float* weight
        const float* bias
        float* mean
        float* rstd
        double eps
    void ln_forward_f32 "tg_ln_forward"(const tg_ln_run* p)
    void ln_backward_f32 "tg_ln_backward"(const tg_ln_run* p, float* dw, float* db)


cdef struct Norm:
    Loop rows  # over the leading dims: operands (out, x) or (dx, x, dy)
    Py_ssize_t c  # the normalized axis: its length (dense in every operand)
    char* weight  # dense (C,), NULL without one
    char* bias  # dense (C,), NULL without one
    char* mean  # (rows,) dense
    char* rstd
    double eps


cdef inline void _run_at(const Norm* p, const Py_ssize_t* offset, Py_ssize_t column,
                         Py_ssize_t rows, Py_ssize_t first, tg_ln_run* run) noexcept nogil:
    """The float32 run of `rows` rows from row number `first`, `column` steps along the
    innermost row dim past `offset`."""
    cdef int inner = p.rows.ndim - 1
    run.rows = rows
    run.n = p.c
    run.out = <float*>p.rows.data[0] + offset[0] + column * p.rows.strides[0][inner]
    run.out_stride = p.rows.strides[0][inner]
    run.x = <const float*>p.rows.data[1] + offset[1] + column * p.rows.strides[1][inner]
    run.x_stride = p.rows.strides[1][inner]
    if p.rows.nops == 3:
        run.dy = <const float*>p.rows.data[2] + offset[2] + column * p.rows.strides[2][inner]
        run.dy_stride = p.rows.strides[2][inner]
    run.weight = <const float*>p.weight
    run.bias = <const float*>p.bias
    run.mean = <float*>p.mean + first
    run.rstd = <float*>p.rstd + first
    run.eps = p.eps


# ------------------------------------------------------------------------ forward
cdef void _forward_row(const Norm* p, const real* x, real* out, Py_ssize_t r) noexcept nogil:
    """One float64 row (the float32 ones go to lnorm_f32.h)."""
    cdef Py_ssize_t j, c = p.c
    cdef const real* w = <const real*>p.weight
    cdef const real* b = <const real*>p.bias
    cdef real m = <real>(row_sum(x, 1, c) / c)
    cdef real s = <real>(1.0 / sqrt(row_centered_squares(x, c, m) / c + p.eps))
    (<real*>p.mean)[r] = m
    (<real*>p.rstd)[r] = s
    if w != NULL and b != NULL:  # each variant one vectorized loop
        for j in range(c):
            out[j] = (x[j] - m) * s * w[j] + b[j]
    elif w != NULL:
        for j in range(c):
            out[j] = (x[j] - m) * s * w[j]
    elif b != NULL:
        for j in range(c):
            out[j] = (x[j] - m) * s + b[j]
    else:
        for j in range(c):
            out[j] = (x[j] - m) * s


cdef void _forward_rows(const Norm* p, Py_ssize_t start, Py_ssize_t stop, real* y) noexcept nogil:
    """Rows [start, stop), a run along the innermost row dim at a time."""
    cdef Py_ssize_t index[MAX_DIMS]
    cdef Py_ssize_t offset[MAX_OPERANDS]
    cdef int inner = p.rows.ndim - 1
    cdef Py_ssize_t length = p.rows.shape[inner], column = start % length, r = start, n, k
    cdef const real* x
    cdef tg_ln_run run
    loop_seek(&p.rows, inner, start // length, index, offset)
    while r < stop:
        n = length - column if length - column < stop - r else stop - r
        if real is float:
            _run_at(p, offset, column, n, r, &run)
            ln_forward_f32(&run)
        else:
            for k in range(column, column + n):
                x = <const real*>p.rows.data[1] + offset[1] + k * p.rows.strides[1][inner]
                _forward_row(p, x, y + offset[0] + k * p.rows.strides[0][inner], r + k - column)
        r += n
        column = 0
        if r < stop:
            loop_advance(&p.rows, inner, index, offset)


cdef void _forward(Norm* p, real* y) noexcept nogil:
    cdef Py_ssize_t count = loop_size(&p.rows, p.rows.ndim)
    cdef int threads = thread_count(count * p.c * 4), t
    if threads == 1:
        _forward_rows(p, 0, count, y)
        return
    for t in prange(threads, num_threads=threads, schedule="static", chunksize=1):
        _forward_rows(p, count * t // threads, count * (t + 1) // threads, y)


# ----------------------------------------------------------------------- backward
cdef void _backward_row(const Norm* p, const real* x, const real* dy, real* out, Py_ssize_t r,
                        real* scratch, double* dw, double* db) noexcept nogil:
    """One float64 row; scratch holds 2C."""
    cdef Py_ssize_t j, c = p.c
    cdef const real* w = <const real*>p.weight
    cdef real* xhat = scratch
    cdef real* g = scratch + c
    cdef const real* grad = dy  # d loss / d xhat
    cdef real m = (<const real*>p.mean)[r]
    cdef real s = (<const real*>p.rstd)[r]
    cdef real c1, c2
    for j in range(c):
        xhat[j] = (x[j] - m) * s
    if w != NULL:
        for j in range(c):
            g[j] = dy[j] * w[j]
        grad = g
    c1 = <real>(row_sum(grad, 1, c) / c)
    c2 = <real>(row_dot(grad, xhat, c) / c)
    for j in range(c):
        out[j] = s * (grad[j] - c1 - xhat[j] * c2)
    for j in range(c):
        dw[j] += dy[j] * xhat[j]
        db[j] += dy[j]


cdef inline void _fold(float* part, double* total, Py_ssize_t n) noexcept nogil:
    """total += part, then part = 0 (n each)."""
    cdef Py_ssize_t j
    for j in range(n):
        total[j] += part[j]
        part[j] = 0


cdef void _backward_rows(const Norm* p, Py_ssize_t start, Py_ssize_t stop, real* dx,
                         double* dw, double* db) noexcept nogil:
    """Rows [start, stop); dw and db (C each) are this thread's partial sums. float32 rows
    add into float32 partials, folded into dw and db every FOLD_ROWS rows."""
    cdef Py_ssize_t index[MAX_DIMS]
    cdef Py_ssize_t offset[MAX_OPERANDS]
    cdef int inner = p.rows.ndim - 1
    cdef Py_ssize_t length = p.rows.shape[inner], column = start % length, r = start, n, k
    cdef Py_ssize_t c = p.c, pending = 0
    cdef const real* x
    cdef const real* dy
    cdef tg_ln_run run
    cdef real* scratch = <real*>calloc(2 * c + 1, sizeof(real))  # partials or a float64 row
    loop_seek(&p.rows, inner, start // length, index, offset)
    while r < stop:
        n = length - column if length - column < stop - r else stop - r
        if real is float:
            n = n if n < FOLD_ROWS - pending else FOLD_ROWS - pending
            _run_at(p, offset, column, n, r, &run)
            ln_backward_f32(&run, scratch, scratch + c)
            pending += n
            if pending == FOLD_ROWS:
                _fold(scratch, dw, c)
                _fold(scratch + c, db, c)
                pending = 0
        else:
            for k in range(column, column + n):
                x = <const real*>p.rows.data[1] + offset[1] + k * p.rows.strides[1][inner]
                dy = <const real*>p.rows.data[2] + offset[2] + k * p.rows.strides[2][inner]
                _backward_row(p, x, dy, dx + offset[0] + k * p.rows.strides[0][inner],
                              r + k - column, scratch, dw, db)
        r += n
        column += n
        if column == length and r < stop:
            column = 0
            loop_advance(&p.rows, inner, index, offset)
    if real is float:
        _fold(scratch, dw, c)
        _fold(scratch + c, db, c)
    free(scratch)


cdef void _backward(Norm* p, real* dx, real* dw, real* db) noexcept nogil:
    cdef Py_ssize_t count = loop_size(&p.rows, p.rows.ndim), j
    cdef int threads = thread_count(count * p.c * 4), t
    # per-thread partial sums of dweight and dbias: no two threads add to the same memory
    cdef double* parts = <double*>calloc(2 * threads * p.c + 1, sizeof(double))
    if threads == 1:
        _backward_rows(p, 0, count, dx, parts, parts + p.c)
    else:
        for t in prange(threads, num_threads=threads, schedule="static", chunksize=1):
            _backward_rows(p, count * t // threads, count * (t + 1) // threads, dx,
                           parts + 2 * t * p.c, parts + (2 * t + 1) * p.c)
    cdef double sum_w, sum_b
    for j in range(p.c):
        sum_w = 0
        sum_b = 0
        for t in range(threads):
            sum_w += parts[2 * t * p.c + j]
            sum_b += parts[(2 * t + 1) * p.c + j]
        dw[j] = <real>sum_w
        db[j] = <real>sum_b
    free(parts)


cdef object _dense_param(param, View* out):
    """A weight or bias as a dense view in the compute dtype (it is small: copy freely)."""
    cdef View view, wide
    read_view(param, &view)
    keep = widened(&view, &wide)
    if is_dense(&wide):
        out[0] = wide
        return keep
    return compact(&wide, out)


cdef object _dense_last(View* x):
    """x itself when its last axis is dense, else (rarely) x replaced by a dense copy."""
    cdef View dense
    cdef int last = x.ndim - 1
    if x.shape[last] < 2 or x.strides[last] == 1:
        return None
    keep = compact(x, &dense)
    x[0] = dense
    return keep


cdef void _setup(Norm* p, const View* out, const View* x, const View* dy) noexcept:
    """rows = every dim but the last, over (out, x[, dy])."""
    cdef int d, last = x.ndim - 1
    p.rows.ndim = last
    p.rows.nops = 3 if dy != NULL else 2
    p.rows.data[0] = out.data
    p.rows.data[1] = x.data
    for d in range(last):
        p.rows.shape[d] = x.shape[d]
        p.rows.strides[0][d] = out.strides[d]
        p.rows.strides[1][d] = x.strides[d]
        if dy != NULL:
            p.rows.strides[2][d] = dy.strides[d]
    if dy != NULL:
        p.rows.data[2] = dy.data
    p.c = x.shape[last]
    p.weight = NULL
    p.bias = NULL
    loop_simplify(&p.rows)


def layer_norm(x, weight, bias, double eps):
    cdef View vx, vw, vb, wx, ww, wb, y, mean, rstd, rows_view, out_y
    cdef Norm p
    cdef int d
    read_view(x, &vx)
    keep = [widened(&vx, &wx)]
    keep.append(_dense_last(&wx))
    y_buffer = new_dense(&wx, wx.dtype, &y)
    rows_view = wx  # x.shape[:-1]
    rows_view.ndim -= 1
    rows_view.size = 1
    for d in range(rows_view.ndim):
        rows_view.size *= rows_view.shape[d]
    mean_buffer = new_dense(&rows_view, wx.dtype, &mean)
    rstd_buffer = new_dense(&rows_view, wx.dtype, &rstd)
    _setup(&p, &y, &wx, NULL)
    p.mean = mean.data
    p.rstd = rstd.data
    p.eps = eps
    if weight is not None:
        keep.append(_dense_param(weight, &ww))
        p.weight = ww.data
    if bias is not None:
        keep.append(_dense_param(bias, &wb))
        p.bias = wb.data
    if wx.size > 0:
        with nogil:
            if wx.dtype == FLOAT32:
                _forward(&p, <float*>y.data)
            else:
                _forward(&p, <double*>y.data)
    elif p.c == 0:
        _fill_nan(&mean)  # rows of nothing: mean and rstd are 0 / 0
        _fill_nan(&rstd)
    if vx.dtype != FLOAT16:
        return y_buffer, mean_buffer, rstd_buffer
    return convert(&y, FLOAT16, &out_y), mean_buffer, rstd_buffer  # statistics: float32


cdef void _fill_nan(View* v) noexcept:
    """Every element of the dense float32 or float64 view `v` set to nan."""
    cdef Py_ssize_t i
    for i in range(v.size):
        if v.dtype == FLOAT32:
            (<float*>v.data)[i] = NAN
        else:
            (<double*>v.data)[i] = NAN


def layer_norm_backward(dy, x, weight, mean, rstd):
    cdef View vdy, vx, vw, vm, vr, wdy, wx, ww, wm, wr, dm, dr, dx, dw, db, channels, o1, o2, o3
    cdef Norm p
    read_view(dy, &vdy)
    read_view(x, &vx)
    read_view(mean, &vm)
    read_view(rstd, &vr)
    keep = [widened(&vdy, &wdy), widened(&vx, &wx), widened(&vm, &wm), widened(&vr, &wr)]
    keep.append(_dense_last(&wdy))
    keep.append(_dense_last(&wx))
    if not is_dense(&wm):  # indexed by row number below
        keep.append(compact(&wm, &dm))
        wm = dm
    if not is_dense(&wr):
        keep.append(compact(&wr, &dr))
        wr = dr
    dx_buffer = new_dense(&wx, wx.dtype, &dx)
    channels.ndim = 1
    channels.shape[0] = wx.shape[wx.ndim - 1]
    channels.size = channels.shape[0]
    dw_buffer = new_dense(&channels, wx.dtype, &dw)
    db_buffer = new_dense(&channels, wx.dtype, &db)
    _setup(&p, &dx, &wx, &wdy)
    p.mean = wm.data
    p.rstd = wr.data
    if weight is not None:
        keep.append(_dense_param(weight, &ww))
        p.weight = ww.data
    if wx.size == 0:  # no rows (dweight, dbias are sums of nothing: 0) or C = 0 (all empty)
        memset(dw.data, 0, dw.size * dw.itemsize)
        memset(db.data, 0, db.size * db.itemsize)
    else:
        with nogil:
            if wx.dtype == FLOAT32:
                _backward(&p, <float*>dx.data, <float*>dw.data, <float*>db.data)
            else:
                _backward(&p, <double*>dx.data, <double*>dw.data, <double*>db.data)
    if vx.dtype == FLOAT16:
        dx_buffer = convert(&dx, FLOAT16, &o1)
        dw_buffer = convert(&dw, FLOAT16, &o2)
        db_buffer = convert(&db, FLOAT16, &o3)
    return dx_buffer, (dw_buffer if weight is not None else None), db_buffer
