# cython: language_level=3
"""Fused GELU: forward and backward, each one pass over memory.

Composed from core ops, the tanh GELU is about eight elementwise passes forward (a cube, a
scale, an add, tanh, ...) and more backward, each writing a full-size temporary. Here each
element is read once and written once; the float32 maths (gelu.h) is branch-free, so the
loops run on AVX2 or AVX-512 vectors where the CPU has them.

Views of any strides are first compacted (a broadcast or a transpose costs one copy), and
float16 is widened to float32, computed, and rounded once at the end.
"""

from cython.parallel cimport prange

from tinygpt.errors import BackendError

from .dtypes cimport FLOAT16, FLOAT32, FLOAT64
from .memory cimport compact, convert
from .strided cimport View, is_dense, new_dense, read_view, split_point, thread_count


cdef extern from "gelu.h" nogil:
    void gelu_erf_f32 "tg_gelu_erf_f32"(float* y, const float* x, Py_ssize_t n)
    void gelu_tanh_f32 "tg_gelu_tanh_f32"(float* y, const float* x, Py_ssize_t n)
    void gelu_erf_backward_f32 "tg_gelu_erf_backward_f32"(
        float* dx, const float* dy, const float* x, Py_ssize_t n)
    void gelu_tanh_backward_f32 "tg_gelu_tanh_backward_f32"(
        float* dx, const float* dy, const float* x, Py_ssize_t n)
    void gelu_erf_f64 "tg_gelu_erf_f64"(double* y, const double* x, Py_ssize_t n)
    void gelu_tanh_f64 "tg_gelu_tanh_f64"(double* y, const double* x, Py_ssize_t n)
    void gelu_erf_backward_f64 "tg_gelu_erf_backward_f64"(
        double* dx, const double* dy, const double* x, Py_ssize_t n)
    void gelu_tanh_backward_f64 "tg_gelu_tanh_backward_f64"(
        double* dx, const double* dy, const double* x, Py_ssize_t n)


cdef enum:
    # GELU costs a few times a copy per element: threads pay off from ~8K elements
    WORK_PER_ELEMENT = 4


cdef struct Run:
    # dense operands: out, then x (forward) or dy, x (backward); float32 or float64
    char* out
    const char* dy
    const char* x
    int dtype
    bint tanh
    bint backward


cdef void _run_range(const Run* run, Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    cdef Py_ssize_t n = stop - start
    cdef float* y
    cdef const float* x
    cdef const float* dy
    cdef double* y64
    cdef const double* x64
    cdef const double* dy64
    if n <= 0:
        return
    if run.dtype == FLOAT32:
        y = <float*>run.out + start
        x = <const float*>run.x + start
        dy = <const float*>run.dy + start
        if run.backward:
            if run.tanh:
                gelu_tanh_backward_f32(y, dy, x, n)
            else:
                gelu_erf_backward_f32(y, dy, x, n)
        elif run.tanh:
            gelu_tanh_f32(y, x, n)
        else:
            gelu_erf_f32(y, x, n)
    else:
        y64 = <double*>run.out + start
        x64 = <const double*>run.x + start
        dy64 = <const double*>run.dy + start
        if run.backward:
            if run.tanh:
                gelu_tanh_backward_f64(y64, dy64, x64, n)
            else:
                gelu_erf_backward_f64(y64, dy64, x64, n)
        elif run.tanh:
            gelu_tanh_f64(y64, x64, n)
        else:
            gelu_erf_f64(y64, x64, n)


cdef void _run(const Run* run, Py_ssize_t n) noexcept nogil:
    cdef int threads = thread_count(n * WORK_PER_ELEMENT), t
    if threads == 1:
        _run_range(run, 0, n)
        return
    for t in prange(threads, num_threads=threads, schedule="static", chunksize=1):
        _run_range(run, split_point(n, t, threads), split_point(n, t + 1, threads))


cdef object _dense_float(const View* x, View* out):
    """`out` = x when it is dense float32/float64 already, else a dense copy (float16
    widened to float32). Keep the result alive while `out` is in use."""
    if x.dtype == FLOAT16:
        return convert(x, FLOAT32, out)
    if x.dtype != FLOAT32 and x.dtype != FLOAT64:
        raise BackendError(f"cpu backend: gelu needs a floating dtype (code {x.dtype})")
    if is_dense(x):
        out[0] = x[0]
        return None
    return compact(x, out)


cdef bint _is_tanh(str approximate) except -1:
    if approximate == "tanh":
        return True
    if approximate == "none":
        return False
    raise BackendError(f"cpu backend: gelu: approximate must be 'none' or 'tanh', "
                       f"got {approximate!r}")


cdef object _finish(object buffer, const View* result, int dtype):
    """The result in the caller's dtype: float16 is rounded once, here."""
    cdef View narrow
    if dtype != FLOAT16:
        return buffer
    return convert(result, FLOAT16, &narrow)


def gelu(x, str approximate):
    cdef View view, dense, out
    cdef Run run
    read_view(x, &view)
    run.tanh = _is_tanh(approximate)
    keep = _dense_float(&view, &dense)
    buffer = new_dense(&dense, dense.dtype, &out)
    run.out = out.data
    run.x = dense.data
    run.dy = dense.data  # unused forward
    run.dtype = dense.dtype
    run.backward = False
    with nogil:
        _run(&run, dense.size)
    return _finish(buffer, &out, view.dtype)


def gelu_backward(dy, x, str approximate):
    cdef View vd, vx, dense_dy, dense_x, out
    cdef Run run
    read_view(dy, &vd)
    read_view(x, &vx)
    run.tanh = _is_tanh(approximate)
    if vd.dtype != vx.dtype or vd.size != vx.size:
        raise BackendError("cpu backend: gelu_backward: dy and x need one shape and dtype")
    keep = (_dense_float(&vd, &dense_dy), _dense_float(&vx, &dense_x))
    buffer = new_dense(&dense_x, dense_x.dtype, &out)
    run.out = out.data
    run.x = dense_x.data
    run.dy = dense_dy.data
    run.dtype = dense_x.dtype
    run.backward = True
    with nogil:
        _run(&run, dense_x.size)
    return _finish(buffer, &out, vx.dtype)
