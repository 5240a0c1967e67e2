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

#include "vecmath.h" /* TG_INLINE, TG_VARIANTS, tg_v16, tg_load16 */

#define TG_SUM_BLOCK 512 /* terms per float32 partial (a multiple of 32) */
#define TG_COL_ROWS 32   /* rows per float32 column partial */
#define TG_COL_WIDTH 256 /* the widest block of columns tg_col_sums takes */

typedef float tg_v8 __attribute__((vector_size(32)));
typedef double tg_d8 __attribute__((vector_size(64)));
typedef double tg_d4 __attribute__((vector_size(32)));
typedef double tg_d2 __attribute__((vector_size(16)));

/* The 16 lanes of a partial sum added in float64, halving a vector at a time: 4 dependent
 * adds, not 16 (a loop over the lanes compiles to scalar converts and adds). */
TG_INLINE double tg_fold16(tg_v16 acc) {
    tg_v8 lo, hi;
    memcpy(&lo, &acc, sizeof lo); /* the halves of a register: no memory involved */
    memcpy(&hi, (const char *)&acc + sizeof lo, sizeof hi);
    tg_d8 d8 = __builtin_convertvector(lo, tg_d8) + __builtin_convertvector(hi, tg_d8);
    tg_d4 d4a, d4b;
    memcpy(&d4a, &d8, sizeof d4a);
    memcpy(&d4b, (const char *)&d8 + sizeof d4a, sizeof d4b);
    d4a += d4b;
    tg_d2 d2a, d2b;
    memcpy(&d2a, &d4a, sizeof d2a);
    memcpy(&d2b, (const char *)&d4a + sizeof d2a, sizeof d2b);
    d2a += d2b;
    return d2a[0] + d2a[1];
}

/* sum(x[i] - shift) or, with square, sum((x[i] - shift)^2) over a dense row. Two vector
 * accumulators so that consecutive adds do not wait for each other. */
TG_INLINE double tg_sum_body(const float *x, ptrdiff_t n, float shift, int square) {
    double total = 0;
    ptrdiff_t i = 0, pairs = n - n % 32;
    tg_v16 a, b, v, w;
    while (i < pairs) {
        ptrdiff_t end = i + TG_SUM_BLOCK < pairs ? i + TG_SUM_BLOCK : pairs;
        a = (tg_v16){0};
        b = (tg_v16){0};
        for (; i < end; i += 32) {
            v = tg_load16(x + i) - shift;
            w = tg_load16(x + i + 16) - shift;
            a += square ? v * v : v;
            b += square ? w * w : w;
        }
        total += tg_fold16(a + b);
    }
    if (n - i >= 16) {
        v = tg_load16(x + i) - shift;
        total += tg_fold16(square ? v * v : v);
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
