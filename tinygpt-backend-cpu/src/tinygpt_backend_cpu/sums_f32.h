/* float32 sums for reductions and layer norm, compiled for the baseline, AVX2+FMA and
 * AVX-512 and picked at run time, the way vecmath.h does it (its TG_VARIANTS macros).
 *
 * Accuracy, everywhere: at most SUM_BLOCK (512) terms are added in float32 before their
 * total goes into a float64 sum, the same contract as vecmath.h's row sum.
 *
 * - row sums: many dense rows at once, so that the short rows of (B*T, C) activations do not
 *   pay a function call and a dispatch each;
 * - column sums: a block of columns over many rows (a bias gradient), in float32 partials
 *   that are folded into float64 every TG_COL_ROWS rows. Without them each element would
 *   need a float -> double conversion, which halves the vector width.
 */
#ifndef TINYGPT_SUMS_F32_H
#define TINYGPT_SUMS_F32_H

#include "vecmath.h" /* TG_INLINE, TG_VARIANTS, tg_v8, tg_load8 */

#define TG_SUM_BLOCK 512 /* terms per float32 partial (a multiple of 32) */
#define TG_COL_ROWS 32   /* rows per float32 column partial */
#define TG_COL_WIDTH 256 /* the widest block of columns tg_col_sums takes */

typedef double tg_d8 __attribute__((vector_size(64)));
typedef double tg_d4 __attribute__((vector_size(32)));
typedef double tg_d2 __attribute__((vector_size(16)));

/* The 16 lanes of a partial sum, lo (lanes 0-7) and hi (8-15), added in float64 halving
 * the lanes at a time: 4 dependent adds, not 16 (a loop over the lanes compiles to scalar
 * converts and adds). Lane l meets lane l + 8 first, then l + 4, l + 2, l + 1. */
TG_INLINE double tg_fold16(tg_v8 lo, tg_v8 hi) {
    tg_d4 l0 = {lo[0], lo[1], lo[2], lo[3]}, l1 = {lo[4], lo[5], lo[6], lo[7]};
    tg_d4 h0 = {hi[0], hi[1], hi[2], hi[3]}, h1 = {hi[4], hi[5], hi[6], hi[7]};
    tg_d4 d4 = (l0 + h0) + (l1 + h1);
    tg_d2 d2a = {d4[0], d4[1]}, d2b = {d4[2], d4[3]};
    d2a += d2b;
    return d2a[0] + d2a[1];
}

/* sum(x[i] - shift) or, with square, sum((x[i] - shift)^2) over a dense row. Two 16-lane
 * accumulators (a: x[i..i+15], b: x[i+16..i+31], each as two 8-lane halves) so that
 * consecutive adds do not wait for each other. */
TG_INLINE double tg_sum_body(const float *x, ptrdiff_t n, float shift, int square) {
    double total = 0;
    ptrdiff_t i = 0, pairs = n - n % 32;
    while (i < pairs) {
        ptrdiff_t end = i + TG_SUM_BLOCK < pairs ? i + TG_SUM_BLOCK : pairs;
        tg_v8 a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0};
        for (; i < end; i += 32) {
            tg_v8 v0 = tg_load8(x + i) - shift, v1 = tg_load8(x + i + 8) - shift;
            tg_v8 w0 = tg_load8(x + i + 16) - shift, w1 = tg_load8(x + i + 24) - shift;
            a0 += square ? v0 * v0 : v0;
            a1 += square ? v1 * v1 : v1;
            b0 += square ? w0 * w0 : w0;
            b1 += square ? w1 * w1 : w1;
        }
        total += tg_fold16(a0 + b0, a1 + b1);
    }
    if (n - i >= 16) {
        tg_v8 v0 = tg_load8(x + i) - shift, v1 = tg_load8(x + i + 8) - shift;
        total += tg_fold16(square ? v0 * v0 : v0, square ? v1 * v1 : v1);
        i += 16;
    }
    for (; i < n; i++) {
        float d = x[i] - shift;
        total += square ? d * d : d;
    }
    return total;
}

/* out[r * out_stride] = sum of the dense row x + r * x_stride (n elements), r < rows */
TG_INLINE void tg_row_sums_body(float *out, ptrdiff_t out_stride, const float *x,
                                ptrdiff_t x_stride, ptrdiff_t rows, ptrdiff_t n) {
    for (ptrdiff_t r = 0; r < rows; r++)
        out[r * out_stride] = (float)tg_sum_body(x + r * x_stride, n, 0.0f, 0);
}

/* sums[j] += x[j] + x[stride + j] + ... over `rows` rows, j < n <= TG_COL_WIDTH */
TG_INLINE void tg_col_sums_body(double *restrict sums, const float *restrict x,
                                ptrdiff_t stride, ptrdiff_t rows, ptrdiff_t n) {
    float part[TG_COL_WIDTH];
    for (ptrdiff_t first = 0; first < rows; first += TG_COL_ROWS) {
        ptrdiff_t last = first + TG_COL_ROWS < rows ? first + TG_COL_ROWS : rows;
        const float *row = x + first * stride;
        for (ptrdiff_t j = 0; j < n; j++) part[j] = row[j];
        for (ptrdiff_t r = first + 1; r < last; r++) {
            row = x + r * stride;
            for (ptrdiff_t j = 0; j < n; j++) part[j] += row[j];
        }
        for (ptrdiff_t j = 0; j < n; j++) sums[j] += part[j];
    }
}

TG_VARIANTS_VOID(tg_row_sums,
                 (float *out, ptrdiff_t so, const float *x, ptrdiff_t sx, ptrdiff_t rows,
                  ptrdiff_t n),
                 (out, so, x, sx, rows, n))
TG_VARIANTS_VOID(tg_col_sums,
                 (double *sums, const float *x, ptrdiff_t stride, ptrdiff_t rows, ptrdiff_t n),
                 (sums, x, stride, rows, n))

#endif
