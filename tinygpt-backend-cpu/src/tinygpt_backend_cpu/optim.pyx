# cython: language_level=3
"""Fused AdamW: one pass over param, grad, exp_avg and exp_avg_sq, updating three in place.

Composed from tensor ops, one AdamW step is about ten kernels per parameter, each reading
and writing whole tensors; here each element of the four is read once (adamw.h holds the
loop). A GPT has many tiny parameters (biases and norms of 128 elements), so a step of this
kernel must cost little more than the Python call: threads start only for big tensors.

Core passes param, exp_avg and exp_avg_sq contiguous; grad may be any view (a transposed or
offset one is compacted first). float16 tensors are updated in float32 copies and rounded
back once, as are (defensively) any non-dense param or state views.
"""

from cython.parallel cimport prange
from libc.math cimport sqrt

from tinygpt.errors import BackendError

from .dtypes cimport FLOAT16, FLOAT32, FLOAT64
from .memory cimport convert, move
from .strided cimport View, is_dense, read_view, split_point, thread_count


cdef extern from "adamw.h" nogil:
    ctypedef struct Hyper "tg_adamw_hyper":
        double decay
        double beta1
        double beta2
        double step_size
        double bias2_sqrt
        double eps
    void adamw_f32 "tg_adamw_f32"(float* p, const float* g, float* m, float* v, Py_ssize_t n,
                                  const Hyper* h)
    void adamw_f64 "tg_adamw_f64"(double* p, const double* g, double* m, double* v,
                                  Py_ssize_t n, const Hyper* h)


cdef enum:
    # seven streams per element (four read, three written): worth two threads from ~16K
    WORK_PER_ELEMENT = 2


cdef struct Step:
    char* p
    const char* g
    char* m
    char* v
    int dtype  # FLOAT32 or FLOAT64
    Hyper hyper


cdef void _step_range(const Step* s, Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    if stop <= start:
        return
    if s.dtype == FLOAT32:
        adamw_f32(<float*>s.p + start, <const float*>s.g + start, <float*>s.m + start,
                  <float*>s.v + start, stop - start, &s.hyper)
    else:
        adamw_f64(<double*>s.p + start, <const double*>s.g + start, <double*>s.m + start,
                  <double*>s.v + start, stop - start, &s.hyper)


cdef void _step(const Step* s, Py_ssize_t n) noexcept nogil:
    cdef int threads = thread_count(n * WORK_PER_ELEMENT), t
    if threads == 1:
        _step_range(s, 0, n)
        return
    for t in prange(threads, num_threads=threads, schedule="static", chunksize=1):
        _step_range(s, split_point(n, t, threads), split_point(n, t + 1, threads))


cdef object _staged(const View* x, int dtype, View* out):
    """`out` = x when it is dense in `dtype` (work in place), else a dense copy converted to
    `dtype`; returns the copy (None when there is none)."""
    if x.dtype == dtype and is_dense(x):
        out[0] = x[0]
        return None
    return convert(x, dtype, out)


cdef void _write_back(object staged, const View* work, const View* dst):
    """Copy an updated staged tensor back into the caller's view (float16: rounded once)."""
    cdef View narrow
    if staged is None:
        return
    if dst.dtype != work.dtype:
        keep = convert(work, dst.dtype, &narrow)
        move(dst, &narrow)
    else:
        move(dst, work)


def adamw(param, grad, exp_avg, exp_avg_sq, double lr, double beta1, double beta2,
          double eps, double weight_decay, long step):
    cdef View vp, vg, vm, vv, wp, wg, wm, wv
    cdef Step s
    cdef int work
    read_view(param, &vp)
    read_view(grad, &vg)
    read_view(exp_avg, &vm)
    read_view(exp_avg_sq, &vv)
    if vp.dtype != FLOAT16 and vp.dtype != FLOAT32 and vp.dtype != FLOAT64:
        raise BackendError(f"cpu backend: adamw needs floating tensors (dtype code {vp.dtype})")
    if vg.size != vp.size or vm.size != vp.size or vv.size != vp.size:
        raise BackendError("cpu backend: adamw: param, grad and states need one shape")
    if step < 1:
        raise BackendError(f"cpu backend: adamw: step counts from 1, got {step}")
    work = FLOAT64 if vp.dtype == FLOAT64 else FLOAT32
    staged_p = _staged(&vp, work, &wp)
    staged_g = _staged(&vg, work, &wg)
    staged_m = _staged(&vm, work, &wm)
    staged_v = _staged(&vv, work, &wv)
    s.p = wp.data
    s.g = wg.data
    s.m = wm.data
    s.v = wv.data
    s.dtype = work
    s.hyper.decay = 1.0 - lr * weight_decay
    s.hyper.beta1 = beta1
    s.hyper.beta2 = beta2
    s.hyper.step_size = lr / (1.0 - beta1 ** step)
    s.hyper.bias2_sqrt = sqrt(1.0 - beta2 ** step)
    s.hyper.eps = eps
    with nogil:
        _step(&s, vp.size)
    _write_back(staged_p, &wp, &vp)
    _write_back(staged_m, &wm, &vm)
    _write_back(staged_v, &wv, &vv)
