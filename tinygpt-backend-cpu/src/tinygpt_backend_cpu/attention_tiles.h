/* Fused attention of one float32 head whose whole score matrix fits in cache (the GPT
 * training shape: T = 64, D = 32), forward and backward, compiled for baseline x86-64, AVX2
 * and AVX-512 and picked at run time like vecmath.h (whose exp and CPU check it uses).
 *
 * Why not BLAS: per head the work is a few 64 x 64 x 32 products, where a gemm call costs
 * more in packing and dispatch than in arithmetic, and the softmax between two gemms ran as
 * four separate row passes. Here one small register-blocked product (att_matmul) does all six
 * products of forward and backward, and the scores never leave L1.
 *
 * Layout: every product is C (m, 16 * blocks) = alpha * A (m, kdim) @ B (kdim, 16 * blocks).
 * A is read one element at a time (any strides: A^T costs nothing); B and C are rows of
 * 16-float vectors, so B is packed with zero padding to a multiple of 16 columns first.
 * With a causal mask each block of rows skips the keys it cannot see (see att_rows).
 *
 * subtle: the scores are kept transposed, st (keys, queries). A query's softmax then runs
 * down a column, 16 queries side by side in one vector: max, sum and logsumexp are plain
 * vector ops with no horizontal reduction per query, and the causal mask is one compare.
 */
#ifndef TINYGPT_ATTENTION_TILES_H
#define TINYGPT_ATTENTION_TILES_H

#include "vecmath.h"

typedef float att_v16 __attribute__((vector_size(64)));
typedef int32_t att_i16 __attribute__((vector_size(64)));

TG_INLINE att_v16 att_load(const float *x) {
    att_v16 v;
    memcpy(&v, x, sizeof v); /* unaligned vector load */
    return v;
}

TG_INLINE void att_store(float *x, att_v16 v) { memcpy(x, &v, sizeof v); }

TG_INLINE ptrdiff_t att_round16(ptrdiff_t n) { return (n + 15) / 16 * 16; }

/* One head. q, k, v, dout, out: rows of d floats (unit column stride), any row stride. */
typedef struct {
    ptrdiff_t tq, tk, d;
    ptrdiff_t offset; /* tk - tq: query i sits at key position offset + i */
    int causal;
    float scale;
    const float *q, *k, *v;
    ptrdiff_t q_row, k_row, v_row;
    const float *dout, *out; /* backward only */
    ptrdiff_t dout_row, out_row;
    float *lse; /* (tq,) with step lse_step: written by the forward, read by the backward */
    ptrdiff_t lse_step;
    float *o;               /* forward: (tq, d) dense */
    float *dq, *dk, *dv;    /* backward: (tq | tk, d) dense */
} att_head;

/* How many keys query i sees. */
TG_INLINE ptrdiff_t att_visible(const att_head *h, ptrdiff_t i) {
    if (!h->causal) return h->tk;
    ptrdiff_t n = i + h->offset + 1;
    return n < 0 ? 0 : n > h->tk ? h->tk : n;
}

/* The first query that sees key j (tq if none does). */
TG_INLINE ptrdiff_t att_first_query(const att_head *h, ptrdiff_t j) {
    if (!h->causal) return 0;
    ptrdiff_t i = j - h->offset;
    return i < 0 ? 0 : i > h->tq ? h->tq : i;
}

/* ------------------------------------------------------------------ the product */

/* How a causal mask trims rows [i, i + rb) of a product:
 * COLS_FROM: rows are keys, columns queries: from the block of the first query that sees i;
 * KEND: rows are queries, the sum runs over keys: only the first visible(last row) terms;
 * KBEGIN: rows are keys, the sum runs over queries: from the first query that sees row i. */
enum { ATT_COLS_FROM, ATT_KEND, ATT_KBEGIN };

typedef struct {
    ptrdiff_t m, kdim, blocks;
    const float *a;
    ptrdiff_t a_row, a_col;
    const float *b; /* (kdim, 16 * blocks), row stride b_row */
    ptrdiff_t b_row;
    float *c; /* (m, 16 * blocks), row stride c_row */
    ptrdiff_t c_row;
    float alpha;
    int trim;
    const att_head *h;
} att_mm;

/* rb x (16 * cw) results in registers: each step loads cw vectors of B and broadcasts rb
 * elements of A. rb <= 8 and cw <= 2 are compile-time constants after inlining, so acc
 * lives in registers. NOTE: rb must divide 16: a block of query rows then never straddles
 * two of the 16-query column blocks that the softmax treats one at a time. */
TG_INLINE void att_tile(int rb, int cw, const att_mm *p, ptrdiff_t i, ptrdiff_t col,
                        ptrdiff_t k0, ptrdiff_t k1) {
    att_v16 acc[8][2];
    for (int r = 0; r < rb; r++)
        for (int c = 0; c < cw; c++) acc[r][c] = (att_v16){0};
    const float *a = p->a + i * p->a_row;
    const float *b = p->b + col;
    for (ptrdiff_t t = k0; t < k1; t++) {
        att_v16 bv[2];
        for (int c = 0; c < cw; c++) bv[c] = att_load(b + t * p->b_row + 16 * c);
        for (int r = 0; r < rb; r++) {
            float x = a[r * p->a_row + t * p->a_col];
            for (int c = 0; c < cw; c++) acc[r][c] += x * bv[c];
        }
    }
    for (int r = 0; r < rb; r++)
        for (int c = 0; c < cw; c++)
            att_store(p->c + (i + r) * p->c_row + col + 16 * c, acc[r][c] * p->alpha);
}

TG_INLINE void att_rows(int rb, int cw, const att_mm *p, ptrdiff_t i) {
    ptrdiff_t blocks = p->blocks, k0 = 0, k1 = p->kdim, b = 0;
    if (p->trim == ATT_COLS_FROM) b = att_first_query(p->h, i) / 16;
    if (p->trim == ATT_KEND) k1 = att_visible(p->h, i + rb - 1);
    if (p->trim == ATT_KBEGIN) k0 = att_first_query(p->h, i);
    for (; b + cw <= blocks; b += cw) att_tile(rb, cw, p, i, 16 * b, k0, k1);
    for (; b < blocks; b++) att_tile(rb, 1, p, i, 16 * b, k0, k1);
}

TG_INLINE void att_matmul(int rb, int cw, const att_mm *p) {
    ptrdiff_t i = 0;
    for (; i + rb <= p->m; i += rb) att_rows(rb, cw, p, i);
    for (; i < p->m; i++) att_rows(1, cw, p, i);
}

/* ------------------------------------------------------------------ row helpers */

/* dst[:n] = src[:n] in vectors (a libc memcpy call costs more than a row this short). */
TG_INLINE void att_copy(float *dst, const float *src, ptrdiff_t n) {
    ptrdiff_t i = 0;
    for (; i + 16 <= n; i += 16) att_store(dst + i, att_load(src + i));
    for (; i < n; i++) dst[i] = src[i];
}

TG_INLINE void att_zero(float *dst, ptrdiff_t n) {
    ptrdiff_t i = 0;
    for (; i + 16 <= n; i += 16) att_store(dst + i, (att_v16){0});
    for (; i < n; i++) dst[i] = 0;
}

/* A (rows, cols) operand as rows of whole vectors: in place when cols is a multiple of 16,
 * else copied to `pad` (rows, dst_row) with zeros after column cols. Sets *row_stride. */
TG_INLINE const float *att_rows_of16(float *pad, ptrdiff_t dst_row, const float *src,
                                     ptrdiff_t src_row, ptrdiff_t rows, ptrdiff_t cols,
                                     ptrdiff_t *row_stride) {
    if (cols % 16 == 0) {
        *row_stride = src_row;
        return src;
    }
    for (ptrdiff_t r = 0; r < rows; r++) {
        att_copy(pad + r * dst_row, src + r * src_row, cols);
        att_zero(pad + r * dst_row + cols, dst_row - cols);
    }
    *row_stride = dst_row;
    return pad;
}

#if defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define ATT_SHUFFLE 1
#endif
#endif

#ifdef ATT_SHUFFLE
/* One step of a 16 x 16 transpose in 16 vectors: for rows i and i + w (i & w == 0), swap the
 * w x w blocks off the diagonal. Four steps (w = 8, 4, 2, 1) transpose the whole. */
#define ATT_LO(w, l) (((l) & (w)) ? 16 + (l) - (w) : (l))
#define ATT_HI(w, l) (((l) & (w)) ? 16 + (l) : (l) + (w))
#define ATT_LANES(f, w)                                                                   \
    f(w, 0), f(w, 1), f(w, 2), f(w, 3), f(w, 4), f(w, 5), f(w, 6), f(w, 7), f(w, 8),      \
        f(w, 9), f(w, 10), f(w, 11), f(w, 12), f(w, 13), f(w, 14), f(w, 15)
#define ATT_SWAP_BLOCKS(x, w)                                                             \
    for (int i = 0; i < 16; i++) {                                                        \
        if (i & (w)) continue;                                                            \
        att_v16 lo = __builtin_shufflevector(x[i], x[i + (w)], ATT_LANES(ATT_LO, w));     \
        att_v16 hi = __builtin_shufflevector(x[i], x[i + (w)], ATT_LANES(ATT_HI, w));     \
        x[i] = lo;                                                                        \
        x[i + (w)] = hi;                                                                  \
    }

/* dst[c * dst_row + l] = src[l * src_row + c] for a 16 x 16 block */
TG_INLINE void att_transpose16(float *dst, ptrdiff_t dst_row, const float *src,
                               ptrdiff_t src_row) {
    att_v16 x[16];
    for (int i = 0; i < 16; i++) x[i] = att_load(src + i * src_row);
    ATT_SWAP_BLOCKS(x, 8)
    ATT_SWAP_BLOCKS(x, 4)
    ATT_SWAP_BLOCKS(x, 2)
    ATT_SWAP_BLOCKS(x, 1)
    for (int i = 0; i < 16; i++) att_store(dst + i * dst_row, x[i]);
}
#endif

/* dst (cols, dst_row) = src (rows, cols)^T, columns rows.. zero. */
TG_INLINE void att_pack_t(float *dst, ptrdiff_t dst_row, const float *src, ptrdiff_t src_row,
                          ptrdiff_t rows, ptrdiff_t cols) {
    ptrdiff_t r = 0, c = 0, l;
#ifdef ATT_SHUFFLE
    for (; c + 16 <= cols; c += 16)
        for (r = 0; r + 16 <= rows; r += 16)
            att_transpose16(dst + c * dst_row + r, dst_row, src + r * src_row + c, src_row);
#endif
    /* the rest: columns c.. of every row, then rows r.. of columns before c */
    for (ptrdiff_t i = 0; i < rows; i++)
        for (l = c; l < cols; l++) dst[l * dst_row + i] = src[i * src_row + l];
    for (; r < rows; r++)
        for (l = 0; l < c; l++) dst[l * dst_row + r] = src[r * src_row + l];
    for (l = 0; l < cols; l++) att_zero(dst + l * dst_row + rows, dst_row - rows);
}

/* dst (rows, cols) dense = src (rows, src_row); nothing to do when C was written in place. */
TG_INLINE void att_unpack(float *dst, const float *src, ptrdiff_t src_row, ptrdiff_t rows,
                          ptrdiff_t cols) {
    if (dst == src) return;
    for (ptrdiff_t r = 0; r < rows; r++) att_copy(dst + r * cols, src + r * src_row, cols);
}

/* Where a product's (rows, d) result goes: straight to `out` when d is a multiple of 16. */
TG_INLINE float *att_result(float *out, float *pad, ptrdiff_t d, ptrdiff_t *row_stride) {
    *row_stride = d % 16 == 0 ? d : att_round16(d);
    return d % 16 == 0 ? out : pad;
}

typedef float att_v8 __attribute__((vector_size(32)));
typedef float att_v4 __attribute__((vector_size(16)));

/* The 16 lanes added by halving the vector (4 adds deep, not 15). */
TG_INLINE float att_lane_sum(att_v16 v) {
    att_v8 a, b;
    att_v4 c, e;
    memcpy(&a, &v, 32);
    memcpy(&b, (char *)&v + 32, 32);
    a += b;
    memcpy(&c, &a, 16);
    memcpy(&e, (char *)&a + 16, 16);
    c += e;
    return (c[0] + c[2]) + (c[1] + c[3]);
}

/* sum(a * b) over n floats: 16 partial sums, then a scalar tail. */
TG_INLINE float att_dot(const float *a, const float *b, ptrdiff_t n) {
    att_v16 acc = {0};
    ptrdiff_t i = 0;
    for (; i + 16 <= n; i += 16) acc += att_load(a + i) * att_load(b + i);
    float total = att_lane_sum(acc);
    for (; i < n; i++) total += a[i] * b[i];
    return total;
}

/* Lanes of the query block starting at i0 that see key j: i0 + l + offset + 1 > j. */
TG_INLINE att_i16 att_sees(const att_head *h, ptrdiff_t i0, ptrdiff_t j) {
    att_i16 lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    if (!h->causal) return lane | -1; /* all ones */
    return lane + (int32_t)(i0 + h->offset + 1) > (int32_t)j;
}

TG_INLINE att_v16 att_select(att_i16 mask, att_v16 yes, att_v16 no) {
    return (att_v16)((mask & (att_i16)yes) | (~mask & (att_i16)no));
}

TG_INLINE att_v16 att_exp(att_v16 x) {
    for (int l = 0; l < 16; l++) x[l] = tg_exp_f32(x[l]);
    return x;
}

/* How many keys the query block starting at i0 sees (its last query's count). */
TG_INLINE ptrdiff_t att_block_keys(const att_head *h, ptrdiff_t i0) {
    return att_visible(h, (i0 + 15 < h->tq ? i0 + 15 : h->tq - 1));
}

/* ------------------------------------------------------------------ forward */

/* Scratch floats per thread: Q^T, V (padded), scores, output (padded), 1 / sums. */
static ptrdiff_t att_forward_scratch(ptrdiff_t tq, ptrdiff_t tk, ptrdiff_t d) {
    ptrdiff_t tqp = att_round16(tq), dp = att_round16(d);
    return d * tqp + tk * dp + tk * tqp + tq * dp + tqp;
}

/* Softmax down the columns i0.. i0 + 15 of st (keys, queries), rows [0, n): exp(s - max),
 * not yet divided by the sums (the output rows are, later: d numbers a query, not n). */
TG_INLINE void att_softmax_block(const att_head *h, float *st, ptrdiff_t tqp, ptrdiff_t i0,
                                 ptrdiff_t n, float *inv) {
    att_v16 ninf = {0}, best, total = {0};
    ninf -= INFINITY;
    best = ninf;
    for (ptrdiff_t j = 0; j < n; j++) {
        att_v16 x = att_select(att_sees(h, i0, j), att_load(st + j * tqp + i0), ninf);
        att_store(st + j * tqp + i0, x);
        best = att_select(x > best, x, best);
    }
    for (ptrdiff_t j = 0; j < n; j++) { /* the max subtracted: exp cannot overflow */
        att_v16 e = att_exp(att_load(st + j * tqp + i0) - best);
        att_store(st + j * tqp + i0, e);
        total += e;
    }
    for (int l = 0; l < 16 && i0 + l < h->tq; l++) {
        int sees = att_visible(h, i0 + l) > 0;
        h->lse[(i0 + l) * h->lse_step] = sees ? best[l] + logf(total[l]) : NAN;
        inv[i0 + l] = 1.0f / total[l];
    }
}

TG_INLINE void att_forward_body(int rb, int cw, const att_head *h, float *w) {
    ptrdiff_t tq = h->tq, tk = h->tk, d = h->d, v_row, o_row, i, t;
    ptrdiff_t tqp = att_round16(tq), dp = att_round16(d);
    float *qt = w;              /* (d, tqp) */
    float *pad = qt + d * tqp;  /* (tk, dp): v, when d is no multiple of 16 */
    float *st = pad + tk * dp;  /* (tk, tqp): scores, then exp(scores - max) */
    float *inv = st + tk * tqp; /* (tqp,): 1 / sum of each query's exps */
    float *o = att_result(h->o, inv + tqp, d, &o_row); /* (tq, o_row) */
    att_pack_t(qt, tqp, h->q, h->q_row, tq, d);
    const float *v = att_rows_of16(pad, dp, h->v, h->v_row, tk, d, &v_row);
    att_mm scores = {tk, d, tqp / 16, h->k, h->k_row, 1, qt, tqp, st, tqp, h->scale,
                     ATT_COLS_FROM, h};
    att_matmul(rb, cw, &scores);
    for (i = 0; i < tq; i += 16) att_softmax_block(h, st, tqp, i, att_block_keys(h, i), inv);
    att_mm pv = {tq, tk, dp / 16, st, 1, tqp, v, v_row, o, o_row, 1.0f, ATT_KEND, h};
    att_matmul(rb, cw, &pv);
    att_unpack(h->o, o, o_row, tq, d);
    for (i = 0; i < tq; i++) {
        float scale = att_visible(h, i) > 0 ? inv[i] : NAN; /* sees no key: nan, as NumPy */
        for (t = 0; t < d; t++) h->o[i * d + t] *= scale;
    }
}

/* ------------------------------------------------------------------ backward */

/* Scratch floats per thread: Q^T, dout^T, P^T, dS^T; K, Q, dout, one result (padded);
 * lse and delta. */
static ptrdiff_t att_backward_scratch(ptrdiff_t tq, ptrdiff_t tk, ptrdiff_t d) {
    ptrdiff_t tqp = att_round16(tq), dp = att_round16(d);
    return 2 * d * tqp + 2 * tk * tqp + tk * dp + 2 * tq * dp + (tq > tk ? tq : tk) * dp
           + 2 * tqp;
}

/* Columns i0.. i0 + 15: p = exp(s - lse), ds = p * (dp - delta) * scale down rows [0, n),
 * where delta = rowsum(dout * out) is the softmax backward's correction; rows n.. zero. */
TG_INLINE void att_grad_block(const att_head *h, float *pt, float *dst, ptrdiff_t tqp,
                              ptrdiff_t i0, ptrdiff_t n, const float *lse,
                              const float *delta) {
    att_v16 l = att_load(lse + i0), g = att_load(delta + i0), zero = {0};
    for (ptrdiff_t j = 0; j < n; j++) {
        att_i16 sees = att_sees(h, i0, j);
        att_v16 p = att_select(sees, att_exp(att_load(pt + j * tqp + i0) - l), zero);
        att_v16 ds = p * (att_load(dst + j * tqp + i0) - g) * h->scale;
        att_store(pt + j * tqp + i0, p);
        att_store(dst + j * tqp + i0, att_select(sees, ds, zero));
    }
    for (ptrdiff_t j = n; j < h->tk; j++) { /* read by dv and dk's blocks of rows */
        att_store(pt + j * tqp + i0, zero);
        att_store(dst + j * tqp + i0, zero);
    }
}

/* pt = exp(k q^T * scale - lse), dpt = v dout^T, dst = pt * (dpt - delta) * scale;
 * dq = ds k, dk = ds^T q, dv = p^T dout. */
TG_INLINE void att_backward_body(int rb, int cw, const att_head *h, float *w) {
    ptrdiff_t tq = h->tq, tk = h->tk, d = h->d, k_row, q_row, g_row, c_row, i;
    ptrdiff_t tqp = att_round16(tq), dp = att_round16(d);
    float *qt = w;                  /* (d, tqp) */
    float *gt = qt + d * tqp;       /* (d, tqp): dout^T */
    float *pt = gt + d * tqp;       /* (tk, tqp): scores, then probabilities */
    float *dst = pt + tk * tqp;     /* (tk, tqp): dp, then ds */
    float *k_pad = dst + tk * tqp;  /* (tk, dp): k, q, dout when d is no multiple of 16 */
    float *q_pad = k_pad + tk * dp; /* (tq, dp) */
    float *g_pad = q_pad + tq * dp; /* (tq, dp) */
    float *c_pad = g_pad + tq * dp; /* (max(tq, tk), dp): dq, dv, dk in turn */
    float *lse = c_pad + (tq > tk ? tq : tk) * dp; /* (tqp,) */
    float *delta = lse + tqp;                       /* (tqp,) */
    att_pack_t(qt, tqp, h->q, h->q_row, tq, d);
    att_pack_t(gt, tqp, h->dout, h->dout_row, tq, d);
    const float *k = att_rows_of16(k_pad, dp, h->k, h->k_row, tk, d, &k_row);
    const float *q = att_rows_of16(q_pad, dp, h->q, h->q_row, tq, d, &q_row);
    const float *g = att_rows_of16(g_pad, dp, h->dout, h->dout_row, tq, d, &g_row);
    for (i = 0; i < tqp; i++) {
        lse[i] = i < tq ? h->lse[i * h->lse_step] : 0;
        delta[i] = i < tq ? att_dot(g + i * g_row, h->out + i * h->out_row, d) : 0;
    }
    att_mm scores = {tk, d, tqp / 16, h->k, h->k_row, 1, qt, tqp, pt, tqp, h->scale,
                     ATT_COLS_FROM, h};
    att_matmul(rb, cw, &scores);
    att_mm dprob = {tk, d, tqp / 16, h->v, h->v_row, 1, gt, tqp, dst, tqp, 1.0f,
                    ATT_COLS_FROM, h};
    att_matmul(rb, cw, &dprob);
    for (i = 0; i < tq; i += 16)
        att_grad_block(h, pt, dst, tqp, i, att_block_keys(h, i), lse, delta);
    float *c = att_result(h->dq, c_pad, d, &c_row);
    att_mm dq = {tq, tk, dp / 16, dst, 1, tqp, k, k_row, c, c_row, 1.0f, ATT_KEND, h};
    att_matmul(rb, cw, &dq);
    att_unpack(h->dq, c, c_row, tq, d);
    c = att_result(h->dv, c_pad, d, &c_row);
    att_mm dv = {tk, tq, dp / 16, pt, tqp, 1, g, g_row, c, c_row, 1.0f, ATT_KBEGIN, h};
    att_matmul(rb, cw, &dv);
    att_unpack(h->dv, c, c_row, tk, d);
    c = att_result(h->dk, c_pad, d, &c_row);
    att_mm dk = {tk, tq, dp / 16, dst, tqp, 1, q, q_row, c, c_row, 1.0f, ATT_KBEGIN, h};
    att_matmul(rb, cw, &dk);
    att_unpack(h->dk, c, c_row, tk, d);
}

/* ------------------------------------------------------------------ dispatch */

/* Register blocking per target (rows, vectors of 16 columns): AVX-512 keeps 8 x 2 results in
 * 16 of its 32 zmm registers; AVX2 4 x 1 in 8 of its 16 ymm, baseline 2 x 1 in 8 xmm. */
#define ATT_VARIANTS(name, base_rb, base_cw, avx2_rb, avx2_cw, avx512_rb, avx512_cw)      \
    TG_STATIC void name##_base(const att_head *h, float *w) {                            \
        name##_body(base_rb, base_cw, h, w);                                              \
    }                                                                                    \
    TG_AVX2 TG_STATIC void name##_avx2(const att_head *h, float *w) {                    \
        name##_body(avx2_rb, avx2_cw, h, w);                                              \
    }                                                                                    \
    TG_AVX512 TG_STATIC void name##_avx512(const att_head *h, float *w) {                \
        name##_body(avx512_rb, avx512_cw, h, w);                                          \
    }                                                                                    \
    TG_STATIC void name(const att_head *h, float *w) {                                   \
        int level = tg_level();                                                          \
        if (level == 2) name##_avx512(h, w);                                             \
        else if (level == 1) name##_avx2(h, w);                                          \
        else name##_base(h, w);                                                          \
    }

#if !TG_DISPATCH
#define TG_AVX2
#define TG_AVX512
#endif

ATT_VARIANTS(att_forward, 2, 1, 4, 1, 8, 2)
ATT_VARIANTS(att_backward, 2, 1, 4, 1, 8, 2)

/* Scratch: 64-byte aligned, so that packed rows (multiples of 16 floats) are too. */
static float *att_alloc(ptrdiff_t floats) {
    size_t bytes = ((size_t)floats * sizeof(float) + 63) / 64 * 64;
    return (float *)aligned_alloc(64, bytes > 0 ? bytes : 64);
}

static void att_free(float *w) { free(w); }

#endif
