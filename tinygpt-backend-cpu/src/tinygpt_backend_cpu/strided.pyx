# cython: language_level=3
"""Read core's views into C structs, and walk several same-shaped views in lockstep.

`for_each` is the one loop nest behind every elementwise kernel (copy, setitem, fill, cast,
unary, binary, where): it merges dims that are contiguous for every operand, splits the
elements evenly over OpenMP threads, and calls an inner-loop function once per run along
the innermost dim.
"""

from cpython.pyport cimport PY_SSIZE_T_MAX
from cython.parallel cimport prange
cimport openmp

from tinygpt.errors import BackendError, DeviceError, DTypeError, OutOfMemoryError, ShapeError

from .buffer cimport Buffer, new_buffer
from .dtypes cimport INT64, dtype_code, dtype_object, itemsize_of


cdef int read_view(object x, View* view) except -1:
    """Fill `view` from an NDArray (buffer, shape, strides, offset, dtype).

    Kernels trust a View blindly, so it is checked here, once per operand: at most MAX_DIMS
    dims (the fixed arrays above), sizes >= 0 whose product C can count, and every element
    inside the buffer. A view that fails is core's bug or a caller's, reported as an error
    rather than a read or a write out of bounds.
    """
    cdef object buffer = x.buffer
    cdef tuple shape = x.shape
    cdef tuple strides = x.strides
    cdef Py_ssize_t offset = x.offset
    cdef int ndim = len(shape)
    cdef int d
    if not isinstance(buffer, Buffer):
        # core checks devices before it calls a kernel; this catches what slips through
        raise DeviceError(
            f"cpu backend: an operand lives on device '{x.device}', not on 'cpu'; "
            "move it first with .to('cpu')"
        )
    check_rank("cpu backend: a view has", ndim)
    if len(strides) != ndim:
        raise ShapeError(f"cpu backend: shape {shape} but strides {strides}: one per dim")
    view.dtype = dtype_code(x.dtype)
    view.itemsize = itemsize_of(view.dtype)
    view.ndim = ndim
    for d in range(ndim):
        view.shape[d] = shape[d]
        view.strides[d] = strides[d]
    view.size = checked_size("a view", view)
    if view.size > 0:
        _check_extent(view, offset, <Buffer>buffer, shape, strides)
    # NOTE: an empty view may point past the end of its buffer; it is never dereferenced.
    view.data = (<Buffer>buffer).data + offset * view.itemsize
    return 0


cdef int check_rank(str what, Py_ssize_t ndim) except -1:
    """Raise unless `ndim` dims fit this backend's fixed-size View and Loop structs (before
    anything is written into them): "gather: the result would have 40 dims; ..."."""
    if ndim > MAX_DIMS:
        raise BackendError(
            f"{what} {ndim} dims; the cpu backend supports at most {MAX_DIMS} (merge dims "
            "with reshape first, or use the numpy backend)"
        )
    return 0


cdef Py_ssize_t checked_size(str what, const View* shape) except -1:
    """The number of elements of `shape` (its shape and ndim only), after checking that no
    dim is negative and that the product of its nonzero dims, in bytes of `shape.itemsize`,
    fits a Py_ssize_t: then no partial product a kernel forms can overflow either."""
    cdef Py_ssize_t size = 1, limit = PY_SSIZE_T_MAX // (shape.itemsize or 1)
    cdef bint empty = False
    cdef object nbytes = shape.itemsize  # (a Python int: exact)
    cdef int d
    for d in range(shape.ndim):
        if shape.shape[d] < 0:
            raise ShapeError(f"cpu backend: {what} of shape {shape_of(shape)}: a negative dim")
    for d in range(shape.ndim):
        if shape.shape[d] == 0:
            empty = True
        elif size <= limit // shape.shape[d]:
            size *= shape.shape[d]
        else:
            dims = shape_of(shape)
            for dim in dims:
                nbytes = nbytes * (dim or 1)
            raise OutOfMemoryError(
                f"cpu backend: {what} of shape {dims}: its nonzero dims span {nbytes} bytes; "
                "that is more than this machine can address"
            )
    return 0 if empty else size


cdef tuple shape_of(const View* view):
    """The view's shape as a Python tuple (for messages)."""
    return tuple([view.shape[d] for d in range(view.ndim)])


cdef int check_index(str what, const View* index) except -1:
    """Raise unless `index` is int64: the kernels read indices and targets as int64_t."""
    if index.dtype != INT64:
        raise DTypeError(
            f"{what} must be int64, got {dtype_object(index.dtype)}; convert them first with "
            ".long()"
        )
    return 0


cdef int check_same_shape(str op, const View* a, const View* b) except -1:
    """Raise unless `a` and `b` have one shape (kernels walk both with a's loop nest)."""
    cdef int d
    cdef bint same = a.ndim == b.ndim
    for d in range(a.ndim if same else 0):
        if a.shape[d] != b.shape[d]:
            same = False
    if not same:
        raise ShapeError(
            f"{op}: shapes {shape_of(a)} and {shape_of(b)} differ; the kernel needs one shape "
            "(core broadcasts before it calls one)"
        )
    return 0


cdef int _check_extent(const View* view, Py_ssize_t offset, Buffer buffer, tuple shape,
                       tuple strides) except -1:
    """Raise unless every element of a non-empty view lies inside its buffer."""
    cdef Py_ssize_t low = offset, high = offset, step, span
    cdef Py_ssize_t elements = buffer.nbytes // view.itemsize
    cdef int d
    cdef bint inside = 0 <= offset < elements
    for d in range(view.ndim):
        if not inside:
            break
        step = view.strides[d] if view.strides[d] >= 0 else -view.strides[d]
        if step != 0 and view.shape[d] - 1 > elements // step:
            inside = False  # a span longer than the buffer (the product could overflow)
            break
        span = step * (view.shape[d] - 1)
        if view.strides[d] < 0:
            low -= span
        else:
            high += span
        if low < 0 or high >= elements:
            inside = False
            break
    if inside and high < elements:
        return 0
    raise BackendError(
        f"cpu backend: a {dtype_object(view.dtype)} view (shape {shape}, strides {strides}, "
        f"offset {offset}) reaches outside its buffer of {elements} elements"
    )


cdef void dense_view(Buffer buffer, const View* like, int dtype, View* out) noexcept:
    """`out` = a row-major view over `buffer` with the shape of `like`."""
    cdef int d
    cdef Py_ssize_t step = 1
    out.data = buffer.data
    out.dtype = dtype
    out.itemsize = itemsize_of(dtype)
    out.ndim = like.ndim
    out.size = like.size
    for d in range(like.ndim - 1, -1, -1):
        out.shape[d] = like.shape[d]
        out.strides[d] = step
        step *= like.shape[d]


cdef Buffer new_dense(const View* like, int dtype, View* out):
    """A new buffer for a result of `like`'s shape in `dtype`, and its dense view."""
    cdef Buffer buffer = new_buffer(like.size, itemsize_of(dtype))
    dense_view(buffer, like, dtype, out)
    return buffer


cdef bint is_dense(const View* view) noexcept nogil:
    """Row-major and gap-free (size-1 dims may have any stride)."""
    cdef Py_ssize_t expected = 1
    cdef int d
    for d in range(view.ndim - 1, -1, -1):
        if view.shape[d] != 1 and view.strides[d] != expected:
            return False
        expected *= view.shape[d]
    return True


cdef void _extent(const View* v, char** low, char** high) noexcept nogil:
    """The bytes [low, high) the elements of `v` occupy."""
    cdef Py_ssize_t lo = 0, hi = 0
    cdef int d
    for d in range(v.ndim):
        if v.strides[d] < 0:
            lo += (v.shape[d] - 1) * v.strides[d]
        else:
            hi += (v.shape[d] - 1) * v.strides[d]
    low[0] = v.data + lo * v.itemsize
    high[0] = v.data + (hi + 1) * v.itemsize


cdef bint views_overlap(const View* a, const View* b) noexcept nogil:
    """Whether the two views may share memory (a conservative, extent-based test)."""
    cdef char* a_lo
    cdef char* a_hi
    cdef char* b_lo
    cdef char* b_hi
    if a.size == 0 or b.size == 0:
        return False
    _extent(a, &a_lo, &a_hi)
    _extent(b, &b_lo, &b_hi)
    return a_lo < b_hi and b_lo < a_hi


# ------------------------------------------------------------------------------ loops
cdef void loop_init(Loop* loop, const View** views, int nops) noexcept nogil:
    """A loop over views[0].shape; every view must have that shape."""
    cdef int d, op
    loop.ndim = views[0].ndim
    loop.nops = nops
    for d in range(loop.ndim):
        loop.shape[d] = views[0].shape[d]
    for op in range(nops):
        loop.data[op] = views[op].data
        loop.itemsize[op] = views[op].itemsize
        for d in range(loop.ndim):
            loop.strides[op][d] = views[op].strides[d]


cdef void loop_simplify(Loop* loop) noexcept nogil:
    """Drop size-1 dims and merge neighbours that every operand steps through evenly.

    Afterwards ndim >= 1; an empty loop has shape (0,), a 0-d one shape (1,).
    """
    cdef int d, op, kept = 0, last
    cdef bint chained
    for d in range(loop.ndim):
        if loop.shape[d] == 0:
            kept = 0
            loop.shape[0] = 0
            break
        if loop.shape[d] == 1:
            continue  # its stride never moves anything
        loop.shape[kept] = loop.shape[d]
        for op in range(loop.nops):
            loop.strides[op][kept] = loop.strides[op][d]
        kept += 1
    if kept == 0:
        if loop.ndim == 0 or loop.shape[0] != 0:
            loop.shape[0] = 1
        for op in range(loop.nops):
            loop.strides[op][0] = 0
        loop.ndim = 1
        return
    last = 0
    for d in range(1, kept):
        # dims last (outer) and d (inner) act as one dim if, for every operand, one step of
        # the outer dim equals a whole run of the inner one
        chained = True
        for op in range(loop.nops):
            if loop.strides[op][last] != loop.strides[op][d] * loop.shape[d]:
                chained = False
                break
        if chained:
            loop.shape[last] *= loop.shape[d]
            for op in range(loop.nops):
                loop.strides[op][last] = loop.strides[op][d]
        else:
            last += 1
            loop.shape[last] = loop.shape[d]
            for op in range(loop.nops):
                loop.strides[op][last] = loop.strides[op][d]
    loop.ndim = last + 1


# ----------------------------------------------------------- streaming stores
cdef extern from "vecmath.h" nogil:
    # non-temporal stores, as wide as the CPU has (see vecmath.h)
    void stream_copy "tg_stream_copy"(char* dst, const char* src, size_t n)
    void stream_fence "tg_stream_fence"()


cdef void _streamed(const Loop* loop, InnerLoop body, char** ptrs, const Py_ssize_t* strides,
                    Py_ssize_t n, void* ctx) noexcept nogil:
    """body over a run of n elements whose output (operand 0) is contiguous: computed tile
    by tile into a stack buffer that stays in L1, then streamed out."""
    cdef char tile[STREAM_TILE]
    cdef char* run[MAX_OPERANDS]
    cdef int itemsize = loop.itemsize[0], op
    cdef Py_ssize_t per_tile = STREAM_TILE // itemsize, done = 0, k
    while done < n:
        k = n - done if n - done < per_tile else per_tile
        run[0] = tile
        for op in range(1, loop.nops):
            run[op] = ptrs[op] + done * strides[op] * loop.itemsize[op]
        body(run, strides, k, ctx)
        stream_copy(ptrs[0] + done * itemsize, tile, k * itemsize)
        done += k


cdef int thread_count(Py_ssize_t work) noexcept nogil:
    """How many threads a kernel over `work` elements should use (1 inside a parallel
    region: kernels called from a parallel kernel must not start a team of their own)."""
    if work < PARALLEL_MIN or openmp.omp_in_parallel():
        return 1
    return openmp.omp_get_max_threads()


cdef void _run_range(const Loop* loop, Py_ssize_t start, Py_ssize_t stop,
                     InnerLoop body, void* ctx, bint stream) noexcept nogil:
    """Elements [start, stop) in row-major order: a partial row, whole rows, a partial row."""
    cdef Py_ssize_t index[MAX_DIMS]
    cdef Py_ssize_t offsets[MAX_OPERANDS]
    cdef Py_ssize_t inner_strides[MAX_OPERANDS]
    cdef char* ptrs[MAX_OPERANDS]
    cdef int outer = loop.ndim - 1, op
    cdef Py_ssize_t inner = loop.shape[outer]
    cdef Py_ssize_t column = start % inner
    cdef Py_ssize_t remaining = stop - start, n
    loop_seek(loop, outer, start // inner, index, offsets)
    for op in range(loop.nops):
        inner_strides[op] = loop.strides[op][outer]
    while remaining > 0:
        n = inner - column
        if n > remaining:
            n = remaining
        for op in range(loop.nops):
            ptrs[op] = (loop.data[op]
                        + (offsets[op] + column * inner_strides[op]) * loop.itemsize[op])
        if stream:
            _streamed(loop, body, ptrs, inner_strides, n, ctx)
        else:
            body(ptrs, inner_strides, n, ctx)
        remaining -= n
        column = 0
        if remaining > 0:
            loop_advance(loop, outer, index, offsets)


cdef inline Py_ssize_t _split(Py_ssize_t total, int part, int parts) noexcept nogil:
    """Where part `part` of `parts` begins; boundaries on 16-element (64-byte) multiples,
    so that two threads never write the same cache line of a dense output."""
    if part == parts:
        return total
    return (total * part // parts) & ~(<Py_ssize_t>15)


cdef void for_each(Loop* loop, InnerLoop body, void* ctx) noexcept nogil:
    """Call `body` over every element of the loop, on as many threads as pays."""
    cdef Py_ssize_t total
    cdef int threads, t
    cdef bint stream
    loop_simplify(loop)
    total = loop_size(loop, loop.ndim)
    if total == 0:
        return
    # NOTE: a result much larger than the caches will be evicted before anyone reads it
    # back, so it goes straight to memory (streaming stores); a small one stays in cache
    # for the next kernel, which a streaming store would defeat.
    stream = (loop.strides[0][loop.ndim - 1] == 1 and total * loop.itemsize[0] >= STREAM_MIN)
    threads = thread_count(total)
    if threads == 1:
        _run_range(loop, 0, total, body, ctx, stream)
    else:
        for t in prange(threads, num_threads=threads, schedule="static", chunksize=1):
            _run_range(loop, _split(total, t, threads), _split(total, t + 1, threads), body,
                       ctx, stream)
    if stream:
        stream_fence()


cdef void for_each_view(const View** views, int nops, InnerLoop body, void* ctx) noexcept nogil:
    cdef Loop loop
    loop_init(&loop, views, nops)
    for_each(&loop, body, ctx)
