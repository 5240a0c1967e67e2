/* float32 layer norm over runs of dense rows, forward and backward, compiled for the
 * baseline, AVX2+FMA and AVX-512 and picked at run time (see vecmath.h).
 *
 * A run is `rows` rows of n elements; row r of an operand starts r * (its row stride)
 * elements after its first. mean and rstd hold one float per row, dense. The row statistics
 * are summed as in sums_f32.h (float32 lanes, folded in float64), so the variance is the
 * two-pass one: sum((x - mean)^2), with no cancellation.
 *
 *     xhat = (x - mean) * rstd,  g = dy * weight
 *     dx = rstd * (g - mean(g) - xhat * mean(g * xhat))
 *     dweight += dy * xhat,  dbias += dy   (float32 partials the caller folds in float64)
 */
#ifndef TINYGPT_LNORM_F32_H
#define TINYGPT_LNORM_F32_H

#include <math.h>

#include "sums_f32.h" /* tg_sum_body, tg_fold16; vecmath.h */

typedef struct {
    ptrdiff_t rows, n;
    float *out; /* y (forward) or dx (backward) */
    ptrdiff_t out_stride;
    const float *x;
    ptrdiff_t x_stride;
    const float *dy; /* backward only */
    ptrdiff_t dy_stride;
    const float *weight; /* dense (n,), or NULL */
    const float *bias;   /* dense (n,), or NULL (forward only) */
    float *mean;         /* (rows,): written by the forward, read by the backward */
    float *rstd;
    double eps;
} tg_ln_run;

/* One row of y = (x - m) * s * weight + bias. The flags are constants where this is
 * inlined, so each variant is its own branch-free loop. */
TG_INLINE void tg_ln_out_row(float *restrict y, const float *restrict x, ptrdiff_t n, float m,
                             float s, const float *w, const float *b, int has_w, int has_b) {
    for (ptrdiff_t j = 0; j < n; j++) {
        float v = (x[j] - m) * s;
        v = has_w ? v * w[j] : v;
        y[j] = has_b ? v + b[j] : v;
    }
}

TG_INLINE void tg_ln_forward_body(const tg_ln_run *p) {
    ptrdiff_t n = p->n;
    for (ptrdiff_t r = 0; r < p->rows; r++) {
        const float *x = p->x + r * p->x_stride;
        float *y = p->out + r * p->out_stride;
        float m = (float)(tg_sum_body(x, n, 0.0f, 0) / n);
        float s = (float)(1.0 / sqrt(tg_sum_body(x, n, m, 1) / n + p->eps));
        p->mean[r] = m;
        p->rstd[r] = s;
        if (p->weight != NULL && p->bias != NULL)
            tg_ln_out_row(y, x, n, m, s, p->weight, p->bias, 1, 1);
        else if (p->weight != NULL)
            tg_ln_out_row(y, x, n, m, s, p->weight, p->bias, 1, 0);
        else if (p->bias != NULL)
            tg_ln_out_row(y, x, n, m, s, p->weight, p->bias, 0, 1);
        else
            tg_ln_out_row(y, x, n, m, s, p->weight, p->bias, 0, 0);
    }
}

/* Backward of one row: the sums of g and g * xhat (blocked like tg_sum_body) while dweight
 * and dbias take the row in, then dx. */
TG_INLINE void tg_ln_backward_row(float *restrict dx, const float *restrict x,
                                  const float *restrict dy, ptrdiff_t n, float m, float s,
                                  const float *restrict w, float *restrict dw,
                                  float *restrict db, int has_w) {
    double sum_g = 0, sum_gx = 0;
    ptrdiff_t i = 0, whole = n - n % 16;
    while (i < whole) {
        ptrdiff_t end = i + TG_SUM_BLOCK < whole ? i + TG_SUM_BLOCK : whole;
        tg_v8 acc_g[2] = {{0}, {0}}, acc_gx[2] = {{0}, {0}}; /* lanes 0-7, 8-15 */
        for (; i < end; i += 16) {
            for (int half = 0; half < 2; half++) {
                ptrdiff_t k = i + 8 * half;
                tg_v8 xhat = (tg_load8(x + k) - m) * s;
                tg_v8 d = tg_load8(dy + k);
                tg_v8 g = has_w ? d * tg_load8(w + k) : d;
                tg_store8(dw + k, tg_load8(dw + k) + d * xhat);
                tg_store8(db + k, tg_load8(db + k) + d);
                acc_g[half] += g;
                acc_gx[half] += g * xhat;
            }
        }
        sum_g += tg_fold16(acc_g[0], acc_g[1]);
        sum_gx += tg_fold16(acc_gx[0], acc_gx[1]);
    }
    for (; i < n; i++) {
        float xhat = (x[i] - m) * s;
        float g = has_w ? dy[i] * w[i] : dy[i];
        dw[i] += dy[i] * xhat;
        db[i] += dy[i];
        sum_g += g;
        sum_gx += g * xhat;
    }
    float c1 = (float)(sum_g / n), c2 = (float)(sum_gx / n);
    for (ptrdiff_t j = 0; j < n; j++) {
        float xhat = (x[j] - m) * s;
        float g = has_w ? dy[j] * w[j] : dy[j];
        dx[j] = s * (g - c1 - xhat * c2);
    }
}

/* dweight and dbias of the run go into dw and db (n each, float32 partials). */
TG_INLINE void tg_ln_backward_body(const tg_ln_run *p, float *dw, float *db) {
    for (ptrdiff_t r = 0; r < p->rows; r++) {
        const float *x = p->x + r * p->x_stride;
        const float *dy = p->dy + r * p->dy_stride;
        float *dx = p->out + r * p->out_stride;
        if (p->weight != NULL)
            tg_ln_backward_row(dx, x, dy, p->n, p->mean[r], p->rstd[r], p->weight, dw, db, 1);
        else
            tg_ln_backward_row(dx, x, dy, p->n, p->mean[r], p->rstd[r], p->weight, dw, db, 0);
    }
}

TG_VARIANTS_VOID(tg_ln_forward, (const tg_ln_run *p), (p))
TG_VARIANTS_VOID(tg_ln_backward, (const tg_ln_run *p, float *dw, float *db), (p, dw, db))

#endif
