# cython: language_level=3
"""gather (pick along an axis by int64 indices) and its adjoint scatter_add.

Both see x as (pre, axis, post): pre = the dims before `axis`, post = the dims after. For
every (p, j), gather copies the post block x[p, index[j], ...] to out[p, j, ...]; an
embedding lookup is then one memcpy of a row per token.

scatter_add must let repeated indices accumulate, so two threads must never add to the same
row: its threads split the pre dims and the columns of the post block, never the indices.
On bool, adding is a logical or (as NumPy's bool add): an advanced-index write into a mask
marks the hit positions this way.

The kernels index raw memory, so every index is checked first (one scan of the int64 index,
before anything is read or written): one outside [0, size) raises IndexError. So are the
arguments core guarantees (an int64 index, an axis in range, src's shape and dtype, a result
of at most MAX_DIMS dims): a mistake is a typed error, never a write past a buffer.
"""

from cython.parallel cimport prange
from libc.string cimport memcpy

from tinygpt.errors import DTypeError, ShapeError

from .dtypes cimport (
    BOOL, FLOAT16, FLOAT32, FLOAT64, INT32, INT64, dtype_object, int32_t, int64_t, scalar,
    uint8_t,
)
from .memory cimport compact, convert, move_body
from .strided cimport (
    MAX_DIMS, MAX_OPERANDS, Loop, View, check_index, check_rank, checked_size, loop_advance,
    loop_seek, loop_simplify, loop_size, is_dense, new_dense, read_view, shape_of, thread_count,
)


cdef struct Split:
    # x seen as (pre, axis, post); out / dst as (pre, index..., post)
    Loop pre  # operands (out, x) over the pre dims
    Loop post  # operands (out, x) over the post dims
    Py_ssize_t post_size
    Py_ssize_t axis_stride  # x's stride along the axis
    Py_ssize_t count  # index.size


cdef void _split(const View* x, int axis, Py_ssize_t count, const View* out,
                 Split* s) noexcept nogil:
    """`out` is dense with shape pre + index.shape + post."""
    cdef int d, out_ndim = out.ndim, post_dims = x.ndim - axis - 1
    s.count = count
    s.axis_stride = x.strides[axis]
    s.pre.ndim = axis
    s.pre.nops = 2
    for d in range(axis):
        s.pre.shape[d] = x.shape[d]
        s.pre.strides[0][d] = out.strides[d]
        s.pre.strides[1][d] = x.strides[d]
    s.post.ndim = post_dims
    s.post.nops = 2
    for d in range(post_dims):
        s.post.shape[d] = x.shape[axis + 1 + d]
        s.post.strides[0][d] = out.strides[out_ndim - post_dims + d]
        s.post.strides[1][d] = x.strides[axis + 1 + d]
    s.post_size = loop_size(&s.post, post_dims)
    loop_simplify(&s.pre)
    loop_simplify(&s.post)


# ----------------------------------------------------------------------- bounds
cdef Py_ssize_t _first_out_of_bounds(const int64_t* index, Py_ssize_t n,
                                     Py_ssize_t size) noexcept nogil:
    """The position of the first index outside [0, size), or -1 when there is none."""
    cdef int64_t last = size - 1, signs = 0
    cdef Py_ssize_t i
    # NOTE: an index x is out of bounds iff x < 0 or last - x < 0: a sign bit either way
    # (with -fwrapv, last - x can only wrap when x < 0, whose own sign bit is set). OR-ing
    # them is branch-free 64-bit sub/or, which vectorizes even on SSE2 (it has no 64-bit
    # compare); only a failure looks for where.
    for i in range(n):
        signs |= index[i] | (last - index[i])
    if signs >= 0:
        return -1
    for i in range(n):
        if index[i] < 0 or index[i] > last:
            return i
    return -1


cdef int _check_bounds(str op, const View* index, int axis, Py_ssize_t size) except -1:
    """Raise IndexError naming the first index (dense int64) outside [0, size)."""
    cdef Py_ssize_t at
    with nogil:
        at = _first_out_of_bounds(<const int64_t*>index.data, index.size, size)
    if at < 0:
        return 0
    value = (<const int64_t*>index.data)[at]
    hint = ""
    if value < 0 and size > 0:
        hint = f" (negative ones arrive wrapped: this one was below -{size})"
    raise IndexError(
        f"{op}: index {value} is out of bounds for dim {axis} with size {size}; "
        f"indices must be in [0, {size}){hint}"
    )


# ------------------------------------------------------------------------ arguments
cdef int _check_args(str op, const View* x, int axis, const View* index) except -1:
    """Raise unless `index` is int64 and `axis` is one of x's dims."""
    check_index(f"{op}: indices", index)
    if not 0 <= axis < x.ndim:
        raise ShapeError(f"{op}: axis {axis} is out of range for a tensor of shape {shape_of(x)}")
    return 0


cdef int _picked_shape(str op, const View* x, int axis, const View* index,
                       View* out) except -1:
    """out's shape and size = x.shape[:axis] + index.shape + x.shape[axis + 1:] (gather's
    result, scatter_add's src), its rank checked before the fixed arrays are written."""
    cdef int d
    check_rank(f"{op}: the result would have", x.ndim - 1 + index.ndim)
    out.ndim = 0
    out.itemsize = x.itemsize
    for d in range(axis):
        out.shape[out.ndim] = x.shape[d]
        out.ndim += 1
    for d in range(index.ndim):
        out.shape[out.ndim] = index.shape[d]
        out.ndim += 1
    for d in range(axis + 1, x.ndim):
        out.shape[out.ndim] = x.shape[d]
        out.ndim += 1
    out.size = checked_size(f"{op}: the result", out)
    return 0


# --------------------------------------------------------------------------- gather
cdef void _copy_block(const Loop* post, char* dst, const char* src, int itemsize) noexcept nogil:
    """Copy one post block (dense in dst) from src, whatever src's post strides."""
    cdef Py_ssize_t index[MAX_DIMS]
    cdef Py_ssize_t offset[MAX_OPERANDS]
    cdef Py_ssize_t strides[2]
    cdef char* ptrs[2]
    cdef int outer = post.ndim - 1
    cdef Py_ssize_t rows = loop_size(post, outer), r
    strides[0] = post.strides[0][outer]
    strides[1] = post.strides[1][outer]
    loop_seek(post, outer, 0, index, offset)
    for r in range(rows):
        ptrs[0] = dst + offset[0] * itemsize
        ptrs[1] = <char*>src + offset[1] * itemsize
        move_body(ptrs, strides, post.shape[outer], &itemsize)
        loop_advance(post, outer, index, offset)


cdef void _gather_item(const Split* s, const int64_t* index, char* out, const char* x,
                       int itemsize, Py_ssize_t item) noexcept nogil:
    """out[p, j, ...] = x[p, index[j], ...] for item = p * count + j."""
    cdef Py_ssize_t pre_index[MAX_DIMS]
    cdef Py_ssize_t pre_offset[MAX_OPERANDS]
    cdef Py_ssize_t p = item // s.count, j = item % s.count
    loop_seek(&s.pre, s.pre.ndim, p, pre_index, pre_offset)
    _copy_block(&s.post, out + (p * s.count + j) * s.post_size * itemsize,
                x + (pre_offset[1] + index[j] * s.axis_stride) * itemsize, itemsize)


def gather(x, int axis, index):
    cdef View vx, vi, dense_index, shape, out
    cdef Split s
    cdef int threads
    cdef Py_ssize_t items, i
    read_view(x, &vx)
    read_view(index, &vi)
    _check_args("gather", &vx, axis, &vi)
    _picked_shape("gather", &vx, axis, &vi, &shape)
    keep = None
    if not is_dense(&vi):
        keep = compact(&vi, &dense_index)
        vi = dense_index
    _check_bounds("gather", &vi, axis, vx.shape[axis])
    buffer = new_dense(&shape, vx.dtype, &out)
    if out.size == 0:
        return buffer
    _split(&vx, axis, vi.size, &out, &s)
    items = loop_size(&s.pre, s.pre.ndim) * s.count
    threads = thread_count(out.size)
    with nogil:
        for i in prange(items, num_threads=threads, schedule="static"):
            _gather_item(&s, <const int64_t*>vi.data, out.data, vx.data, vx.itemsize, i)
    return buffer


# ---------------------------------------------------------------------- scatter_add
cdef void _add_run(scalar* dst, Py_ssize_t ds, const scalar* src, Py_ssize_t ss,
                   Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    if scalar is uint8_t:  # bool: 1 + 1 stays 1
        for i in range(n):
            dst[i * ds] |= src[i * ss]
    else:
        for i in range(n):
            dst[i * ds] += src[i * ss]


cdef void _scatter_item(const Split* s, const int64_t* index, scalar* dst, const scalar* src,
                        Py_ssize_t item, Py_ssize_t width) noexcept nogil:
    """Item = (p, a block of `width` columns): dst[p, index[j], cols] += src[p, j, cols].

    dst and src are dense here, so a post block is one contiguous run of post_size.
    """
    cdef Py_ssize_t pre_index[MAX_DIMS]
    cdef Py_ssize_t pre_offset[MAX_OPERANDS]
    cdef Py_ssize_t blocks = (s.post_size + width - 1) // width
    cdef Py_ssize_t p = item // blocks, first = (item % blocks) * width, j
    cdef Py_ssize_t n = s.post_size - first if s.post_size - first < width else width
    cdef scalar* dst_base
    cdef const scalar* src_base = src + p * s.count * s.post_size + first
    loop_seek(&s.pre, s.pre.ndim, p, pre_index, pre_offset)
    dst_base = dst + pre_offset[1] + first
    for j in range(s.count):  # in order, so that repeated indices add up one after another
        _add_run(dst_base + index[j] * s.axis_stride, 1, src_base + j * s.post_size, 1, n)


cdef void _scatter(const Split* s, const int64_t* index, scalar* dst,
                   const scalar* src) noexcept nogil:
    cdef Py_ssize_t pre = loop_size(&s.pre, s.pre.ndim), width = s.post_size, items, i
    cdef int threads = thread_count(pre * s.count * s.post_size)
    if pre < 2 * threads:  # too few pre rows to go round: split the columns as well
        width = (s.post_size // (4 * threads) + 15) & ~(<Py_ssize_t>15)
        if width < 64:
            width = 64
    items = pre * ((s.post_size + width - 1) // width)
    for i in prange(items, num_threads=threads, schedule="static"):
        _scatter_item(s, index, dst, src, i, width)


cdef int _check_scatter(const View* dst, int axis, const View* index,
                        const View* src) except -1:
    """Raise unless dst is dense (the kernel adds into contiguous runs of it) and src has
    dst's dtype and the shape gather would give: dst.shape[:axis] + index.shape + ..."""
    cdef View expected
    cdef int d
    cdef bint same
    _check_args("scatter_add", dst, axis, index)
    if not is_dense(dst):
        raise ShapeError(
            f"scatter_add: dst {shape_of(dst)} must be dense (row-major, no gaps); "
            "pass a contiguous tensor (core passes fresh zeros)"
        )
    if src.dtype != dst.dtype:
        raise DTypeError(
            f"scatter_add: src is {dtype_object(src.dtype)}, dst {dtype_object(dst.dtype)}; "
            "they must match (cast src first)"
        )
    _picked_shape("scatter_add", dst, axis, index, &expected)
    same = expected.ndim == src.ndim
    for d in range(expected.ndim if same else 0):
        same = same and expected.shape[d] == src.shape[d]
    if not same:
        raise ShapeError(
            f"scatter_add: src {shape_of(src)} must be {shape_of(&expected)}: dst "
            f"{shape_of(dst)} with dim {axis} replaced by index {shape_of(index)}"
        )
    return 0


def scatter_add(dst, int axis, index, src):
    cdef View vd, vi, vs, staged_index, staged_src, wide_dst, wide_src, narrowed
    cdef Split s
    read_view(dst, &vd)
    read_view(index, &vi)
    read_view(src, &vs)
    _check_scatter(&vd, axis, &vi, &vs)
    keep_index = None
    staged_index = vi
    if not is_dense(&vi):
        keep_index = compact(&vi, &staged_index)
    _check_bounds("scatter_add", &staged_index, axis, vd.shape[axis])  # before any write
    if vs.size == 0:
        return
    if vd.dtype == FLOAT16:  # accumulate in float32, round once, write back in place
        keep_dst = convert(&vd, FLOAT32, &wide_dst)
        keep_src = convert(&vs, FLOAT32, &wide_src)
        _split(&wide_dst, axis, vi.size, &wide_src, &s)
        with nogil:
            _scatter(&s, <const int64_t*>staged_index.data, <float*>wide_dst.data,
                     <const float*>wide_src.data)
        keep_result = convert(&wide_dst, FLOAT16, &narrowed)
        memcpy(vd.data, narrowed.data, vd.size * vd.itemsize)
        return
    keep_src = compact(&vs, &staged_src)  # core sends it dense; the kit does not always
    _split(&vd, axis, vi.size, &staged_src, &s)
    with nogil:
        if vd.dtype == FLOAT32:
            _scatter(&s, <const int64_t*>staged_index.data, <float*>vd.data,
                     <const float*>staged_src.data)
        elif vd.dtype == FLOAT64:
            _scatter(&s, <const int64_t*>staged_index.data, <double*>vd.data,
                     <const double*>staged_src.data)
        elif vd.dtype == INT64:
            _scatter(&s, <const int64_t*>staged_index.data, <int64_t*>vd.data,
                     <const int64_t*>staged_src.data)
        elif vd.dtype == INT32:
            _scatter(&s, <const int64_t*>staged_index.data, <int32_t*>vd.data,
                     <const int32_t*>staged_src.data)
        elif vd.dtype == BOOL:
            _scatter(&s, <const int64_t*>staged_index.data, <uint8_t*>vd.data,
                     <const uint8_t*>staged_src.data)
