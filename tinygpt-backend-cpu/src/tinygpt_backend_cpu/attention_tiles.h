/* Fused attention of one float32 head whose whole score matrix fits in cache (the GPT
 * training shape: T = 64, D = 32), forward and backward, compiled for baseline x86-64, AVX2
 * and AVX-512 and picked at run time like vecmath.h (whose exp and CPU check it uses).
 *
 * Why not BLAS: per head the work is a few 64 x 64 x 32 products, where a gemm call costs
 * more in packing and dispatch than in arithmetic, and the softmax between two gemms ran as
 * four separate row passes. Here one small register-blocked product (att_matmul) does all six
 * products of forward and backward, and the scores never leave L1.
 *
 * Layout: every product is C (m, W * blocks) = alpha * A (m, kdim) @ B (kdim, W * blocks),
 * W the lanes of one vector register (16 AVX-512, 8 AVX2, 4 SSE; attention_tiles_body.h is
 * compiled once per width). A is read one element at a time (any strides: A^T costs
 * nothing); B and C are rows of W-float vectors, so B is packed with zero padding to a
 * multiple of W columns first. With a causal mask each block of rows skips the keys it
 * cannot see (see att_rows).
 *
 * subtle: the scores are kept transposed, st (keys, queries). A query's softmax then runs
 * down a column, W queries side by side in one vector: max, sum and logsumexp are plain
 * vector ops with no horizontal reduction per query, and the causal mask is one compare.
 */
#ifndef TINYGPT_ATTENTION_TILES_H
#define TINYGPT_ATTENTION_TILES_H

#include "vecmath.h"

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
    const float *b; /* (kdim, W * blocks), row stride b_row */
    ptrdiff_t b_row;
    float *c; /* (m, W * blocks), row stride c_row */
    ptrdiff_t c_row;
    float alpha;
    int trim;
    const att_head *h;
} att_mm;

#if defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define ATT_SHUFFLE 1
#endif
#endif

#ifdef ATT_SHUFFLE
/* the lane indices of __builtin_shufflevector for one transpose step (see att_transpose) */
#define ATT_LO(w, l) (((l) & (w)) ? ATT_W + (l) - (w) : (l))
#define ATT_HI(w, l) (((l) & (w)) ? ATT_W + (l) : (l) + (w))
#define ATT_LANES4(f, w) f(w, 0), f(w, 1), f(w, 2), f(w, 3)
#define ATT_LANES8(f, w) ATT_LANES4(f, w), f(w, 4), f(w, 5), f(w, 6), f(w, 7)
#define ATT_LANES16(f, w)                                                                 \
    ATT_LANES8(f, w), f(w, 8), f(w, 9), f(w, 10), f(w, 11), f(w, 12), f(w, 13), f(w, 14), \
        f(w, 15)
#endif

/* ------------------------------------------------------------------ one copy per width */

#define ATT_W 16
#define ATT_NAME(name) name##_w16
#define ATT_LANES ATT_LANES16
#include "attention_tiles_body.h"
#undef ATT_W
#undef ATT_NAME
#undef ATT_LANES

#define ATT_W 8
#define ATT_NAME(name) name##_w8
#define ATT_LANES ATT_LANES8
#include "attention_tiles_body.h"
#undef ATT_W
#undef ATT_NAME
#undef ATT_LANES

#define ATT_W 4
#define ATT_NAME(name) name##_w4
#define ATT_LANES ATT_LANES4
#include "attention_tiles_body.h"
#undef ATT_W
#undef ATT_NAME
#undef ATT_LANES

/* Scratch floats per thread, for any width (rounding to 16 covers 8 and 4).
 * forward: Q^T, V (padded), scores, output (padded), 1 / sums. */
static ptrdiff_t att_forward_scratch(ptrdiff_t tq, ptrdiff_t tk, ptrdiff_t d) {
    ptrdiff_t tqp = att_round_w16(tq), dp = att_round_w16(d);
    return d * tqp + tk * dp + tk * tqp + tq * dp + tqp;
}

/* backward: Q^T, dout^T, P^T, dS^T; K, Q, dout, one result (padded); lse and delta. */
static ptrdiff_t att_backward_scratch(ptrdiff_t tq, ptrdiff_t tk, ptrdiff_t d) {
    ptrdiff_t tqp = att_round_w16(tq), dp = att_round_w16(d);
    return 2 * d * tqp + 2 * tk * tqp + tk * dp + 2 * tq * dp + (tq > tk ? tq : tk) * dp
           + 2 * tqp;
}

/* ------------------------------------------------------------------ dispatch */

/* Width and register blocking per target (rows x vectors of W columns): AVX-512 keeps 8 x 2
 * results in 16 of its 32 zmm; AVX2 ATT_AVX2_BLOCK in its 16 ymm; SSE 4 x 1 in 4 of 16 xmm. */
#define ATT_VARIANTS(name, base_rb, base_cw, avx2_rb, avx2_cw, avx512_rb, avx512_cw)      \
    TG_STATIC void name##_base(const att_head *h, float *w) {                            \
        name##_body_w4(base_rb, base_cw, h, w);                                           \
    }                                                                                    \
    TG_AVX2 TG_STATIC void name##_avx2(const att_head *h, float *w) {                    \
        name##_body_w8(avx2_rb, avx2_cw, h, w);                                           \
    }                                                                                    \
    TG_AVX512 TG_STATIC void name##_avx512(const att_head *h, float *w) {                \
        name##_body_w16(avx512_rb, avx512_cw, h, w);                                      \
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

#ifndef ATT_AVX2_RB
#define ATT_AVX2_RB 4
#define ATT_AVX2_CW 2
#endif
#ifndef ATT_BASE_RB
#define ATT_BASE_RB 4
#define ATT_BASE_CW 1
#endif
ATT_VARIANTS(att_forward, ATT_BASE_RB, ATT_BASE_CW, ATT_AVX2_RB, ATT_AVX2_CW, 8, 2)
ATT_VARIANTS(att_backward, ATT_BASE_RB, ATT_BASE_CW, ATT_AVX2_RB, ATT_AVX2_CW, 8, 2)

/* Scratch: 64-byte aligned, so that packed rows (multiples of 16 floats) are too. */
static float *att_alloc(ptrdiff_t floats) {
    size_t bytes = ((size_t)floats * sizeof(float) + 63) / 64 * 64;
    return (float *)aligned_alloc(64, bytes > 0 ? bytes : 64);
}

static void att_free(float *w) { free(w); }

#endif
