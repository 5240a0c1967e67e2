# cython: language_level=3
"""argsort along one axis: the stable sorting permutation of each run, read in place
whatever the strides; and `topk`, its first k positions without sorting the rest. Equal elements keep their order in both directions and nan sorts as
the largest value, as in PyTorch (and NumPy's stable sort). float16 is widened to float32
first (exactly, so the order is the same). Threads split the runs.

Each run is copied into dense scratch as (value, position) pairs, insertion-sorted in
blocks of 16 and then merged bottom-up (stable: a tie takes the left half's element first).

`topk` keeps the k best pairs seen so far in a binary heap whose root is the worst of them
(the one that sorts last): an element that sorts before the root replaces it. Order and ties
are `_before`'s, a strict total order on (value, position), so the k positions are exactly
argsort's first k, in the same order: O(n log k) instead of O(n log n), for top-k sampling
over a 50,257-token vocabulary.
"""

from cython.parallel cimport prange
from libc.stdlib cimport free, malloc

from tinygpt.errors import ShapeError

from .dtypes cimport FLOAT16, FLOAT32, FLOAT64, INT32, INT64, int32_t, int64_t, scalar, uint8_t
from .memory cimport convert
from .strided cimport (
    MAX_DIMS, MAX_OPERANDS, Loop, View, loop_advance, loop_seek, loop_simplify, loop_size,
    new_dense, read_view, thread_count,
)


cdef inline int _compare(scalar x, scalar y) noexcept nogil:
    """-1, 0 or 1 as x sorts before, with or after y; nan is the largest value."""
    if scalar is float or scalar is double:
        if x != x or y != y:
            return (x != x) - (y != y)
    return (x > y) - (x < y)


cdef inline bint _before(scalar va, int64_t ia, scalar vb, int64_t ib,
                         bint descending) noexcept nogil:
    """Whether (va at position ia) sorts strictly before (vb at ib); ties: the smaller position."""
    cdef int c = _compare(va, vb)
    if descending:
        c = -c
    return c < 0 or (c == 0 and ia < ib)


cdef enum:
    # runs this short are insertion-sorted before the merging starts (fewer passes)
    SMALL_RUN = 16


cdef void _insertion_sort(scalar* v, int64_t* p, Py_ssize_t lo, Py_ssize_t hi,
                          bint descending) noexcept nogil:
    cdef Py_ssize_t i, j
    cdef scalar value
    cdef int64_t position
    for i in range(lo + 1, hi):
        value = v[i]
        position = p[i]
        j = i - 1
        while j >= lo and _before(value, position, v[j], p[j], descending):
            v[j + 1] = v[j]
            p[j + 1] = p[j]
            j -= 1
        v[j + 1] = value
        p[j + 1] = position


cdef int _merge_sort(scalar* v, int64_t* p, scalar* v2, int64_t* p2, Py_ssize_t n,
                     bint descending) noexcept nogil:
    """Sort the (value, position) pairs (v, p) of n elements, with (v2, p2) as scratch.

    The pairs move together, so the merges read memory in order. Returns 0 when the result
    ended in (v, p), 1 when it ended in (v2, p2)."""
    cdef Py_ssize_t width = SMALL_RUN, lo, mid, hi, i, j, k
    cdef scalar* sv = v
    cdef int64_t* sp = p
    cdef scalar* dv = v2
    cdef int64_t* dp = p2
    cdef scalar* tv
    cdef int64_t* tp
    cdef int where = 0
    lo = 0
    while lo < n:
        _insertion_sort(v, p, lo, min(lo + SMALL_RUN, n), descending)
        lo += SMALL_RUN
    while width < n:
        lo = 0
        while lo < n:
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            i = lo
            j = mid
            k = lo
            while i < mid and j < hi:
                # subtle: the right element goes first only if strictly before: stable
                if _before(sv[j], sp[j], sv[i], sp[i], descending):
                    dv[k] = sv[j]
                    dp[k] = sp[j]
                    j += 1
                else:
                    dv[k] = sv[i]
                    dp[k] = sp[i]
                    i += 1
                k += 1
            while i < mid:
                dv[k] = sv[i]
                dp[k] = sp[i]
                i += 1
                k += 1
            while j < hi:
                dv[k] = sv[j]
                dp[k] = sp[j]
                j += 1
                k += 1
            lo += 2 * width
        tv = sv
        sv = dv
        dv = tv
        tp = sp
        sp = dp
        dp = tp
        where = 1 - where
        width *= 2
    return where


cdef int _sort_rows(const Loop* kept, Py_ssize_t n, Py_ssize_t x_stride, Py_ssize_t out_stride,
                    const scalar* x, int64_t* out, bint descending, Py_ssize_t start,
                    Py_ssize_t stop) noexcept nogil:
    """Runs start..stop-1: gather each into scratch, sort, write the positions out.
    Returns -1 when the scratch memory cannot be allocated."""
    cdef Py_ssize_t index[MAX_DIMS]
    cdef Py_ssize_t offset[MAX_OPERANDS]
    cdef Py_ssize_t o, i
    cdef const scalar* run
    cdef int64_t* result
    cdef scalar* values = <scalar*>malloc(2 * n * sizeof(scalar))
    cdef int64_t* positions = <int64_t*>malloc(2 * n * sizeof(int64_t))
    if values == NULL or positions == NULL:
        free(values)
        free(positions)
        return -1
    loop_seek(kept, kept.ndim, start, index, offset)
    for o in range(start, stop):
        run = x + offset[1]
        for i in range(n):
            values[i] = run[i * x_stride]
            positions[i] = i
        if _merge_sort(values, positions, values + n, positions + n, n, descending):
            result = positions + n
        else:
            result = positions
        for i in range(n):
            out[offset[0] + i * out_stride] = result[i]
        loop_advance(kept, kept.ndim, index, offset)
    free(values)
    free(positions)
    return 0


cdef int _argsort(Loop* kept, Py_ssize_t n, Py_ssize_t x_stride, Py_ssize_t out_stride,
                  const scalar* x, int64_t* out, bint descending) noexcept nogil:
    cdef Py_ssize_t runs = loop_size(kept, kept.ndim)
    cdef int threads = thread_count(runs * n), t
    cdef int failed = 0
    if threads == 1:
        return _sort_rows(kept, n, x_stride, out_stride, x, out, descending, 0, runs)
    for t in prange(threads, num_threads=threads, schedule="static", chunksize=1):
        failed += _sort_rows(kept, n, x_stride, out_stride, x, out, descending,
                             runs * t // threads, runs * (t + 1) // threads) != 0
    return -1 if failed else 0


def argsort(x, int axis, bint descending):
    """The stable sorting permutation of view `x` along `axis`: int64, x's shape, dense."""
    cdef View view, wide, out
    cdef Loop kept
    cdef int d, k = 0, status = 0
    cdef Py_ssize_t n, x_stride, out_stride
    read_view(x, &view)
    if not 0 <= axis < view.ndim:
        raise ShapeError(f"argsort: axis {axis} is out of range for {view.ndim} dims")
    if view.dtype == FLOAT16:
        staged = convert(&view, FLOAT32, &wide)  # exact: the same order
        view = wide
    buffer = new_dense(&view, INT64, &out)
    if out.size == 0:
        return buffer
    # the loop over runs: every dim but `axis`, operands (out, x)
    kept.nops = 2
    for d in range(view.ndim):
        if d != axis:
            kept.shape[k] = view.shape[d]
            kept.strides[0][k] = out.strides[d]
            kept.strides[1][k] = view.strides[d]
            k += 1
    kept.ndim = k
    loop_simplify(&kept)
    n = view.shape[axis]
    x_stride = view.strides[axis]
    out_stride = out.strides[axis]
    with nogil:
        if view.dtype == FLOAT32:
            status = _argsort(&kept, n, x_stride, out_stride, <const float*>view.data,
                              <int64_t*>out.data, descending)
        elif view.dtype == FLOAT64:
            status = _argsort(&kept, n, x_stride, out_stride, <const double*>view.data,
                              <int64_t*>out.data, descending)
        elif view.dtype == INT64:
            status = _argsort(&kept, n, x_stride, out_stride, <const int64_t*>view.data,
                              <int64_t*>out.data, descending)
        elif view.dtype == INT32:
            status = _argsort(&kept, n, x_stride, out_stride, <const int32_t*>view.data,
                              <int64_t*>out.data, descending)
        else:
            status = _argsort(&kept, n, x_stride, out_stride, <const uint8_t*>view.data,
                              <int64_t*>out.data, descending)
    if status != 0:
        raise MemoryError(f"argsort: no memory for the scratch space of runs of {n} elements")
    return buffer


cdef inline void _sift_down(scalar* hv, int64_t* hp, Py_ssize_t size, Py_ssize_t at,
                            bint descending) noexcept nogil:
    """Restore the heap below `at`: every parent sorts after (is worse than) its children."""
    cdef Py_ssize_t child
    cdef scalar value = hv[at]
    cdef int64_t position = hp[at]
    while True:
        child = 2 * at + 1
        if child >= size:
            break
        if child + 1 < size and _before(hv[child], hp[child], hv[child + 1], hp[child + 1],
                                        descending):
            child += 1  # the worse child
        if not _before(value, position, hv[child], hp[child], descending):
            break
        hv[at] = hv[child]
        hp[at] = hp[child]
        at = child
    hv[at] = value
    hp[at] = position


cdef int _select_rows(const Loop* kept, Py_ssize_t n, Py_ssize_t k, Py_ssize_t x_stride,
                      Py_ssize_t out_stride, const scalar* x, int64_t* out, bint descending,
                      Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    """Runs start..stop-1: the positions of each run's k first elements, best first."""
    cdef Py_ssize_t index[MAX_DIMS]
    cdef Py_ssize_t offset[MAX_OPERANDS]
    cdef Py_ssize_t o, i, size, m
    cdef const scalar* run
    cdef scalar value
    cdef scalar* hv = <scalar*>malloc(k * sizeof(scalar))
    cdef int64_t* hp = <int64_t*>malloc(k * sizeof(int64_t))
    if hv == NULL or hp == NULL:
        free(hv)
        free(hp)
        return -1
    loop_seek(kept, kept.ndim, start, index, offset)
    for o in range(start, stop):
        run = x + offset[1]
        for i in range(k):  # the first k, heapified bottom-up
            hv[i] = run[i * x_stride]
            hp[i] = i
        i = k // 2
        while i > 0:
            i -= 1
            _sift_down(hv, hp, k, i, descending)
        for i in range(k, n):
            value = run[i * x_stride]
            if _before(value, i, hv[0], hp[0], descending):
                hv[0] = value
                hp[0] = i
                _sift_down(hv, hp, k, 0, descending)
        size = k
        while size > 0:  # the worst first, written from the back
            size -= 1
            out[offset[0] + size * out_stride] = hp[0]
            hv[0] = hv[size]
            hp[0] = hp[size]
            _sift_down(hv, hp, size, 0, descending)
        loop_advance(kept, kept.ndim, index, offset)
    free(hv)
    free(hp)
    return 0


cdef int _topk(Loop* kept, Py_ssize_t n, Py_ssize_t k, Py_ssize_t x_stride,
               Py_ssize_t out_stride, const scalar* x, int64_t* out,
               bint descending) noexcept nogil:
    cdef Py_ssize_t runs = loop_size(kept, kept.ndim)
    cdef int threads = thread_count(runs * n), t
    cdef int failed = 0
    if threads == 1 or runs == 1:
        return _select_rows(kept, n, k, x_stride, out_stride, x, out, descending, 0, runs)
    for t in prange(threads, num_threads=threads, schedule="static", chunksize=1):
        failed += _select_rows(kept, n, k, x_stride, out_stride, x, out, descending,
                               runs * t // threads, runs * (t + 1) // threads) != 0
    return -1 if failed else 0


def topk(x, int axis, Py_ssize_t k, bint descending):
    """Positions of the k first elements of view `x`'s stable order along `axis` (largest
    first when `descending`): int64, x's shape with `axis` of length k, dense."""
    cdef View view, wide, out, shaped
    cdef Loop kept
    cdef int d, j = 0, status = 0
    cdef Py_ssize_t n, x_stride, out_stride
    read_view(x, &view)
    if not 0 <= axis < view.ndim:
        raise ShapeError(f"topk: axis {axis} is out of range for {view.ndim} dims")
    n = view.shape[axis]
    if not 0 <= k <= n:
        raise ShapeError(f"topk: k={k} is out of range for a dim of size {n}")
    if view.dtype == FLOAT16:
        staged = convert(&view, FLOAT32, &wide)  # exact: the same order
        view = wide
    shaped = view  # the output's shape: x's with `axis` of length k
    shaped.shape[axis] = k
    shaped.size = view.size // n * k if n > 0 else 0
    buffer = new_dense(&shaped, INT64, &out)
    if out.size == 0:
        return buffer
    kept.nops = 2
    for d in range(view.ndim):
        if d != axis:
            kept.shape[j] = view.shape[d]
            kept.strides[0][j] = out.strides[d]
            kept.strides[1][j] = view.strides[d]
            j += 1
    kept.ndim = j
    loop_simplify(&kept)
    x_stride = view.strides[axis]
    out_stride = out.strides[axis]
    with nogil:
        if view.dtype == FLOAT32:
            status = _topk(&kept, n, k, x_stride, out_stride, <const float*>view.data,
                           <int64_t*>out.data, descending)
        elif view.dtype == FLOAT64:
            status = _topk(&kept, n, k, x_stride, out_stride, <const double*>view.data,
                           <int64_t*>out.data, descending)
        elif view.dtype == INT64:
            status = _topk(&kept, n, k, x_stride, out_stride, <const int64_t*>view.data,
                           <int64_t*>out.data, descending)
        elif view.dtype == INT32:
            status = _topk(&kept, n, k, x_stride, out_stride, <const int32_t*>view.data,
                           <int64_t*>out.data, descending)
        else:
            status = _topk(&kept, n, k, x_stride, out_stride, <const uint8_t*>view.data,
                           <int64_t*>out.data, descending)
    if status != 0:
        raise MemoryError(f"topk: no memory for a heap of {k} elements")
    return buffer
