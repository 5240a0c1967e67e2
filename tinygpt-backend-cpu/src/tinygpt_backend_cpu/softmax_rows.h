/* Softmax rows for the fused softmax and cross-entropy kernels (softmax.pyx), built on
 * vecmath.h: a generic version composed from its loops, and an AVX-512 one with its own
 * exp (tg_exp16), picked at run time like every vecmath.h loop.
 *
 * Dense float32 rows, n >= 1:
 *   tg_row_exp_sum: out[i] = exp(x[i] - shift) (out may be NULL), returns the sum in float64;
 *   tg_softmax_row: out = softmax(x) or log_softmax(x) in three passes over a row in cache,
 *   prefetching the next row's input and output (NULL: none) while it computes. */

#ifndef TINYGPT_SOFTMAX_ROWS_H
#define TINYGPT_SOFTMAX_ROWS_H

#include "vecmath.h"

/* the generic bodies: vecmath.h's exp, max, sum and scale loops, composed */

TG_INLINE double tg_row_exp_sum_body(float *out, const float *x, float shift, ptrdiff_t n) {
    float buffer[512];
    double total = 0;
    for (ptrdiff_t start = 0; start < n; start += 512) {
        ptrdiff_t k = n - start < 512 ? n - start : 512;
        float *e = out != NULL ? out + start : buffer;
        tg_exp_rows_body(e, x + start, 1, shift, k);
        total += tg_row_sum_body(e, k);
    }
    return total;
}

TG_INLINE void tg_softmax_row_body(float *out, const float *x, ptrdiff_t n, int take_log,
                                   const float *next_x, const float *next_out) {
    (void)next_x, (void)next_out; /* prefetch hints, used by the AVX-512 variant */
    float m = tg_row_max_body(x, n);
    double total = tg_row_exp_sum_body(take_log ? NULL : out, x, m, n);
    if (take_log) {
        /* subtle: (x - m) - log(total), not x - (m + log(total)), which would round log(total)
         * away when |m| is large (1e4 in float32 has a 1e-3 ulp) */
        float shift = (float)log(total);
        for (ptrdiff_t i = 0; i < n; i++) out[i] = (x[i] - m) - shift;
    } else {
        tg_row_scale_body(out, (float)(1.0 / total), n);
    }
}

#if TG_DISPATCH
/* max of a dense row, n >= 1: four running maxima hide the latency of vmaxps */
TG_AVX512 TG_INLINE float tg_row_max16(const float *x, ptrdiff_t n) {
    __m512 m0 = _mm512_set1_ps(x[0]), m1 = m0, m2 = m0, m3 = m0;
    ptrdiff_t i = 0;
    for (; i + 64 <= n; i += 64) {
        m0 = _mm512_max_ps(m0, _mm512_loadu_ps(x + i));
        m1 = _mm512_max_ps(m1, _mm512_loadu_ps(x + i + 16));
        m2 = _mm512_max_ps(m2, _mm512_loadu_ps(x + i + 32));
        m3 = _mm512_max_ps(m3, _mm512_loadu_ps(x + i + 48));
    }
    for (; i + 16 <= n; i += 16) m0 = _mm512_max_ps(m0, _mm512_loadu_ps(x + i));
    if (i < n) {
        __mmask16 lanes = TG_TAIL(n - i);
        m0 = _mm512_mask_max_ps(m0, lanes, m0, _mm512_maskz_loadu_ps(lanes, x + i));
    }
    return _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(m0, m1), _mm512_max_ps(m2, m3)));
}

/* sum(exp(x - shift)) (into out too unless NULL), prefetching the n floats at `ahead` */
TG_AVX512 TG_INLINE double tg_exp_sum16(float *out, const float *x, float shift, ptrdiff_t n,
                                       const float *ahead) {
    __m512 c = _mm512_set1_ps(shift);
    double total = 0;
    /* float lanes over blocks of 512 (32 terms a lane), each block's total added in double */
    for (ptrdiff_t start = 0; start < n; start += 512) {
        ptrdiff_t end = n - start < 512 ? n : start + 512, i = start;
        __m512 acc = _mm512_setzero_ps();
        for (; i + 16 <= end; i += 16) {
            _mm_prefetch((const char *)(ahead + i), _MM_HINT_T0);
            __m512 e = tg_exp16(_mm512_sub_ps(_mm512_loadu_ps(x + i), c), 1);
            acc = _mm512_add_ps(acc, e);
            if (out != NULL) _mm512_storeu_ps(out + i, e);
        }
        if (i < end) {
            __mmask16 lanes = TG_TAIL(end - i);
            __m512 e = tg_exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(lanes, x + i), c), 1);
            acc = _mm512_mask_add_ps(acc, lanes, acc, e);
            if (out != NULL) _mm512_mask_storeu_ps(out + i, lanes, e);
        }
        total += _mm512_reduce_add_ps(acc);
    }
    return total;
}

TG_AVX512 TG_STATIC double tg_row_exp_sum_avx512(float *out, const float *x, float shift,
                                                 ptrdiff_t n) {
    return tg_exp_sum16(out, x, shift, n, x);
}

/* NOTE: the hardware prefetcher stops at 4 KB page boundaries, and a row of 1024 floats is
 * one page: each row would start with a cache miss per line. So while the exp runs (compute
 * bound) the next row's input is prefetched, and while the last pass runs, its output. */
TG_AVX512 TG_STATIC void tg_softmax_row_avx512(float *out, const float *x, ptrdiff_t n,
                                               int take_log, const float *next_x,
                                               const float *next_out) {
    float m = tg_row_max16(x, n);
    /* a prefetch of the current row (no next one) hits in cache: nearly free */
    double total = tg_exp_sum16(take_log ? NULL : out, x, m, n, next_x ? next_x : x);
    const float *ahead = next_out ? next_out : out;
    ptrdiff_t i = 0;
    if (take_log) { /* (x - m) - log(total): see tg_softmax_row_body */
        __m512 shift = _mm512_set1_ps(m), lse = _mm512_set1_ps((float)log(total));
        for (; i + 16 <= n; i += 16) {
            _mm_prefetch((const char *)(ahead + i), _MM_HINT_T0);
            __m512 v = _mm512_sub_ps(_mm512_loadu_ps(x + i), shift);
            _mm512_storeu_ps(out + i, _mm512_sub_ps(v, lse));
        }
        if (i < n) {
            __mmask16 lanes = TG_TAIL(n - i);
            __m512 v = _mm512_sub_ps(_mm512_maskz_loadu_ps(lanes, x + i), shift);
            _mm512_mask_storeu_ps(out + i, lanes, _mm512_sub_ps(v, lse));
        }
    } else {
        __m512 scale = _mm512_set1_ps((float)(1.0 / total));
        for (; i + 16 <= n; i += 16) {
            _mm_prefetch((const char *)(ahead + i), _MM_HINT_T0);
            _mm512_storeu_ps(out + i, _mm512_mul_ps(_mm512_loadu_ps(out + i), scale));
        }
        if (i < n) {
            __mmask16 lanes = TG_TAIL(n - i);
            __m512 v = _mm512_maskz_loadu_ps(lanes, out + i);
            _mm512_mask_storeu_ps(out + i, lanes, _mm512_mul_ps(v, scale));
        }
    }
}
#endif

#define TG_EXP_SUM_PARAMS (float *o, const float *x, float c, ptrdiff_t n)
#define TG_SOFTMAX_PARAMS \
    (float *o, const float *x, ptrdiff_t n, int take_log, const float *nx, const float *no)

#if TG_DISPATCH
TG_BELOW_512(double, tg_row_exp_sum, TG_EXP_SUM_PARAMS, (o, x, c, n))
TG_PICK(double, tg_row_exp_sum, TG_EXP_SUM_PARAMS, (o, x, c, n))
TG_BELOW_512_VOID(tg_softmax_row, TG_SOFTMAX_PARAMS, (o, x, n, take_log, nx, no))
TG_PICK_VOID(tg_softmax_row, TG_SOFTMAX_PARAMS, (o, x, n, take_log, nx, no))
#else
TG_VARIANTS(double, tg_row_exp_sum, TG_EXP_SUM_PARAMS, (o, x, c, n))
TG_VARIANTS_VOID(tg_softmax_row, TG_SOFTMAX_PARAMS, (o, x, n, take_log, nx, no))
#endif

#endif
