/* One AdamW step over dense runs of param, grad, exp_avg and exp_avg_sq, in place: each
 * element is read once and written once (composed from tensor ops it takes ~10 passes).
 * Compiled per SIMD level through vecmath.h's dispatch, float32 and float64.
 *
 * The arithmetic is PyTorch's, in the order it does it:
 *   p *= decay;  m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2;
 *   p -= step_size * m / (sqrt(v) / bias2_sqrt + eps)
 * with decay = 1 - lr * weight_decay, step_size = lr / (1 - beta1^t) and
 * bias2_sqrt = sqrt(1 - beta2^t) worked out once per step by the caller.
 */
#ifndef TINYGPT_ADAMW_H
#define TINYGPT_ADAMW_H

#include "vecmath.h"

typedef struct {
    double decay;
    double beta1;
    double beta2;
    double step_size;
    double bias2_sqrt;
    double eps;
} tg_adamw_hyper;

/* `real` is float or double: the float32 step computes in float32, as PyTorch does. */
#define TG_ADAMW_BODY(name, real, sqrt_fn)                                                 \
    TG_INLINE void name##_body(real *restrict p, const real *restrict g, real *restrict m, \
                               real *restrict v, ptrdiff_t n, const tg_adamw_hyper *h) {   \
        const real decay = (real)h->decay, beta1 = (real)h->beta1, beta2 = (real)h->beta2; \
        const real one_minus_beta1 = (real)(1.0 - h->beta1);                               \
        const real one_minus_beta2 = (real)(1.0 - h->beta2);                               \
        const real step_size = (real)h->step_size, bias2_sqrt = (real)h->bias2_sqrt;       \
        const real eps = (real)h->eps;                                                     \
        for (ptrdiff_t i = 0; i < n; i++) {                                                \
            real grad = g[i];                                                              \
            real avg = beta1 * m[i] + one_minus_beta1 * grad;                              \
            real avg_sq = beta2 * v[i] + one_minus_beta2 * grad * grad;                    \
            real denom = sqrt_fn(avg_sq) / bias2_sqrt + eps;                               \
            m[i] = avg;                                                                    \
            v[i] = avg_sq;                                                                 \
            p[i] = p[i] * decay - step_size * (avg / denom);                               \
        }                                                                                  \
    }
TG_ADAMW_BODY(tg_adamw_f32, float, sqrtf)
TG_ADAMW_BODY(tg_adamw_f64, double, sqrt)

TG_VARIANTS_VOID(tg_adamw_f32,
                 (float *p, const float *g, float *m, float *v, ptrdiff_t n,
                  const tg_adamw_hyper *h),
                 (p, g, m, v, n, h))
TG_VARIANTS_VOID(tg_adamw_f64,
                 (double *p, const double *g, double *m, double *v, ptrdiff_t n,
                  const tg_adamw_hyper *h),
                 (p, g, m, v, n, h))

#endif
