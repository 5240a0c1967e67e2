# Strided views and the one loop nest every kernel iterates them with.
#
# A `View` is core's NDArray read into C: the address of its first element, shape and
# strides in elements (0 or negative allowed). A `Loop` walks several views of one shape in
# lockstep; `loop_simplify` merges dims that are contiguous for every operand, so a dense
# (B, T, C) array is walked as one flat run and a bias broadcast as rows of C.

from .buffer cimport Buffer

cdef enum:
    MAX_DIMS = 32
    MAX_OPERANDS = 4
    # below this many elements a parallel region costs more than it saves (~2 us to wake
    # the team); chosen so that an op of this size takes about 10 us on one core
    PARALLEL_MIN = 32768
    # results of this many bytes or more are written with streaming stores, in tiles
    STREAM_MIN = 16 << 20
    STREAM_TILE = 16384


cdef struct View:
    char* data  # the element at the view's offset: buffer + offset * itemsize
    int dtype  # a code from dtypes.pxd
    int itemsize
    int ndim
    Py_ssize_t size
    Py_ssize_t shape[MAX_DIMS]
    Py_ssize_t strides[MAX_DIMS]  # in elements


cdef struct Loop:
    int ndim
    int nops
    Py_ssize_t shape[MAX_DIMS]
    char* data[MAX_OPERANDS]
    int itemsize[MAX_OPERANDS]
    Py_ssize_t strides[MAX_OPERANDS][MAX_DIMS]  # [operand][dim], in elements


# The body of an elementwise kernel: `n` elements along the innermost dim, where operand i
# starts at ptrs[i] and steps strides[i] elements. Like a NumPy ufunc inner loop.
ctypedef void (*InnerLoop)(char** ptrs, const Py_ssize_t* strides, Py_ssize_t n,
                           void* ctx) noexcept nogil


cdef int read_view(object x, View* view) except -1
cdef int check_rank(str what, Py_ssize_t ndim) except -1
cdef Py_ssize_t checked_size(str what, const View* shape) except -1
cdef tuple shape_of(const View* view)
cdef int check_same_shape(str op, const View* a, const View* b) except -1
cdef int check_index(str what, const View* index) except -1
cdef Buffer new_dense(const View* like, int dtype, View* out)
cdef void dense_view(Buffer buffer, const View* like, int dtype, View* out) noexcept
cdef bint is_dense(const View* view) noexcept nogil
cdef bint views_overlap(const View* a, const View* b) noexcept nogil
cdef void loop_init(Loop* loop, const View** views, int nops) noexcept nogil
cdef void loop_simplify(Loop* loop) noexcept nogil
cdef void for_each(Loop* loop, InnerLoop body, void* ctx) noexcept nogil
cdef void for_each_view(const View** views, int nops, InnerLoop body, void* ctx) noexcept nogil
cdef int thread_count(Py_ssize_t work) noexcept nogil


cdef inline Py_ssize_t split_point(Py_ssize_t total, int part, int parts) noexcept nogil:
    """Where part `part` of `parts` of a dense run of `total` elements begins, on a
    16-element (64-byte) boundary, so that two threads never write one cache line."""
    if part == parts:
        return total
    return (total * part // parts) & ~(<Py_ssize_t>15)


cdef inline Py_ssize_t loop_size(const Loop* loop, int ndim) noexcept nogil:
    """The number of positions in the first `ndim` dims."""
    cdef Py_ssize_t n = 1
    cdef int d
    for d in range(ndim):
        n *= loop.shape[d]
    return n


cdef inline void loop_seek(const Loop* loop, int ndim, Py_ssize_t flat,
                           Py_ssize_t* index, Py_ssize_t* offsets) noexcept nogil:
    """Position number `flat` (row-major over the first `ndim` dims): its index per dim
    and each operand's offset in elements."""
    cdef int d, op
    for op in range(loop.nops):
        offsets[op] = 0
    for d in range(ndim - 1, -1, -1):
        index[d] = flat % loop.shape[d]
        flat = flat // loop.shape[d]
        for op in range(loop.nops):
            offsets[op] += index[d] * loop.strides[op][d]


cdef inline void loop_advance(const Loop* loop, int ndim,
                              Py_ssize_t* index, Py_ssize_t* offsets) noexcept nogil:
    """Step to the next position over the first `ndim` dims (an odometer)."""
    cdef int d, op
    for d in range(ndim - 1, -1, -1):
        index[d] += 1
        for op in range(loop.nops):
            offsets[op] += loop.strides[op][d]
        if index[d] < loop.shape[d]:
            return
        index[d] = 0
        for op in range(loop.nops):
            offsets[op] -= loop.strides[op][d] * loop.shape[d]
