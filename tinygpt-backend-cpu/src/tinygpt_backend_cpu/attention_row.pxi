# Included by attention.pyx (it uses that file's Attn, _at and row helpers).
#
# One query per head, the shape of decoding one token with a KV cache, as two gemvs and one
# softmax per head: attention_tiles.h lays 16 queries side by side in each vector (15 of 16
# lanes idle for one query) and OpenBLAS's gemm with M = 1 is slow at some shapes, so one
# query cost several times its arithmetic there (Tk = 216, D = 64, 6 heads: 63 us).


cdef void _one_query(const Attn* a, real* out, real* s) noexcept nogil:
    """Every head when Tq = 1 (decoding one token): two gemvs and one softmax per head.

    The tiles put 16 queries side by side in a vector and gemm with M = 1 is slow in
    OpenBLAS, so one query costs several times its work there. The query sees every key
    (causal or not: it sits at the last position). `s` is scratch for Tk scores.
    """
    cdef Py_ssize_t bh, b, h, keys = a.tk
    cdef Py_ssize_t inc_q = a.q.ld if a.q.trans else 1  # steps between the query's elements
    cdef const real* q
    cdef const real* k
    cdef const real* v
    cdef real m
    cdef double total
    for bh in range(a.b * a.h):
        b, h = bh // a.h, bh % a.h
        q = <const real*>a.q.data + _at(&a.q, a.qs, b, h, 0)
        k = <const real*>a.k.data + _at(&a.k, a.ks, b, h, 0)
        v = <const real*>a.v.data + _at(&a.v, a.vs, b, h, 0)
        # s (keys,) = K q: K stored (keys, d), or (d, keys) when transposed
        if a.k.trans:
            gemv(True, a.d, keys, k, a.k.ld, q, inc_q, s)
        else:
            gemv(False, keys, a.d, k, a.k.ld, q, inc_q, s)
        row_scale(s, <real>a.scale, keys)
        m = row_max(s, 1, keys)
        row_exp(s, s, 1, m, keys)
        total = row_sum(s, 1, keys)
        row_scale(s, <real>(1.0 / total), keys)
        (<real*>a.lse)[b * a.ls[0] + h * a.ls[1]] = <real>(m + log(total))
        # out (d,) = V^T p
        if a.v.trans:
            gemv(False, a.d, keys, v, a.v.ld, s, 1, out + bh * a.d)
        else:
            gemv(True, keys, a.d, v, a.v.ld, s, 1, out + bh * a.d)
