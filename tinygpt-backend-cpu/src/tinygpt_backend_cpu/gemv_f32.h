/* y = A x for a row-major float32 A (m rows of n, row stride lda) and a dense x: the one-row
 * matmul of decoding (a token's activations times a weight stored (out, in)), compiled for
 * the baseline, AVX2+FMA and AVX-512 and picked at run time (vecmath.h's TG_VARIANTS).
 *
 * Why not OpenBLAS's sgemv: decoding reads every weight once per token, so gemv is bound by
 * memory bandwidth, and the fastest way through a row-major matrix is one sequential stream.
 * A row at a time, 16 lanes of partial sums, measured ~1.9x OpenBLAS's sgemv on a medium
 * GPT's weights (42 MB, 1 thread, Zen 4), equal where the weights sit in cache.
 *
 * Each row's 16 lanes are folded in a fixed order (lane l meets l + 8, then + 4, + 2, + 1)
 * and the tail of a row that is no multiple of 16 is added after: the result does not depend
 * on the thread count (the variants differ only where FMA contracts a multiply-add).
 */
#ifndef TINYGPT_GEMV_F32_H
#define TINYGPT_GEMV_F32_H

#include "vecmath.h" /* TG_INLINE, TG_VARIANTS_VOID, tg_v8, tg_load8 */

TG_INLINE float tg_gemv_fold(tg_v8 lo, tg_v8 hi) {
    tg_v8 s = lo + hi; /* lane l + lane l + 8 */
    float lanes[8];
    memcpy(lanes, &s, sizeof lanes);
    return ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) +
           ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]));
}

/* y[i] = sum_j a[i * lda + j] * x[j] for i < m, j < n */
TG_INLINE void tg_gemv_rows_body(float *y, const float *a, ptrdiff_t lda, const float *x,
                                 ptrdiff_t m, ptrdiff_t n) {
    ptrdiff_t whole = n - n % 16;
    for (ptrdiff_t i = 0; i < m; i++) {
        const float *row = a + i * lda;
        tg_v8 lo = {0}, hi = {0};
        for (ptrdiff_t j = 0; j < whole; j += 16) {
            lo += tg_load8(row + j) * tg_load8(x + j);
            hi += tg_load8(row + j + 8) * tg_load8(x + j + 8);
        }
        float total = tg_gemv_fold(lo, hi);
        for (ptrdiff_t j = whole; j < n; j++) total += row[j] * x[j];
        y[i] = total;
    }
}

TG_VARIANTS_VOID(tg_gemv_rows,
                 (float *y, const float *a, ptrdiff_t lda, const float *x, ptrdiff_t m,
                  ptrdiff_t n),
                 (y, a, lda, x, m, n))

#endif
