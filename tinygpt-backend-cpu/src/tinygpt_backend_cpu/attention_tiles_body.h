/* The lane-width dependent part of attention_tiles.h, included once per width W (ATT_W):
 * 16 for AVX-512, 8 for AVX2, 4 for baseline SSE, each the width of one register. Every
 * name gets the width as a suffix (ATT_NAME), so the three copies live side by side.
 *
 * Why one copy per width: a block is W queries side by side in one vector. GCC splits a
 * vector wider than the target's registers into pieces that it keeps on the stack, so the
 * 16-lane code run on AVX2 (two ymm per vector) was slower than on plain SSE; at the width of
 * the register every vector stays in one.
 *
 * Expects ATT_W (4, 8 or 16) and ATT_NAME(name) (name##_w<W>); undefines nothing.
 */

typedef float ATT_NAME(att_vec) __attribute__((vector_size(4 * ATT_W)));
typedef int32_t ATT_NAME(att_ivec) __attribute__((vector_size(4 * ATT_W)));
#define AV ATT_NAME(att_vec)
#define AI ATT_NAME(att_ivec)

TG_INLINE AV ATT_NAME(att_load)(const float *x) {
    AV v;
    memcpy(&v, x, sizeof v); /* unaligned vector load */
    return v;
}

TG_INLINE void ATT_NAME(att_store)(float *x, AV v) { memcpy(x, &v, sizeof v); }

TG_INLINE AV ATT_NAME(att_splat)(float x) { return (AV){0} + x; }

/* n rounded up to whole vectors */
TG_INLINE ptrdiff_t ATT_NAME(att_round)(ptrdiff_t n) { return (n + ATT_W - 1) / ATT_W * ATT_W; }

/* ------------------------------------------------------------------ the product */

/* rb x (W * cw) results in registers: each step loads cw vectors of B and broadcasts rb
 * elements of A. rb <= 8 and cw <= 2 are compile-time constants after inlining, so acc
 * lives in registers. NOTE: rb must divide W: a block of query rows then never straddles
 * two of the W-query column blocks that the softmax treats one at a time. */
TG_INLINE void ATT_NAME(att_tile)(int rb, int cw, const att_mm *p, ptrdiff_t i, ptrdiff_t col,
                                  ptrdiff_t k0, ptrdiff_t k1) {
    AV acc[8][2];
    for (int r = 0; r < rb; r++)
        for (int c = 0; c < cw; c++) acc[r][c] = (AV){0};
    const float *a = p->a + i * p->a_row;
    const float *b = p->b + col;
    for (ptrdiff_t t = k0; t < k1; t++) {
        AV bv[2];
        for (int c = 0; c < cw; c++) bv[c] = ATT_NAME(att_load)(b + t * p->b_row + ATT_W * c);
        for (int r = 0; r < rb; r++) {
            float x = a[r * p->a_row + t * p->a_col];
            for (int c = 0; c < cw; c++) acc[r][c] += x * bv[c];
        }
    }
    for (int r = 0; r < rb; r++)
        for (int c = 0; c < cw; c++)
            ATT_NAME(att_store)(p->c + (i + r) * p->c_row + col + ATT_W * c, acc[r][c] * p->alpha);
}

TG_INLINE void ATT_NAME(att_rows)(int rb, int cw, const att_mm *p, ptrdiff_t i) {
    ptrdiff_t blocks = p->blocks, k0 = 0, k1 = p->kdim, b = 0;
    if (p->trim == ATT_COLS_FROM) b = att_first_query(p->h, i) / ATT_W;
    if (p->trim == ATT_KEND) k1 = att_visible(p->h, i + rb - 1);
    if (p->trim == ATT_KBEGIN) k0 = att_first_query(p->h, i);
    for (; b + cw <= blocks; b += cw) ATT_NAME(att_tile)(rb, cw, p, i, ATT_W * b, k0, k1);
    for (; b < blocks; b++) ATT_NAME(att_tile)(rb, 1, p, i, ATT_W * b, k0, k1);
}

TG_INLINE void ATT_NAME(att_matmul)(int rb, int cw, const att_mm *p) {
    ptrdiff_t i = 0;
    for (; i + rb <= p->m; i += rb) ATT_NAME(att_rows)(rb, cw, p, i);
    for (; i < p->m; i++) ATT_NAME(att_rows)(1, cw, p, i);
}

/* ------------------------------------------------------------------ row helpers */

/* dst[:n] = src[:n] in vectors (a libc memcpy call costs more than a row this short). */
TG_INLINE void ATT_NAME(att_copy)(float *dst, const float *src, ptrdiff_t n) {
    ptrdiff_t i = 0;
    for (; i + ATT_W <= n; i += ATT_W) ATT_NAME(att_store)(dst + i, ATT_NAME(att_load)(src + i));
    for (; i < n; i++) dst[i] = src[i];
}

TG_INLINE void ATT_NAME(att_zero)(float *dst, ptrdiff_t n) {
    ptrdiff_t i = 0;
    for (; i + ATT_W <= n; i += ATT_W) ATT_NAME(att_store)(dst + i, (AV){0});
    for (; i < n; i++) dst[i] = 0;
}

/* A (rows, cols) operand as rows of whole vectors: in place when cols is a multiple of W,
 * else copied to `pad` (rows, dst_row) with zeros after column cols. Sets *row_stride. */
TG_INLINE const float *ATT_NAME(att_whole_rows)(float *pad, ptrdiff_t dst_row, const float *src,
                                                ptrdiff_t src_row, ptrdiff_t rows,
                                                ptrdiff_t cols, ptrdiff_t *row_stride) {
    if (cols % ATT_W == 0) {
        *row_stride = src_row;
        return src;
    }
    for (ptrdiff_t r = 0; r < rows; r++) {
        ATT_NAME(att_copy)(pad + r * dst_row, src + r * src_row, cols);
        ATT_NAME(att_zero)(pad + r * dst_row + cols, dst_row - cols);
    }
    *row_stride = dst_row;
    return pad;
}

#ifdef ATT_SHUFFLE
/* One step of a W x W transpose in W vectors: for rows i and i + w (i & w == 0), swap the
 * w x w blocks off the diagonal. Steps w = W/2, ..., 2, 1 transpose the whole. */
#define ATT_SWAP_STEP(x, w)                                                                 \
    for (int i = 0; i < ATT_W; i++) {                                                       \
        if (i & (w)) continue;                                                              \
        AV lo = __builtin_shufflevector(x[i], x[i + (w)], ATT_LANES(ATT_LO, w));            \
        AV hi = __builtin_shufflevector(x[i], x[i + (w)], ATT_LANES(ATT_HI, w));            \
        x[i] = lo;                                                                          \
        x[i + (w)] = hi;                                                                    \
    }

/* dst[c * dst_row + l] = src[l * src_row + c] for a W x W block */
TG_INLINE void ATT_NAME(att_transpose)(float *dst, ptrdiff_t dst_row, const float *src,
                                       ptrdiff_t src_row) {
    AV x[ATT_W];
    for (int i = 0; i < ATT_W; i++) x[i] = ATT_NAME(att_load)(src + i * src_row);
#if ATT_W == 16
    ATT_SWAP_STEP(x, 8)
#endif
#if ATT_W >= 8
    ATT_SWAP_STEP(x, 4)
#endif
    ATT_SWAP_STEP(x, 2)
    ATT_SWAP_STEP(x, 1)
    for (int i = 0; i < ATT_W; i++) ATT_NAME(att_store)(dst + i * dst_row, x[i]);
}
#undef ATT_SWAP_STEP
#endif

/* dst (cols, dst_row) = src (rows, cols)^T, columns rows.. zero. */
TG_INLINE void ATT_NAME(att_pack_t)(float *dst, ptrdiff_t dst_row, const float *src,
                                    ptrdiff_t src_row, ptrdiff_t rows, ptrdiff_t cols) {
    ptrdiff_t r = 0, c = 0, l;
#ifdef ATT_SHUFFLE
    for (; c + ATT_W <= cols; c += ATT_W)
        for (r = 0; r + ATT_W <= rows; r += ATT_W)
            ATT_NAME(att_transpose)(dst + c * dst_row + r, dst_row, src + r * src_row + c,
                                    src_row);
#endif
    /* the rest: columns c.. of every row, then rows r.. of columns before c */
    for (ptrdiff_t i = 0; i < rows; i++)
        for (l = c; l < cols; l++) dst[l * dst_row + i] = src[i * src_row + l];
    for (; r < rows; r++)
        for (l = 0; l < c; l++) dst[l * dst_row + r] = src[r * src_row + l];
    for (l = 0; l < cols; l++) ATT_NAME(att_zero)(dst + l * dst_row + rows, dst_row - rows);
}

/* dst (rows, cols) dense = src (rows, src_row); nothing to do when C was written in place. */
TG_INLINE void ATT_NAME(att_unpack)(float *dst, const float *src, ptrdiff_t src_row,
                                    ptrdiff_t rows, ptrdiff_t cols) {
    if (dst == src) return;
    for (ptrdiff_t r = 0; r < rows; r++)
        ATT_NAME(att_copy)(dst + r * cols, src + r * src_row, cols);
}

/* Where a product's (rows, d) result goes: straight to `out` when d is a multiple of W. */
TG_INLINE float *ATT_NAME(att_result)(float *out, float *pad, ptrdiff_t d,
                                      ptrdiff_t *row_stride) {
    *row_stride = d % ATT_W == 0 ? d : ATT_NAME(att_round)(d);
    return d % ATT_W == 0 ? out : pad;
}

/* sum(a * b) over n floats: W partial sums added pairwise, then a scalar tail. */
TG_INLINE float ATT_NAME(att_dot)(const float *a, const float *b, ptrdiff_t n) {
    AV acc = {0};
    ptrdiff_t i = 0;
    for (; i + ATT_W <= n; i += ATT_W) acc += ATT_NAME(att_load)(a + i) * ATT_NAME(att_load)(b + i);
    float lanes[ATT_W];
    memcpy(lanes, &acc, sizeof lanes);
    for (int w = ATT_W / 2; w > 0; w /= 2)
        for (int l = 0; l < w; l++) lanes[l] += lanes[l + w];
    float total = lanes[0];
    for (; i < n; i++) total += a[i] * b[i];
    return total;
}

/* Lanes of the query block starting at i0 that see key j: i0 + l + offset + 1 > j. */
TG_INLINE AI ATT_NAME(att_sees)(const att_head *h, ptrdiff_t i0, ptrdiff_t j) {
    AI lane;
    for (int l = 0; l < ATT_W; l++) lane[l] = l;
    if (!h->causal) return lane | -1; /* all ones */
    return lane + (int32_t)(i0 + h->offset + 1) > (int32_t)j;
}

TG_INLINE AV ATT_NAME(att_select)(AI mask, AV yes, AV no) {
    return (AV)((mask & (AI)yes) | (~mask & (AI)no));
}

/* tg_exp_f32 (vecmath.h) on a whole vector: the same steps, as vector operations. */
TG_INLINE AV ATT_NAME(att_exp)(AV x) {
    AV high = ATT_NAME(att_splat)(88.72283f), low = ATT_NAME(att_splat)(-86.0f);
    AV xc = ATT_NAME(att_select)(x > high, high, x);
    xc = ATT_NAME(att_select)(xc < low, low, xc);
    AV t = xc * 1.44269504088896341f + 12582912.0f;
    AV n = t - 12582912.0f;
    AV r = xc - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    AV p = ATT_NAME(att_splat)(1.9875691500e-4f);
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    AV y = p * r * r + r + 1.0f;
    AI bits = ((AI)t - 0x4B400000 + 126) << 23; /* 2^(n-1), as in tg_exp_f32 */
    y = y * (AV)bits * 2.0f;
    y = ATT_NAME(att_select)(x > high, ATT_NAME(att_splat)(INFINITY), y);
    return ATT_NAME(att_select)(x < low, (AV){0}, y);
}

/* How many keys the query block starting at i0 sees (its last query's count). */
TG_INLINE ptrdiff_t ATT_NAME(att_block_keys)(const att_head *h, ptrdiff_t i0) {
    return att_visible(h, (i0 + ATT_W - 1 < h->tq ? i0 + ATT_W - 1 : h->tq - 1));
}

/* ------------------------------------------------------------------ forward */

/* Softmax down the columns i0.. i0 + W - 1 of st (keys, queries), rows [0, n): exp(s - max),
 * not yet divided by the sums (the output rows are, later: d numbers a query, not n). */
TG_INLINE void ATT_NAME(att_softmax_block)(const att_head *h, float *st, ptrdiff_t tqp,
                                           ptrdiff_t i0, ptrdiff_t n, float *inv) {
    AV ninf = ATT_NAME(att_splat)(-INFINITY), best = ninf, total = {0};
    for (ptrdiff_t j = 0; j < n; j++) {
        AV x = ATT_NAME(att_select)(ATT_NAME(att_sees)(h, i0, j),
                                    ATT_NAME(att_load)(st + j * tqp + i0), ninf);
        ATT_NAME(att_store)(st + j * tqp + i0, x);
        best = ATT_NAME(att_select)(x > best, x, best);
    }
    /* a query that sees no key has max -inf: 0 instead, so its exps are exp(-inf) = 0 */
    best = ATT_NAME(att_select)(best == ninf, (AV){0}, best);
    for (ptrdiff_t j = 0; j < n; j++) { /* the max subtracted: exp cannot overflow */
        AV e = ATT_NAME(att_exp)(ATT_NAME(att_load)(st + j * tqp + i0) - best);
        ATT_NAME(att_store)(st + j * tqp + i0, e);
        total += e;
    }
    for (int l = 0; l < ATT_W && i0 + l < h->tq; l++) {
        int sees = att_visible(h, i0 + l) > 0;
        h->lse[(i0 + l) * h->lse_step] = sees ? best[l] + logf(total[l]) : -INFINITY;
        inv[i0 + l] = 1.0f / total[l];
    }
}

TG_INLINE void ATT_NAME(att_forward_body)(int rb, int cw, const att_head *h, float *w) {
    ptrdiff_t tq = h->tq, tk = h->tk, d = h->d, v_row, o_row, i, t;
    ptrdiff_t tqp = ATT_NAME(att_round)(tq), dp = ATT_NAME(att_round)(d);
    float *qt = w;              /* (d, tqp) */
    float *pad = qt + d * tqp;  /* (tk, dp): v, when d is no multiple of W */
    float *st = pad + tk * dp;  /* (tk, tqp): scores, then exp(scores - max) */
    float *inv = st + tk * tqp; /* (tqp,): 1 / sum of each query's exps */
    float *o = ATT_NAME(att_result)(h->o, inv + tqp, d, &o_row); /* (tq, o_row) */
    ATT_NAME(att_pack_t)(qt, tqp, h->q, h->q_row, tq, d);
    const float *v = ATT_NAME(att_whole_rows)(pad, dp, h->v, h->v_row, tk, d, &v_row);
    att_mm scores = {tk, d, tqp / ATT_W, h->k, h->k_row, 1, qt, tqp, st, tqp, h->scale,
                     ATT_COLS_FROM, h};
    ATT_NAME(att_matmul)(rb, cw, &scores);
    for (i = 0; i < tq; i += ATT_W)
        ATT_NAME(att_softmax_block)(h, st, tqp, i, ATT_NAME(att_block_keys)(h, i), inv);
    att_mm pv = {tq, tk, dp / ATT_W, st, 1, tqp, v, v_row, o, o_row, 1.0f, ATT_KEND, h};
    ATT_NAME(att_matmul)(rb, cw, &pv);
    ATT_NAME(att_unpack)(h->o, o, o_row, tq, d);
    for (i = 0; i < tq; i++) {
        float scale = att_visible(h, i) > 0 ? inv[i] : 0.0f; /* sees no key: 0, as PyTorch */
        for (t = 0; t < d; t++) h->o[i * d + t] *= scale;
    }
}

/* ------------------------------------------------------------------ backward */

/* Columns i0.. i0 + W - 1: p = exp(s - lse), ds = p * (dp - delta) * scale down rows
 * [0, n), where delta = rowsum(dout * out) is the softmax backward's correction; rows n..
 * zero. */
TG_INLINE void ATT_NAME(att_grad_block)(const att_head *h, float *pt, float *dst, ptrdiff_t tqp,
                                        ptrdiff_t i0, ptrdiff_t n, const float *lse,
                                        const float *delta) {
    AV l = ATT_NAME(att_load)(lse + i0), g = ATT_NAME(att_load)(delta + i0), zero = {0};
    for (ptrdiff_t j = 0; j < n; j++) {
        AI sees = ATT_NAME(att_sees)(h, i0, j);
        AV p = ATT_NAME(att_select)(
            sees, ATT_NAME(att_exp)(ATT_NAME(att_load)(pt + j * tqp + i0) - l), zero);
        AV ds = p * (ATT_NAME(att_load)(dst + j * tqp + i0) - g) * h->scale;
        ATT_NAME(att_store)(pt + j * tqp + i0, p);
        ATT_NAME(att_store)(dst + j * tqp + i0, ATT_NAME(att_select)(sees, ds, zero));
    }
    for (ptrdiff_t j = n; j < h->tk; j++) { /* read by dv and dk's blocks of rows */
        ATT_NAME(att_store)(pt + j * tqp + i0, zero);
        ATT_NAME(att_store)(dst + j * tqp + i0, zero);
    }
}

/* pt = exp(k q^T * scale - lse), dpt = v dout^T, dst = pt * (dpt - delta) * scale;
 * dq = ds k, dk = ds^T q, dv = p^T dout. */
TG_INLINE void ATT_NAME(att_backward_body)(int rb, int cw, const att_head *h, float *w) {
    ptrdiff_t tq = h->tq, tk = h->tk, d = h->d, k_row, q_row, g_row, c_row, i;
    ptrdiff_t tqp = ATT_NAME(att_round)(tq), dp = ATT_NAME(att_round)(d);
    float *qt = w;                  /* (d, tqp) */
    float *gt = qt + d * tqp;       /* (d, tqp): dout^T */
    float *pt = gt + d * tqp;       /* (tk, tqp): scores, then probabilities */
    float *dst = pt + tk * tqp;     /* (tk, tqp): dp, then ds */
    float *k_pad = dst + tk * tqp;  /* (tk, dp): k, q, dout when d is no multiple of W */
    float *q_pad = k_pad + tk * dp; /* (tq, dp) */
    float *g_pad = q_pad + tq * dp; /* (tq, dp) */
    float *c_pad = g_pad + tq * dp; /* (max(tq, tk), dp): dq, dv, dk in turn */
    float *lse = c_pad + (tq > tk ? tq : tk) * dp; /* (tqp,) */
    float *delta = lse + tqp;                       /* (tqp,) */
    ATT_NAME(att_pack_t)(qt, tqp, h->q, h->q_row, tq, d);
    ATT_NAME(att_pack_t)(gt, tqp, h->dout, h->dout_row, tq, d);
    const float *k = ATT_NAME(att_whole_rows)(k_pad, dp, h->k, h->k_row, tk, d, &k_row);
    const float *q = ATT_NAME(att_whole_rows)(q_pad, dp, h->q, h->q_row, tq, d, &q_row);
    const float *g = ATT_NAME(att_whole_rows)(g_pad, dp, h->dout, h->dout_row, tq, d, &g_row);
    for (i = 0; i < tqp; i++) {
        lse[i] = i < tq ? h->lse[i * h->lse_step] : 0;
        delta[i] = i < tq ? ATT_NAME(att_dot)(g + i * g_row, h->out + i * h->out_row, d) : 0;
    }
    att_mm scores = {tk, d, tqp / ATT_W, h->k, h->k_row, 1, qt, tqp, pt, tqp, h->scale,
                     ATT_COLS_FROM, h};
    ATT_NAME(att_matmul)(rb, cw, &scores);
    att_mm dprob = {tk, d, tqp / ATT_W, h->v, h->v_row, 1, gt, tqp, dst, tqp, 1.0f,
                    ATT_COLS_FROM, h};
    ATT_NAME(att_matmul)(rb, cw, &dprob);
    for (i = 0; i < tq; i += ATT_W)
        ATT_NAME(att_grad_block)(h, pt, dst, tqp, i, ATT_NAME(att_block_keys)(h, i), lse, delta);
    float *c = ATT_NAME(att_result)(h->dq, c_pad, d, &c_row);
    att_mm dq = {tq, tk, dp / ATT_W, dst, 1, tqp, k, k_row, c, c_row, 1.0f, ATT_KEND, h};
    ATT_NAME(att_matmul)(rb, cw, &dq);
    ATT_NAME(att_unpack)(h->dq, c, c_row, tq, d);
    c = ATT_NAME(att_result)(h->dv, c_pad, d, &c_row);
    att_mm dv = {tk, tq, dp / ATT_W, pt, tqp, 1, g, g_row, c, c_row, 1.0f, ATT_KBEGIN, h};
    ATT_NAME(att_matmul)(rb, cw, &dv);
    ATT_NAME(att_unpack)(h->dv, c, c_row, tk, d);
    c = ATT_NAME(att_result)(h->dk, c_pad, d, &c_row);
    att_mm dk = {tk, tq, dp / ATT_W, dst, tqp, 1, q, q_row, c, c_row, 1.0f, ATT_KBEGIN, h};
    ATT_NAME(att_matmul)(rb, cw, &dk);
    ATT_NAME(att_unpack)(h->dk, c, c_row, tk, d);
}

#undef AV
#undef AI
