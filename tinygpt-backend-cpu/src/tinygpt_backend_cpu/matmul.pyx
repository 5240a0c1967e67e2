# cython: language_level=3
"""Batched matmul: (..., M, K) @ (..., K, N) -> (..., M, N), on OpenBLAS for floats.

A transposed operand (`x @ w.T`) is not copied: BLAS reads a row-major matrix either as it
is or transposed, given its leading dimension, so each operand's strides become a
(trans, ld) pair. Only strides BLAS cannot express (negative, or no unit stride) are
compacted first. Batch dims are walked with the loop nest; a weight shared by the batch
(stride 0, as core's broadcast sends it) is folded into one tall gemm when the other
operand's rows chain, which is the Linear layer's (B, T, C) @ (C, N) case. Many small
gemms run in parallel on OpenMP threads, each single-threaded in OpenBLAS.

int32/int64 use a plain loop (parallel over output rows), as do floats in the rare product
whose sizes or strides do not fit OpenBLAS's 32-bit integers; float16 is widened to float32,
multiplied, rounded once. bool has no product here (nor in PyTorch): a DTypeError, as is any
operand pair core should have broadcast or promoted first, rather than BLAS reading bytes.
"""

from cpython.pyport cimport PY_SSIZE_T_MAX
from cython.parallel cimport prange
from libc.limits cimport INT_MAX
from libc.string cimport memset

from tinygpt.errors import DTypeError, ShapeError

from .blas cimport gemm, gemv, scipy_openblas_get_num_threads, scipy_openblas_set_num_threads
from .dtypes cimport (
    BOOL, FLOAT16, FLOAT32, FLOAT64, INT32, INT64, dtype_object, int32_t, int64_t, number,
    real,
)
from .memory cimport compact, convert
from .strided cimport (
    MAX_DIMS, MAX_OPERANDS, Loop, View, checked_size, loop_advance, loop_seek, loop_simplify,
    loop_size, new_dense, read_view, shape_of, thread_count,
)


cdef extern from "gemv_f32.h" nogil:
    void tg_gemv_rows(float* y, const float* a, Py_ssize_t lda, const float* x, Py_ssize_t m,
                      Py_ssize_t n)

cdef enum:
    # a gemm smaller than this (M * N * K) runs single-threaded in OpenBLAS, next to others
    SMALL_GEMM = 96 * 96 * 96
    GEMV_ROWS = 64  # rows per parallel work item of the one-row matmul


cdef bint blas_layout(Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t row_stride,
                      Py_ssize_t col_stride, Operand* op) noexcept nogil:
    """Whether a (rows, cols) matrix with these strides is a BLAS operand, and how."""
    if cols == 1:
        col_stride = 1  # the stride of a size-1 dim is never used
    if rows == 1:
        row_stride = cols if cols > 1 else 1
    if col_stride == 1 and row_stride >= cols and row_stride >= 1:
        op.trans = False
        op.ld = row_stride
        return True
    if row_stride == 1 and col_stride >= rows and col_stride >= 1:
        op.trans = True
        op.ld = col_stride
        return True
    return False


cdef object as_blas_operand(const View* x, View* staged, Operand* op):
    """`op` for the last two dims of `x`, compacting x into `staged` if BLAS cannot read it.

    Returns the staging buffer (keep it alive) or None; `staged` is the view to use.
    """
    cdef int m = x.ndim - 2
    buffer = None
    staged[0] = x[0]
    if not blas_layout(x.shape[m], x.shape[m + 1], x.strides[m], x.strides[m + 1], op):
        buffer = compact(x, staged)
        blas_layout(x.shape[m], x.shape[m + 1], staged.strides[m], staged.strides[m + 1], op)
    op.data = staged.data
    return buffer


cdef void _blas_batches(Loop* batch, Operand* a, Operand* b, real* out, Py_ssize_t m,
                        Py_ssize_t n, Py_ssize_t k) noexcept nogil:
    """One gemm per batch position; parallel over positions when each gemm is small."""
    cdef Py_ssize_t count = loop_size(batch, batch.ndim), i
    cdef Py_ssize_t index[MAX_DIMS]
    cdef Py_ssize_t offset[MAX_OPERANDS]
    cdef int threads = thread_count(count * m * n * k // 16)
    cdef int blas_threads
    if count > 1 and threads > 1 and m * n * k <= SMALL_GEMM:
        # NOTE: OpenBLAS's own pool would fight the OpenMP team for the cores: make each
        # call single-threaded while the team runs, and restore the setting afterwards.
        blas_threads = scipy_openblas_get_num_threads()
        scipy_openblas_set_num_threads(1)
        for i in prange(count, num_threads=threads, schedule="static"):
            _one_batch(batch, i, a, b, out, m, n, k)
        scipy_openblas_set_num_threads(blas_threads)
        return
    loop_seek(batch, batch.ndim, 0, index, offset)
    for i in range(count):
        gemm(a.trans, b.trans, m, n, k, 1.0, <const real*>a.data + offset[1], a.ld,
             <const real*>b.data + offset[2], b.ld, 0.0, out + offset[0], n)
        loop_advance(batch, batch.ndim, index, offset)


cdef void _one_batch(const Loop* batch, Py_ssize_t i, Operand* a, Operand* b, real* out,
                     Py_ssize_t m, Py_ssize_t n, Py_ssize_t k) noexcept nogil:
    cdef Py_ssize_t index[MAX_DIMS]
    cdef Py_ssize_t offset[MAX_OPERANDS]
    loop_seek(batch, batch.ndim, i, index, offset)
    gemm(a.trans, b.trans, m, n, k, 1.0, <const real*>a.data + offset[1], a.ld,
         <const real*>b.data + offset[2], b.ld, 0.0, out + offset[0], n)


cdef void _blas_matmul(Loop* batch, Operand* a, Operand* b, real* out, Py_ssize_t m,
                       Py_ssize_t n, Py_ssize_t k) noexcept nogil:
    cdef Py_ssize_t count = loop_size(batch, batch.ndim)
    if count == 1 and m == 1:
        # one row (decoding one token): gemv, as OpenBLAS's gemm with M = 1 can be several
        # times slower at some shapes ((1, 384) @ (384, 1536).T: 153 us vs 39 us)
        _blas_row(a, b, out, n, k)
        return
    # (B, M, K) @ (K, N) broadcast: B*M rows of a, one after the other -> one gemm
    if (count > 1 and batch.ndim == 1 and batch.strides[2][0] == 0 and not a.trans
            and batch.strides[1][0] == m * a.ld and count * m <= INT_MAX):
        gemm(False, b.trans, count * m, n, k, 1.0, <const real*>a.data, a.ld,
             <const real*>b.data, b.ld, 0.0, out, n)
        return
    _blas_batches(batch, a, b, out, m, n, k)


cdef void _blas_row(Operand* a, Operand* b, real* out, Py_ssize_t n,
                    Py_ssize_t k) noexcept nogil:
    """out (1, N) = a (1, K) @ b (K, N) as one gemv; a's K elements are a.ld apart when it is
    stored transposed (a (K, 1) column), else adjacent."""
    cdef Py_ssize_t incx = a.ld if a.trans else 1
    if real is float and b.trans and incx == 1:  # x @ W.T, W (N, K): gemv_f32.h, row by row
        _gemv_rows(<const float*>b.data, b.ld, <const float*>a.data, out, n, k)
        return
    if b.trans:  # b stored (N, K): out = B @ a
        gemv(False, n, k, <const real*>b.data, b.ld, <const real*>a.data, incx, out)
    else:  # b stored (K, N): out = B.T @ a
        gemv(True, k, n, <const real*>b.data, b.ld, <const real*>a.data, incx, out)


cdef void _gemv_rows(const float* w, Py_ssize_t ldw, const float* x, float* out, Py_ssize_t n,
                     Py_ssize_t k) noexcept nogil:
    """out (N,) = W (N, K) @ x (K,), W row-major: blocks of GEMV_ROWS rows on the OpenMP
    team when the weight is big enough to share (each row's sum is the same either way)."""
    cdef Py_ssize_t blocks = (n + GEMV_ROWS - 1) // GEMV_ROWS, i, first
    cdef int threads = thread_count(n * k // 4)
    if threads > blocks:
        threads = <int>blocks
    if threads <= 1:
        tg_gemv_rows(out, w, ldw, x, n, k)
        return
    for i in prange(blocks, num_threads=threads, schedule="static"):
        first = i * GEMV_ROWS
        tg_gemv_rows(out + first, w + first * ldw, ldw, x, min(GEMV_ROWS, n - first), k)


cdef bint _fits_blas(const Operand* a, const Operand* b, Py_ssize_t m, Py_ssize_t n,
                     Py_ssize_t k) noexcept nogil:
    """Whether every size and leading dimension fits OpenBLAS's 32-bit `blasint`."""
    return (m <= INT_MAX and n <= INT_MAX and k <= INT_MAX and a.ld <= INT_MAX
            and b.ld <= INT_MAX)


cdef void _loop_row(const Loop* batch, const View* a, const View* b, number* out,
                    Py_ssize_t item, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k) noexcept nogil:
    """Output row `item` (= batch position * M + i): out[i, :] = sum_k a[i, k] * b[k, :],
    reading b's rows in order."""
    cdef Py_ssize_t index[MAX_DIMS]
    cdef Py_ssize_t offset[MAX_OPERANDS]
    cdef Py_ssize_t i = item % m, kk, j
    cdef Py_ssize_t sam = a.strides[a.ndim - 2], sak = a.strides[a.ndim - 1]
    cdef Py_ssize_t sbk = b.strides[b.ndim - 2], sbn = b.strides[b.ndim - 1]
    cdef const number* pa
    cdef const number* pb
    cdef number* row
    cdef number aik
    loop_seek(batch, batch.ndim, item // m, index, offset)
    pa = <const number*>a.data + offset[1] + i * sam
    pb = <const number*>b.data + offset[2]
    row = out + offset[0] + i * n
    for j in range(n):
        row[j] = 0
    for kk in range(k):
        aik = pa[kk * sak]
        for j in range(n):
            row[j] += aik * pb[kk * sbk + j * sbn]


cdef void _loop_matmul(Loop* batch, const View* a, const View* b, number* out, Py_ssize_t m,
                       Py_ssize_t n, Py_ssize_t k) noexcept nogil:
    """Every output row with the plain loop (integers wrap around, as in NumPy)."""
    cdef Py_ssize_t rows = loop_size(batch, batch.ndim) * m, item
    cdef Py_ssize_t work = rows * n
    cdef int threads
    work = work * k if k < PY_SSIZE_T_MAX // work else PY_SSIZE_T_MAX
    threads = thread_count(work)
    if threads > rows:
        threads = <int>rows
    for item in prange(rows, num_threads=threads, schedule="static"):
        _loop_row(batch, a, b, out, item, m, n, k)


cdef str _shapes(const View* a, const View* b):
    return f"{shape_of(a)} @ {shape_of(b)}"


cdef int _check_operands(const View* a, const View* b) except -1:
    """Raise unless a (..., M, K) and b (..., K, N) share one rank >= 2, batch shape and
    dtype, and that dtype has a product: what core guarantees, checked before any read."""
    cdef int d, last = a.ndim - 1
    if a.ndim < 2 or a.ndim != b.ndim:
        raise ShapeError(
            f"matmul: {_shapes(a, b)}: the kernel takes two operands of one rank >= 2 (core "
            "broadcasts the batch dims and promotes 1-D operands)"
        )
    for d in range(a.ndim - 2):
        if a.shape[d] != b.shape[d]:
            raise ShapeError(f"matmul: {_shapes(a, b)}: batch dims differ (core broadcasts them)")
    if a.shape[last] != b.shape[last - 1]:
        raise ShapeError(
            f"matmul: {_shapes(a, b)}: inner dimensions {a.shape[last]} and "
            f"{b.shape[last - 1]} differ"
        )
    if a.dtype != b.dtype:
        raise DTypeError(
            f"matmul: {_shapes(a, b)}: {dtype_object(a.dtype)} @ {dtype_object(b.dtype)}: "
            "dtypes differ (core promotes them to one)"
        )
    if a.dtype == BOOL:
        raise DTypeError(
            f"matmul: {_shapes(a, b)}: not implemented for bool; cast both operands first, "
            "with .float() (or .long() to count the matches as integers)"
        )
    return 0


cdef object _matmul(const View* a, const View* b, View* out):
    cdef View shape, staged_a, staged_b
    cdef Operand op_a, op_b
    cdef Loop batch
    cdef int d, nb = a.ndim - 2
    cdef Py_ssize_t m = a.shape[nb], k = a.shape[nb + 1], n = b.shape[nb + 1]
    shape = a[0]  # (..., M, N)
    shape.shape[nb + 1] = n
    shape.size = checked_size("matmul: the result", &shape)
    buffer = new_dense(&shape, a.dtype, out)
    if out.size == 0:
        return buffer
    if k == 0:  # an empty sum: all zeros
        memset(out.data, 0, out.size * out.itemsize)
        return buffer
    # the batch loop nest: operands (out, a, b) over the leading dims
    batch.ndim = nb
    batch.nops = 3
    for d in range(nb):
        batch.shape[d] = a.shape[d]
        batch.strides[0][d] = out.strides[d]
        batch.strides[1][d] = a.strides[d]
        batch.strides[2][d] = b.strides[d]
    if a.dtype == INT32 or a.dtype == INT64:
        loop_simplify(&batch)
        with nogil:
            if a.dtype == INT32:
                _loop_matmul(&batch, a, b, <int32_t*>out.data, m, n, k)
            else:
                _loop_matmul(&batch, a, b, <int64_t*>out.data, m, n, k)
        return buffer
    if a.dtype != FLOAT32 and a.dtype != FLOAT64:  # (float16 was widened by the caller)
        raise DTypeError(f"matmul: the cpu backend has no {dtype_object(a.dtype)} product")
    keep_a = as_blas_operand(a, &staged_a, &op_a)
    keep_b = as_blas_operand(b, &staged_b, &op_b)
    if not _fits_blas(&op_a, &op_b, m, n, k):
        # NOTE: beyond 2**31 - 1 OpenBLAS's ints would wrap: the slow loop is right instead
        loop_simplify(&batch)
        with nogil:
            if a.dtype == FLOAT32:
                _loop_matmul(&batch, a, b, <float*>out.data, m, n, k)
            else:
                _loop_matmul(&batch, a, b, <double*>out.data, m, n, k)
        return buffer
    for d in range(nb):  # the staged copies have their own batch strides
        batch.strides[1][d] = staged_a.strides[d]
        batch.strides[2][d] = staged_b.strides[d]
    loop_simplify(&batch)
    with nogil:
        if a.dtype == FLOAT32:
            _blas_matmul(&batch, &op_a, &op_b, <float*>out.data, m, n, k)
        else:
            _blas_matmul(&batch, &op_a, &op_b, <double*>out.data, m, n, k)
    return buffer


def matmul(a, b):
    cdef View va, vb, wide_a, wide_b, wide_out, out
    read_view(a, &va)
    read_view(b, &vb)
    _check_operands(&va, &vb)
    if va.dtype != FLOAT16:
        return _matmul(&va, &vb, &out)
    # float16: no half gemm in BLAS; widen, multiply in float32, round once
    keep_a = convert(&va, FLOAT32, &wide_a)
    keep_b = convert(&vb, FLOAT32, &wide_b)
    result = _matmul(&wide_a, &wide_b, &wide_out)
    return convert(&wide_out, FLOAT16, &out)
