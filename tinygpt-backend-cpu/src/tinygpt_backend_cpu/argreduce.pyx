# cython: language_level=3
"""argmax / argmin along one axis: the first index of the largest (smallest) element of each
run, read in place whatever the strides; a nan wins, as in NumPy. float16 is widened to
float32 first (exactly, so the same element wins). Threads split the outputs.
"""

from cython.parallel cimport prange

from tinygpt.errors import BackendError, ShapeError

from .dtypes cimport FLOAT16, FLOAT32, FLOAT64, INT32, INT64, int32_t, int64_t, scalar, uint8_t
from .memory cimport convert
from .reduce cimport reduced_output, split_dims
from .strided cimport (
    MAX_DIMS, MAX_OPERANDS, Loop, View, loop_advance, loop_seek, loop_size, read_view,
    thread_count,
)

cdef enum:
    ARGMAX, ARGMIN

_OPS = {"argmax": ARGMAX, "argmin": ARGMIN}


cdef void _arg_rows(int op, const Loop* kept, Py_ssize_t n, Py_ssize_t stride,
                    const scalar* x, int64_t* out, Py_ssize_t start,
                    Py_ssize_t stop) noexcept nogil:
    """out[o] = the first index of the max (min) of output o's run of n elements; nan wins."""
    cdef Py_ssize_t index[MAX_DIMS]
    cdef Py_ssize_t offset[MAX_OPERANDS]
    cdef Py_ssize_t o, i, best_at
    cdef const scalar* run
    cdef scalar best, v
    loop_seek(kept, kept.ndim, start, index, offset)
    for o in range(start, stop):
        run = x + offset[1]
        best = run[0]
        best_at = 0
        for i in range(1, n):
            v = run[i * stride]
            if op == ARGMAX and v > best:
                best = v
                best_at = i
            elif op == ARGMIN and v < best:
                best = v
                best_at = i
            elif (scalar is float or scalar is double) and v != v and best == best:
                best = v  # the first nan wins, as in NumPy
                best_at = i
        out[offset[0]] = best_at
        loop_advance(kept, kept.ndim, index, offset)


cdef void _arg_reduce(int op, Loop* kept, Py_ssize_t n, Py_ssize_t stride, const scalar* x,
                      int64_t* out) noexcept nogil:
    cdef Py_ssize_t outputs = loop_size(kept, kept.ndim)
    cdef int threads = thread_count(outputs * n), t
    if threads == 1:
        _arg_rows(op, kept, n, stride, x, out, 0, outputs)
        return
    for t in prange(threads, num_threads=threads, schedule="static", chunksize=1):
        _arg_rows(op, kept, n, stride, x, out, outputs * t // threads, outputs * (t + 1) // threads)


cdef Py_ssize_t _outputs(const View* x, int axis) noexcept:
    """The number of runs: the product of every dim but `axis` (a plain product of sizes
    read_view already checked, so it cannot overflow)."""
    cdef Py_ssize_t n = 1
    cdef int d
    for d in range(x.ndim):
        if d != axis:
            n *= x.shape[d]
    return n


def arg_reduce(str op, x, int axis):
    cdef View view, wide, out
    cdef Loop kept, red
    cdef int code = _OPS.get(op, -1)
    cdef Py_ssize_t n, stride
    if code < 0:
        raise BackendError(f"cpu backend: unknown arg reduction {op!r}")
    read_view(x, &view)
    if not 0 <= axis < view.ndim:
        raise ShapeError(f"{op}: axis {axis} is out of range for {view.ndim} dims")
    if view.shape[axis] == 0 and view.size == 0 and _outputs(&view, axis) > 0:
        # (every run would start by reading its element 0, which does not exist)
        raise ShapeError(f"{op}: dim {axis} is empty: there is no element to pick")
    if view.dtype == FLOAT16:
        staged = convert(&view, FLOAT32, &wide)  # exact, so the same element wins
        view = wide
    buffer = reduced_output(&view, (axis,), INT64, &out)
    if out.size == 0:
        return buffer
    split_dims(&view, &out, (axis,), &kept, &red)
    n = view.shape[axis]
    stride = view.strides[axis]
    with nogil:
        if view.dtype == FLOAT32:
            _arg_reduce(code, &kept, n, stride, <const float*>view.data, <int64_t*>out.data)
        elif view.dtype == FLOAT64:
            _arg_reduce(code, &kept, n, stride, <const double*>view.data, <int64_t*>out.data)
        elif view.dtype == INT64:
            _arg_reduce(code, &kept, n, stride, <const int64_t*>view.data, <int64_t*>out.data)
        elif view.dtype == INT32:
            _arg_reduce(code, &kept, n, stride, <const int32_t*>view.data, <int64_t*>out.data)
        else:
            _arg_reduce(code, &kept, n, stride, <const uint8_t*>view.data, <int64_t*>out.data)
    return buffer
