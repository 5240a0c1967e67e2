/* GELU, forward and backward, over dense runs: float32 compiled per SIMD level (vecmath.h's
 * dispatch), float64 on libm.
 *
 *   exact ("none"): gelu(x) = x Phi(x),   gelu'(x) = Phi(x) + x phi(x)
 *   "tanh":         gelu(x) = 0.5 x (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3)
 *
 * Phi is the standard normal CDF and phi its density. NOTE: 0.5 (1 + tanh(u)) equals
 * 1 / (1 + exp(-2u)), the logistic sigmoid of 2u: one exp and one division, no tanh, and no
 * cancellation in 1 + tanh(u) where u << 0. Every loop body is branch-free (selects instead
 * of ifs) so that it vectorizes; a nan input gives a nan output.
 */
#ifndef TINYGPT_GELU_H
#define TINYGPT_GELU_H

#include "vecmath.h"

#define TG_SQRT_2_OVER_PI 0.79788456080286536
#define TG_GELU_CUBIC 0.044715
#define TG_INV_SQRT_2 0.70710678118654752
#define TG_INV_SQRT_2PI 0.39894228040143268

/* ----------------------------------------------------------------- float32 math */

/* exp(a) for a in [-80, 80] only; callers clamp, and patch the ends themselves. It is
 * vecmath.h's tg_exp_f32 without the selects for overflow and underflow (a third of a
 * GELU's work), and with the polynomial in Estrin's form rather than Horner's: the same
 * terms, added in a tree, so the chain of dependent operations is half as long.
 * exp(a) = 2^n exp(r), |r| <= ln2/2. A nan stays nan. */
TG_INLINE float tg_exp_bounded_f32(float a) {
    /* adding 1.5 * 2^23 rounds a / ln2 to an integer n, left in the low mantissa bits */
    float t = a * 1.44269504088896341f + 12582912.0f;
    float n = t - 12582912.0f;
    float r = a - n * 0.693359375f; /* ln2 in two parts: n * ln2 is exact in the first */
    r = r + n * 2.12194440e-4f;
    float r2 = r * r;
    float p01 = 5.0000001201e-1f + 1.6666665459e-1f * r;
    float p23 = 4.1665795894e-2f + 8.3334519073e-3f * r;
    float p45 = 1.3981999507e-3f + 1.9875691500e-4f * r;
    float p = p01 + r2 * (p23 + r2 * p45);
    float y = (r + 1.0f) + p * r2;
    uint32_t bits;
    memcpy(&bits, &t, 4);
    bits = (bits - 0x4B400000u + 127u) << 23; /* 2^n, a normal float for |n| <= 116 */
    float scale;
    memcpy(&scale, &bits, 4);
    return y * scale;
}

/* exp(-x^2 / 2), and exactly 0 where it is below e^-80 (|x| > 12.6); a nan stays nan. */
TG_INLINE float tg_gauss_f32(float x) {
    float zz = 0.5f * x * x;
    float q = tg_exp_bounded_f32(-(zz < 80.0f ? zz : 80.0f));
    return zz > 80.0f ? 0.0f : q;
}

/* Phi(x) = 0.5 (1 + erf(z)), z = x / sqrt(2), given q = exp(-z^2) = tg_gauss_f32(x); to
 * about 4e-7 (relative in the centre, absolute in the tails). Two polynomials fitted (least
 * squares) to erf, each within 4e-9 before float32 rounding:
 *   |z| < 0.5:  erf(z) = z P(z^2);
 *   |z| >= 0.5: erfc(|z|) = exp(-z^2) R(w), w = 1 / (1 + |z| / 2),
 * so that the lower tail Phi(-|x|) = 0.5 erfc(|z|) keeps its relative accuracy, which
 * 1 + erf(z) would lose to cancellation for z << 0. */
TG_INLINE float tg_phi_f32(float x, float q) {
    float zz = 0.5f * x * x;
    float z = x * (float)TG_INV_SQRT_2;
    float t = fabsf(z);
    float p = 4.7482229571e-03f;
    p = p * zz + -2.6771224054e-02f;
    p = p * zz + 1.1283026556e-01f;
    p = p * zz + -3.7612618222e-01f;
    p = p * zz + 1.1283791664e+00f;
    float centre = 0.5f + 0.5f * z * p;
    float w = 1.0f / (1.0f + 0.5f * t);
    float w2 = w * w;
    float w4 = w2 * w2;
    /* R(w) = r0 + r1 w + ... + r9 w^9, in Estrin's form: pairs, then powers of w^2 */
    float r01 = 4.0397795655e-06f + 2.8197192974e-01f * w;
    float r23 = 2.8372981782e-01f + 2.3430998694e-01f * w;
    float r45 = 2.3729956634e-01f + -1.1257629154e-01f * w;
    float r67 = 4.1326345136e-01f + -6.1765034361e-01f * w;
    float r89 = 3.5493795491e-01f + -7.5299407729e-02f * w;
    float r = (r01 + w2 * r23) + w4 * ((r45 + w2 * r67) + w4 * r89);
    float lower = 0.5f * q * r; /* Phi(-|x|) */
    float tail = x < 0.0f ? lower : 1.0f - lower;
    return t < 0.5f ? centre : tail; /* a nan fails the test and takes the tail: nan */
}

/* GPT-2's u(x) is clamped to x in [-9.5, 9.5], where -2u stays inside tg_exp_bounded_f32's
 * range; beyond it sigmoid(2u) is 1 to float precision, or below 1e-33. */
#define TG_GELU_CLAMP 9.5f

/* a nan fails both tests and passes through unchanged */
TG_INLINE float tg_gelu_clamp_f32(float x) {
    float xc = x > TG_GELU_CLAMP ? TG_GELU_CLAMP : x;
    return xc < -TG_GELU_CLAMP ? -TG_GELU_CLAMP : xc;
}

/* exp(-2u(x)) of a clamped x: then sigmoid(2u) = 0.5 (1 + tanh(u)) = 1 / (1 + e). */
TG_INLINE float tg_gelu_exp_f32(float xc) {
    const float minus_2k = (float)(-2.0 * TG_SQRT_2_OVER_PI);
    const float minus_2kc = (float)(-2.0 * TG_SQRT_2_OVER_PI * TG_GELU_CUBIC);
    return tg_exp_bounded_f32(xc * (minus_2k + minus_2kc * xc * xc));
}

/* ------------------------------------------------------------------- loop bodies */

/* NOTE: why the tanh backward runs in two passes over tiles. Each element's maths is one
 * long chain of dependent operations (exp, a division, a polynomial, ...). The CPU overlaps
 * consecutive elements only as far as its scheduler holds their waiting operations, and a
 * chain this long fills it: one fused loop ran at half the speed of its two halves. So the
 * first pass writes exp(...) for a tile to a stack buffer (in L1) and the second finishes. */
#define TG_TILE 256

TG_INLINE void tg_gelu_tanh_f32_body(float *restrict y, const float *restrict x, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) {
        float s = 1.0f / (1.0f + tg_gelu_exp_f32(tg_gelu_clamp_f32(x[i])));
        s = x[i] < -TG_GELU_CLAMP ? 0.0f : s; /* so that x * s is -0, not x * 1e-33 */
        y[i] = x[i] * s;
    }
}

/* slope = s + 2 x s (1 - s) u'(x) with s = sigmoid(2u), since 1 - tanh(u)^2 = 4 s (1 - s);
 * 1 - s = e s (no cancellation). Beyond the clamp the slope is 1, or ~1e-31 for 0. */
TG_INLINE void tg_gelu_tanh_backward_f32_body(float *restrict dx, const float *restrict dy,
                                              const float *restrict x, ptrdiff_t n) {
    const float two_k = (float)(2.0 * TG_SQRT_2_OVER_PI);
    const float two_k3c = (float)(2.0 * 3.0 * TG_SQRT_2_OVER_PI * TG_GELU_CUBIC);
    float e[TG_TILE];
    for (ptrdiff_t start = 0; start < n; start += TG_TILE) {
        ptrdiff_t m = n - start < TG_TILE ? n - start : TG_TILE;
        const float *xs = x + start;
        for (ptrdiff_t i = 0; i < m; i++) e[i] = tg_gelu_exp_f32(tg_gelu_clamp_f32(xs[i]));
        for (ptrdiff_t i = 0; i < m; i++) {
            float xc = tg_gelu_clamp_f32(xs[i]);
            float s = 1.0f / (1.0f + e[i]);
            float a = xc * (two_k + two_k3c * xc * xc) * e[i]; /* 2 x u'(x) e */
            dx[start + i] = (dy[start + i] * s) * (1.0f + a * s);
        }
    }
}

/* the erf loops are long too, but their work is spread over two independent chains (exp,
 * and the division feeding R(w)): split into tiles they ran no faster */
TG_INLINE void tg_gelu_erf_f32_body(float *restrict y, const float *restrict x, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) y[i] = x[i] * tg_phi_f32(x[i], tg_gauss_f32(x[i]));
}

TG_INLINE void tg_gelu_erf_backward_f32_body(float *restrict dx, const float *restrict dy,
                                             const float *restrict x, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) {
        float q = tg_gauss_f32(x[i]);
        dx[i] = dy[i] * (tg_phi_f32(x[i], q) + x[i] * q * (float)TG_INV_SQRT_2PI);
    }
}

#define TG_GELU_PARAMS (float *y, const float *x, ptrdiff_t n)
#define TG_GELU_BACKWARD_PARAMS (float *dx, const float *dy, const float *x, ptrdiff_t n)
TG_VARIANTS_VOID(tg_gelu_erf_f32, TG_GELU_PARAMS, (y, x, n))
TG_VARIANTS_VOID(tg_gelu_tanh_f32, TG_GELU_PARAMS, (y, x, n))
TG_VARIANTS_VOID(tg_gelu_erf_backward_f32, TG_GELU_BACKWARD_PARAMS, (dx, dy, x, n))
TG_VARIANTS_VOID(tg_gelu_tanh_backward_f32, TG_GELU_BACKWARD_PARAMS, (dx, dy, x, n))

/* ------------------------------------------------------------------------ float64 */
/* libm's erfc, exp and friends (scalar loops): float64 is for checking, not for speed. */

TG_STATIC void tg_gelu_erf_f64(double *y, const double *x, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) y[i] = x[i] * 0.5 * erfc(-x[i] * TG_INV_SQRT_2);
}

TG_STATIC void tg_gelu_erf_backward_f64(double *dx, const double *dy, const double *x,
                                        ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) {
        double cdf = 0.5 * erfc(-x[i] * TG_INV_SQRT_2);
        dx[i] = dy[i] * (cdf + x[i] * exp(-0.5 * x[i] * x[i]) * TG_INV_SQRT_2PI);
    }
}

TG_INLINE double tg_gelu_sigmoid_f64(double x, double *e) {
    double u = TG_SQRT_2_OVER_PI * (x + TG_GELU_CUBIC * x * x * x);
    *e = exp(-2.0 * u);
    return 1.0 / (1.0 + *e);
}

TG_STATIC void tg_gelu_tanh_f64(double *y, const double *x, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) {
        double e;
        y[i] = x[i] * tg_gelu_sigmoid_f64(x[i], &e);
    }
}

/* as the float32 body; the clamp is at +-20, where exp(-2u) is still below DBL_MAX */
TG_STATIC void tg_gelu_tanh_backward_f64(double *dx, const double *dy, const double *x,
                                         ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) {
        double xc = x[i] > 20.0 ? 20.0 : x[i];
        xc = xc < -20.0 ? -20.0 : xc;
        double e;
        double s = tg_gelu_sigmoid_f64(xc, &e);
        double du = TG_SQRT_2_OVER_PI * (1.0 + 3.0 * TG_GELU_CUBIC * xc * xc);
        dx[i] = dy[i] * (s + 2.0 * xc * s * (e * s) * du);
    }
}

#endif
