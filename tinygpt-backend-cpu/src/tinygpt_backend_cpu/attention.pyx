# cython: language_level=3
"""Fused causal attention, forward and backward: softmax(q @ k^T * scale [+ mask]) @ v.

The composite writes the (B, H, Tq, Tk) scores to memory and reads them back five times
(matmul, scale, mask, softmax, matmul). Here each (batch, head, block of QB queries) is one
work item: its scores live in a QB x Tk scratch tile in cache, computed by a gemm, masked
and softmaxed there, and multiplied by v straight into the output. Only the logsumexp per
query is saved; the backward recomputes the probabilities from it, one tile at a time.

q, k, v arrive as head-split views ((B, T, H, D) memory seen as (B, H, T, D)); BLAS reads
each (T, D) slice in place through its leading dimension. With `causal`, keys after the
query (bottom-right aligned: query i sits at Tk - Tq + i) are skipped, not just masked:
a query block's gemms stop at its last visible key.

float32 heads small enough to keep whole in cache (the GPT training shape, T = 64) skip BLAS:
attention_tiles.h does one head per call, forward or backward, with its own small products
(a gemm call that size costs more in packing than in arithmetic). One head per thread.

float16 is widened to float32 and the outputs rounded back, except the logsumexp: it stays
float32 (the protocol's statistics dtype). Empty shapes: no keys (Tk = 0) gives out = 0 and
lse = -inf; no head dims (D = 0) gives the lse of all-zero scores, log(visible keys).
"""

from cython.parallel cimport prange, threadid
from libc.math cimport INFINITY, log
from libc.stdlib cimport free, malloc
from libc.string cimport memset

from .blas cimport gemm, gemv, scipy_openblas_get_num_threads, scipy_openblas_set_num_threads
from .dtypes cimport FLOAT16, FLOAT32, real
from .matmul cimport Operand, as_blas_operand
from .memory cimport convert, widened
from .rowops cimport row_exp, row_max, row_scale, row_sum
from .strided cimport View, new_dense, read_view, thread_count


cdef extern from "attention_tiles.h" nogil:
    ctypedef struct att_head:
        Py_ssize_t tq, tk, d, offset
        int causal
        float scale
        const float* q
        const float* k
        const float* v
        Py_ssize_t q_row, k_row, v_row
        const float* dout
        const float* out
        Py_ssize_t dout_row, out_row
        float* lse
        Py_ssize_t lse_step
        float* o
        float* dq
        float* dk
        float* dv
    Py_ssize_t att_forward_scratch(Py_ssize_t tq, Py_ssize_t tk, Py_ssize_t d)
    Py_ssize_t att_backward_scratch(Py_ssize_t tq, Py_ssize_t tk, Py_ssize_t d)
    void att_forward(const att_head* h, float* scratch)
    void att_backward(const att_head* h, float* scratch)
    float* att_alloc(Py_ssize_t floats)
    void att_free(float* scratch)

cdef enum:
    QB = 64  # queries per tile
    # a head takes the attention_tiles.h path when its backward scratch fits in this many
    # bytes: the per-core L2 of current x86 servers holds it with room to spare
    TILE_BYTES = 1 << 20


cdef struct Attn:
    Py_ssize_t b, h, tq, tk, d
    Py_ssize_t offset  # tk - tq: where query 0 sits among the keys
    bint causal
    double scale
    Operand q, k, v, dout  # the (T, D) slices of head (0, 0), as BLAS reads them
    Py_ssize_t qs[2]  # batch and head strides of q, k, v, dout (elements)
    Py_ssize_t ks[2]
    Py_ssize_t vs[2]
    Py_ssize_t ds[2]
    char* out  # forward: written; backward: read. (B, H, Tq, D), with the strides below
    Py_ssize_t os[4]
    char* lse  # (B, H, Tq), with strides
    Py_ssize_t ls[3]


cdef inline Py_ssize_t _visible(const Attn* a, Py_ssize_t i) noexcept nogil:
    """How many keys query i may attend to."""
    if not a.causal:
        return a.tk
    if i + a.offset + 1 < 0:
        return 0
    return a.tk if i + a.offset + 1 > a.tk else i + a.offset + 1


cdef inline Py_ssize_t _at(const Operand* op, const Py_ssize_t* strides, Py_ssize_t b,
                           Py_ssize_t h, Py_ssize_t row) noexcept nogil:
    """Row `row` of head (b, h): the element offset where a gemm operand starting at that
    row begins."""
    cdef Py_ssize_t row_stride = 1 if op.trans else op.ld
    return b * strides[0] + h * strides[1] + row * row_stride


cdef void _scores(const Attn* a, Py_ssize_t b, Py_ssize_t h, Py_ssize_t i0, Py_ssize_t rows,
                  Py_ssize_t keys, real* s) noexcept nogil:
    """s (rows, keys), row stride tk = scale * q[i0:i0+rows] @ k[:keys]^T."""
    cdef const real* q_tile = <const real*>a.q.data + _at(&a.q, a.qs, b, h, i0)
    cdef const real* k_head = <const real*>a.k.data + _at(&a.k, a.ks, b, h, 0)
    gemm(a.q.trans, not a.k.trans, rows, keys, a.d, a.scale, q_tile, a.q.ld, k_head, a.k.ld,
         0.0, s, a.tk)


cdef void _forward_tile(const Attn* a, Py_ssize_t item, real* s, real* out) noexcept nogil:
    cdef Py_ssize_t blocks = (a.tq + QB - 1) // QB
    cdef Py_ssize_t bh = item // blocks, b = bh // a.h, h = bh % a.h
    cdef Py_ssize_t i0 = (item % blocks) * QB
    cdef Py_ssize_t rows = a.tq - i0 if a.tq - i0 < QB else QB
    cdef Py_ssize_t keys = _visible(a, i0 + rows - 1), i, j, n
    cdef real* row
    cdef real m
    cdef double total
    if keys == 0:
        keys = 1  # every row of this tile sees nothing: it gets zeros (lse -inf), as PyTorch
    _scores(a, b, h, i0, rows, keys, s)
    for i in range(rows):
        row = s + i * a.tk
        n = _visible(a, i0 + i)
        if n == 0:
            for j in range(keys):
                row[j] = 0  # attends to nothing: a zero output row, as PyTorch's sdpa
            (<real*>a.lse)[b * a.ls[0] + h * a.ls[1] + (i0 + i) * a.ls[2]] = -INFINITY
            continue
        m = row_max(row, 1, n)
        row_exp(row, row, 1, m, n)  # in place, vectorized
        total = row_sum(row, 1, n)
        row_scale(row, <real>(1.0 / total), n)
        for j in range(n, keys):
            row[j] = 0  # masked: exp(-inf)
        (<real*>a.lse)[b * a.ls[0] + h * a.ls[1] + (i0 + i) * a.ls[2]] = <real>(m + log(total))
    # out[i0:i0+rows] = p @ v[:keys], straight into the dense output
    cdef const real* v_head = <const real*>a.v.data + _at(&a.v, a.vs, b, h, 0)
    gemm(False, a.v.trans, rows, a.d, keys, 1.0, s, a.tk, v_head, a.v.ld, 0.0,
         out + ((b * a.h + h) * a.tq + i0) * a.d, a.d)


cdef void _forward_item(const Attn* a, Py_ssize_t item, real* out) noexcept nogil:
    cdef real* s = <real*>malloc(QB * a.tk * sizeof(real))
    _forward_tile(a, item, s, out)
    free(s)


cdef void _backward_head(const Attn* a, Py_ssize_t bh, real* dq, real* dk, real* dv) noexcept nogil:
    """Gradients of head bh = (b, h), tile by tile over the queries:

    p = exp(s - lse), dv += p^T dout, dp = dout v^T, ds = p * (dp - rowsum(dout * out)),
    dq = ds k * scale, dk += ds^T q * scale.
    """
    cdef Py_ssize_t b = bh // a.h, h = bh % a.h, i0, rows, keys, i, j, n, t
    cdef Py_ssize_t head = (b * a.h + h)
    cdef real* p = <real*>malloc(2 * QB * a.tk * sizeof(real))
    cdef real* dp = p + QB * a.tk
    cdef real* row
    cdef real* drow
    cdef const real* o
    cdef const real* g
    cdef double lse, dot
    memset(dk + head * a.tk * a.d, 0, a.tk * a.d * sizeof(real))
    memset(dv + head * a.tk * a.d, 0, a.tk * a.d * sizeof(real))
    cdef const real* q_head = <const real*>a.q.data + _at(&a.q, a.qs, b, h, 0)
    cdef const real* k_head = <const real*>a.k.data + _at(&a.k, a.ks, b, h, 0)
    cdef const real* v_head = <const real*>a.v.data + _at(&a.v, a.vs, b, h, 0)
    cdef const real* g_head = <const real*>a.dout.data + _at(&a.dout, a.ds, b, h, 0)
    cdef Py_ssize_t q_row = 1 if a.q.trans else a.q.ld  # element steps between rows
    cdef Py_ssize_t g_row = 1 if a.dout.trans else a.dout.ld
    cdef Py_ssize_t g_col = a.dout.ld if a.dout.trans else 1
    i0 = 0
    while i0 < a.tq:
        rows = a.tq - i0 if a.tq - i0 < QB else QB
        keys = _visible(a, i0 + rows - 1)
        if keys == 0:
            memset(dq + (head * a.tq + i0) * a.d, 0, rows * a.d * sizeof(real))
            i0 += QB
            continue
        _scores(a, b, h, i0, rows, keys, p)
        gemm(a.dout.trans, not a.v.trans, rows, keys, a.d, 1.0, g_head + i0 * g_row,
             a.dout.ld, v_head, a.v.ld, 0.0, dp, a.tk)
        for i in range(rows):
            row = p + i * a.tk
            drow = dp + i * a.tk
            n = _visible(a, i0 + i)
            lse = (<const real*>a.lse)[b * a.ls[0] + h * a.ls[1] + (i0 + i) * a.ls[2]]
            # rowsum(dout * out) = sum_j p_j dp_j: the softmax backward's correction term
            o = <const real*>a.out + b * a.os[0] + h * a.os[1] + (i0 + i) * a.os[2]
            g = g_head + (i0 + i) * g_row
            dot = 0
            for t in range(a.d):
                dot += o[t * a.os[3]] * g[t * g_col]
            row_exp(row, row, 1, <real>lse, n)  # p = exp(s - lse), in place
            for j in range(n):
                drow[j] = <real>(row[j] * (drow[j] - dot) * a.scale)
            for j in range(n, keys):
                row[j] = 0
                drow[j] = 0
        # dv[:keys] += p^T @ dout_tile;  dk[:keys] += ds^T @ q_tile;  dq_tile = ds @ k[:keys]
        gemm(True, a.dout.trans, keys, a.d, rows, 1.0, p, a.tk, g_head + i0 * g_row,
             a.dout.ld, 1.0, dv + head * a.tk * a.d, a.d)
        gemm(True, a.q.trans, keys, a.d, rows, 1.0, dp, a.tk, q_head + i0 * q_row, a.q.ld,
             1.0, dk + head * a.tk * a.d, a.d)
        gemm(False, a.k.trans, rows, a.d, keys, 1.0, dp, a.tk, k_head, a.k.ld, 0.0,
             dq + (head * a.tq + i0) * a.d, a.d)
        i0 += QB
    free(p)


cdef void _parallel(const Attn* a, Py_ssize_t items, bint forward, real* out, real* dq,
                    real* dk, real* dv) noexcept nogil:
    """Work items on OpenMP threads, each gemm single-threaded (two thread pools on the same
    cores would fight); one item at a time with threaded gemms when there are fewer items
    than threads. NOTE: not merely fewer than 2 per thread: threaded gemms this small
    stalled for milliseconds each (a T = 1024 backward of 2 heads on 2 threads took 1 s)."""
    cdef int threads = thread_count(items * QB * a.tk * a.d)
    cdef int blas_threads = scipy_openblas_get_num_threads()
    cdef Py_ssize_t i
    if items < threads:
        threads = 1
    if threads > 1:
        scipy_openblas_set_num_threads(1)
    for i in prange(items, num_threads=threads, schedule="dynamic"):
        if forward:
            _forward_item(a, i, out)
        else:
            _backward_head(a, i, dq, dk, dv)
    if threads > 1:
        scipy_openblas_set_num_threads(blas_threads)


cdef bint _tiles_fit(const Attn* a, bint backward) noexcept nogil:
    """Whether attention_tiles.h takes this call: float32 rows with unit column stride, and
    heads small enough to keep in cache."""
    if a.q.trans or a.k.trans or a.v.trans:
        return False
    if backward and (a.dout.trans or a.os[3] != 1):
        return False
    return att_backward_scratch(a.tq, a.tk, a.d) * <Py_ssize_t>sizeof(float) <= TILE_BYTES


cdef void _tiles_head(const Attn* a, Py_ssize_t bh, bint backward, float* o, float* dq,
                      float* dk, float* dv, float* scratch) noexcept nogil:
    """Head bh = (b, h) through attention_tiles.h."""
    cdef Py_ssize_t b = bh // a.h, h = bh % a.h
    cdef att_head head
    head.tq, head.tk, head.d, head.offset = a.tq, a.tk, a.d, a.offset
    head.causal = a.causal
    head.scale = <float>a.scale
    head.q = <const float*>a.q.data + _at(&a.q, a.qs, b, h, 0)
    head.k = <const float*>a.k.data + _at(&a.k, a.ks, b, h, 0)
    head.v = <const float*>a.v.data + _at(&a.v, a.vs, b, h, 0)
    head.q_row, head.k_row, head.v_row = a.q.ld, a.k.ld, a.v.ld
    head.lse = <float*>a.lse + b * a.ls[0] + h * a.ls[1]
    head.lse_step = a.ls[2]
    if not backward:
        head.o = o + bh * a.tq * a.d
        att_forward(&head, scratch)
        return
    head.dout = <const float*>a.dout.data + _at(&a.dout, a.ds, b, h, 0)
    head.dout_row = a.dout.ld
    head.out = <const float*>a.out + b * a.os[0] + h * a.os[1]
    head.out_row = a.os[2]
    head.dq = dq + bh * a.tq * a.d
    head.dk = dk + bh * a.tk * a.d
    head.dv = dv + bh * a.tk * a.d
    att_backward(&head, scratch)


cdef int _tiles(const Attn* a, bint backward, float* o, float* dq, float* dk,
                float* dv) except -1:
    """Every head through attention_tiles.h, one head per thread at a time, each thread
    with its own scratch."""
    cdef Py_ssize_t heads = a.b * a.h, i
    cdef int threads = thread_count(heads * a.tq * a.tk * a.d)
    cdef Py_ssize_t floats
    cdef float* scratch
    if threads > heads:
        threads = <int>heads
    if backward:
        floats = att_backward_scratch(a.tq, a.tk, a.d)
    else:
        floats = att_forward_scratch(a.tq, a.tk, a.d)
    scratch = att_alloc(threads * floats)
    if scratch == NULL:
        raise MemoryError(f"attention: no memory for {threads} x {floats} floats of scratch")
    with nogil:
        for i in prange(heads, num_threads=threads, schedule="static"):
            _tiles_head(a, i, backward, o, dq, dk, dv, scratch + threadid() * floats)
    att_free(scratch)
    return 0


include "attention_row.pxi"  # _one_query: Tq = 1, the decoding step


cdef object _setup(Attn* a, const View* q, const View* k, const View* v, bint causal,
                   double scale):
    """Fill `a` from the (widened) views; returns staging copies to keep alive."""
    cdef View sq, sk, sv
    a.b = q.shape[0]
    a.h = q.shape[1]
    a.tq = q.shape[2]
    a.tk = k.shape[2]
    a.d = q.shape[3]
    a.offset = a.tk - a.tq
    a.causal = causal
    a.scale = scale
    keep = [as_blas_operand(q, &sq, &a.q), as_blas_operand(k, &sk, &a.k),
            as_blas_operand(v, &sv, &a.v)]
    a.qs[0], a.qs[1] = sq.strides[0], sq.strides[1]
    a.ks[0], a.ks[1] = sk.strides[0], sk.strides[1]
    a.vs[0], a.vs[1] = sv.strides[0], sv.strides[1]
    return keep


def attention(q, k, v, bint causal, double scale):
    cdef View vq, vk, vv, wq, wk, wv, out, lse, lse_shape, o1
    cdef Attn a
    cdef Py_ssize_t items
    cdef void* scores
    read_view(q, &vq)
    read_view(k, &vk)
    read_view(v, &vv)
    keep = [widened(&vq, &wq), widened(&vk, &wk), widened(&vv, &wv)]
    keep.append(_setup(&a, &wq, &wk, &wv, causal, scale))
    out_buffer = new_dense(&wq, wq.dtype, &out)
    lse_shape = wq
    lse_shape.ndim = 3
    lse_shape.size = a.b * a.h * a.tq
    lse_buffer = new_dense(&lse_shape, wq.dtype, &lse)
    a.lse = lse.data
    a.ls[0], a.ls[1], a.ls[2] = lse.strides[0], lse.strides[1], lse.strides[2]
    items = a.b * a.h * ((a.tq + QB - 1) // QB)
    if out.size > 0 and a.tk > 0 and a.tq == 1:
        scores = malloc(a.tk * wq.itemsize)
        if scores == NULL:
            raise MemoryError(f"attention: no memory for {a.tk} scores")
        with nogil:
            if wq.dtype == FLOAT32:
                _one_query(&a, <float*>out.data, <float*>scores)
            else:
                _one_query(&a, <double*>out.data, <double*>scores)
        free(scores)
    elif out.size > 0 and a.tk > 0 and wq.dtype == FLOAT32 and _tiles_fit(&a, False):
        _tiles(&a, False, <float*>out.data, NULL, NULL, NULL)
    elif out.size > 0 and a.tk > 0:
        with nogil:
            if wq.dtype == FLOAT32:
                _parallel(&a, items, True, <float*>out.data, NULL, NULL, NULL)
            else:
                _parallel(&a, items, True, <double*>out.data, NULL, NULL, NULL)
    else:  # nothing to multiply: Tq, D or Tk is 0
        memset(out.data, 0, out.size * out.itemsize)
        _empty_lse(&a, &lse)
    if vq.dtype != FLOAT16:
        return out_buffer, lse_buffer
    return convert(&out, FLOAT16, &o1), lse_buffer  # the logsumexp stays float32


cdef void _empty_lse(const Attn* a, View* lse) noexcept:
    """The dense lse (B, H, Tq) when no score needs computing: each row's scores are all 0
    (D = 0), so lse = log(visible keys): -inf for none (Tk = 0, or a row the causal mask
    hides entirely), as the kernels give it."""
    cdef Py_ssize_t i, row, n
    cdef double value
    for row in range(lse.size):
        i = row % a.tq
        n = _visible(a, i)
        value = log(<double>n) if n > 0 else -INFINITY
        if lse.dtype == FLOAT32:
            (<float*>lse.data)[row] = <float>value
        else:
            (<double*>lse.data)[row] = value


def attention_backward(dout, q, k, v, out, lse, bint causal, double scale):
    cdef View vdo, vq, vk, vv, vo, vl, wdo, wq, wk, wv, wo, wl, sdo, dq, dk, dv, o1, o2, o3
    cdef Attn a
    read_view(dout, &vdo)
    read_view(q, &vq)
    read_view(k, &vk)
    read_view(v, &vv)
    read_view(out, &vo)
    read_view(lse, &vl)
    keep = [widened(&vdo, &wdo), widened(&vq, &wq), widened(&vk, &wk), widened(&vv, &wv),
            widened(&vo, &wo), widened(&vl, &wl)]
    keep.append(_setup(&a, &wq, &wk, &wv, causal, scale))
    keep.append(as_blas_operand(&wdo, &sdo, &a.dout))
    a.ds[0], a.ds[1] = sdo.strides[0], sdo.strides[1]
    a.out = wo.data
    a.os[0], a.os[1], a.os[2], a.os[3] = wo.strides[0], wo.strides[1], wo.strides[2], wo.strides[3]
    a.lse = wl.data
    a.ls[0], a.ls[1], a.ls[2] = wl.strides[0], wl.strides[1], wl.strides[2]
    dq_buffer = new_dense(&wq, wq.dtype, &dq)
    dk_buffer = new_dense(&wk, wq.dtype, &dk)
    dv_buffer = new_dense(&wv, wq.dtype, &dv)
    cdef bint work = a.b * a.h > 0 and a.tq > 0 and a.tk > 0 and a.d > 0
    if work and wq.dtype == FLOAT32 and _tiles_fit(&a, True):
        _tiles(&a, True, NULL, <float*>dq.data, <float*>dk.data, <float*>dv.data)
    elif work:
        with nogil:
            if wq.dtype == FLOAT32:
                _parallel(&a, a.b * a.h, False, NULL, <float*>dq.data, <float*>dk.data,
                          <float*>dv.data)
            else:
                _parallel(&a, a.b * a.h, False, NULL, <double*>dq.data, <double*>dk.data,
                          <double*>dv.data)
    else:  # an empty product: every gradient is a sum of nothing
        memset(dq.data, 0, dq.size * dq.itemsize)
        memset(dk.data, 0, dk.size * dk.itemsize)
        memset(dv.data, 0, dv.size * dv.itemsize)
    if vq.dtype != FLOAT16:
        return dq_buffer, dk_buffer, dv_buffer
    return (convert(&dq, FLOAT16, &o1), convert(&dk, FLOAT16, &o2),
            convert(&dv, FLOAT16, &o3))
