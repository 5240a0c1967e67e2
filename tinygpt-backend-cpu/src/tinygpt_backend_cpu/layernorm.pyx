# cython: language_level=3
"""Fused layer norm over the last axis, and its backward.

Forward, per row of C: the mean, the variance (a second pass over the row while it is in
cache), then y = (x - mean) * rstd * weight + bias; the composite would write four
full-size temporaries. Backward, per row: the two row means the formula needs, then dx;
dweight and dbias are summed over rows into per-thread partials and merged once.

    xhat = (x - mean) * rstd,  g = dy * weight
    dx = rstd * (g - mean(g) - xhat * mean(g * xhat))
    dweight = sum over rows of dy * xhat,  dbias = sum over rows of dy
"""

from cython.parallel cimport prange
from libc.math cimport sqrt
from libc.stdlib cimport calloc, free, malloc

from .dtypes cimport FLOAT16, FLOAT32, real
from .memory cimport compact, convert, widened
from .rowops cimport row_centered_squares, row_dot, row_sum
from .strided cimport (
    MAX_DIMS, MAX_OPERANDS, Loop, View, is_dense, loop_advance, loop_seek, loop_simplify,
    loop_size, new_dense, read_view, thread_count,
)


cdef struct Norm:
    Loop rows  # over the leading dims: operands (out, x) or (dx, x, dy)
    Py_ssize_t c  # the normalized axis: its length ...
    Py_ssize_t sx  # ... and its stride in x
    Py_ssize_t sdy  # in dy (backward)
    char* weight  # dense (C,), NULL without one
    char* bias  # dense (C,), NULL without one
    char* mean  # (rows,) dense
    char* rstd
    double eps


cdef inline const real* _dense_row(const real* x, Py_ssize_t stride, Py_ssize_t n,
                                   real* scratch) noexcept nogil:
    """x's row itself when it is dense, else a dense copy of it in `scratch`."""
    cdef Py_ssize_t j
    if stride == 1:
        return x
    for j in range(n):
        scratch[j] = x[j * stride]
    return scratch


cdef void _forward_rows(const Norm* p, Py_ssize_t start, Py_ssize_t stop, real* y) noexcept nogil:
    cdef Py_ssize_t index[MAX_DIMS]
    cdef Py_ssize_t offset[MAX_OPERANDS]
    cdef Py_ssize_t r, j, c = p.c
    cdef const real* w = <const real*>p.weight
    cdef const real* b = <const real*>p.bias
    cdef real* scratch = <real*>malloc(c * sizeof(real))
    cdef const real* x
    cdef real* out
    cdef double mean, rstd
    cdef real m, s
    loop_seek(&p.rows, p.rows.ndim, start, index, offset)
    for r in range(start, stop):
        x = _dense_row(<const real*>p.rows.data[1] + offset[1], p.sx, c, scratch)
        out = y + offset[0]
        mean = row_sum(x, 1, c) / c
        m = <real>mean
        rstd = 1.0 / sqrt(row_centered_squares(x, c, m) / c + p.eps)
        s = <real>rstd
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
        loop_advance(&p.rows, p.rows.ndim, index, offset)
    free(scratch)


cdef void _backward_rows(const Norm* p, Py_ssize_t start, Py_ssize_t stop, real* dx,
                         double* dw, double* db) noexcept nogil:
    """Rows [start, stop); dw and db (C each) are this thread's partial sums."""
    cdef Py_ssize_t index[MAX_DIMS]
    cdef Py_ssize_t offset[MAX_OPERANDS]
    cdef Py_ssize_t r, j, c = p.c
    cdef const real* w = <const real*>p.weight
    cdef real* scratch = <real*>malloc(4 * c * sizeof(real))
    cdef real* xhat = scratch + 2 * c
    cdef real* g = scratch + 3 * c
    cdef const real* x
    cdef const real* dy
    cdef const real* grad
    cdef real* out
    cdef real m, s, c1, c2
    loop_seek(&p.rows, p.rows.ndim, start, index, offset)
    for r in range(start, stop):
        x = _dense_row(<const real*>p.rows.data[1] + offset[1], p.sx, c, scratch)
        dy = _dense_row(<const real*>p.rows.data[2] + offset[2], p.sdy, c, scratch + c)
        out = dx + offset[0]
        m = (<const real*>p.mean)[r]
        s = (<const real*>p.rstd)[r]
        for j in range(c):
            xhat[j] = (x[j] - m) * s
        grad = dy  # d loss / d xhat
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
        loop_advance(&p.rows, p.rows.ndim, index, offset)
    free(scratch)


cdef void _forward(Norm* p, real* y) noexcept nogil:
    cdef Py_ssize_t count = loop_size(&p.rows, p.rows.ndim)
    cdef int threads = thread_count(count * p.c * 4), t
    if threads == 1:
        _forward_rows(p, 0, count, y)
        return
    for t in prange(threads, num_threads=threads, schedule="static", chunksize=1):
        _forward_rows(p, count * t // threads, count * (t + 1) // threads, y)


cdef void _backward(Norm* p, real* dx, real* dw, real* db) noexcept nogil:
    cdef Py_ssize_t count = loop_size(&p.rows, p.rows.ndim), j
    cdef int threads = thread_count(count * p.c * 4), t
    # per-thread partial sums of dweight and dbias: no two threads add to the same memory
    cdef double* parts = <double*>calloc(2 * threads * p.c, sizeof(double))
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
        p.sdy = dy.strides[last]
    p.c = x.shape[last]
    p.sx = x.strides[last]
    p.weight = NULL
    p.bias = NULL
    loop_simplify(&p.rows)


def layer_norm(x, weight, bias, double eps):
    cdef View vx, vw, vb, wx, ww, wb, y, mean, rstd, rows_view, out_y, out_mean, out_rstd
    cdef Norm p
    cdef int d
    read_view(x, &vx)
    keep = [widened(&vx, &wx)]
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
    if vx.dtype != FLOAT16:
        return y_buffer, mean_buffer, rstd_buffer
    return (convert(&y, FLOAT16, &out_y), convert(&mean, FLOAT16, &out_mean),
            convert(&rstd, FLOAT16, &out_rstd))


def layer_norm_backward(dy, x, weight, mean, rstd):
    cdef View vdy, vx, vw, vm, vr, wdy, wx, ww, wm, wr, dm, dr, dx, dw, db, channels, o1, o2, o3
    cdef Norm p
    read_view(dy, &vdy)
    read_view(x, &vx)
    read_view(mean, &vm)
    read_view(rstd, &vr)
    keep = [widened(&vdy, &wdy), widened(&vx, &wx), widened(&vm, &wm), widened(&vr, &wr)]
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
