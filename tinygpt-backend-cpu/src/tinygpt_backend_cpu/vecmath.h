/* float32 loops compiled three times (baseline x86-64, AVX2+FMA, AVX-512) and picked at run
 * time: exp, tanh and sigmoid over runs, and the max / sum / scale of a dense row.
 *
 * Why C and not Cython: the wheels are built for any x86-64 CPU (SSE2 only), but these loops
 * run 2x faster per step up in vector width. GCC and clang compile a function for a newer CPU
 * when it carries __attribute__((target(...))), which Cython cannot attach. So each loop is
 * written once (a static always-inline body) and compiled once per target; the first call
 * asks the CPU which one to use. Everything else stays in Cython at the baseline.
 *
 * The math is branch-free (selects instead of ifs) so that every loop vectorizes; accurate to
 * a few ulp (relative error < 5e-7).
 *
 * exp has a hand-written AVX-512 variant (intrinsics: vscalefps, masked tails) that is 2-3x
 * faster than what the compiler makes of the portable body; softmax_rows.h builds the softmax
 * rows on it.
 */
#ifndef TINYGPT_VECMATH_H
#define TINYGPT_VECMATH_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TG_INLINE static inline __attribute__((always_inline, unused))
#define TG_STATIC static __attribute__((unused))

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define TG_DISPATCH 1
#define TG_AVX2 __attribute__((target("avx2,fma")))
#if defined(__clang__)
#define TG_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,fma")))
#else /* GCC would use only half of each AVX-512 register unless told otherwise */
#define TG_AVX512 \
    __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,fma,prefer-vector-width=512")))
#endif
#else
#define TG_DISPATCH 0
#endif

/* ------------------------------------------------------------------- scalar math */

/* exp(x) = 2^n * exp(r), |r| <= ln2/2, with Cephes' expf polynomial. exp(x) for x < -86
 * (below 5e-38) is flushed to 0; x > 88.72 gives inf; nan stays nan. */
TG_INLINE float tg_exp_f32(float x) {
    float xc = x > 88.72283f ? 88.72283f : x; /* keep 2^(n-1) a normal float ... */
    xc = xc < -86.0f ? -86.0f : xc;           /* ... and patch the ends below */
    /* adding 1.5 * 2^23 rounds x / ln2 to an integer n, left in the low mantissa bits */
    float t = xc * 1.44269504088896341f + 12582912.0f;
    float n = t - 12582912.0f;
    float r = xc - n * 0.693359375f; /* ln2 in two parts: n * ln2 is exact in the first */
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * r * r + r + 1.0f;
    uint32_t bits;
    memcpy(&bits, &t, 4); /* the bit pattern of t; compiles to nothing */
    bits = (bits - 0x4B400000u + 126u) << 23; /* 2^(n-1): n = 128 must not overflow */
    float scale;
    memcpy(&scale, &bits, 4);
    y = y * scale * 2.0f;
    y = x > 88.72283f ? INFINITY : y;
    return x < -86.0f ? 0.0f : y; /* nan fails both tests and went through the arithmetic */
}

/* tanh(x) = x * P(x^2) / Q(x^2) on x clamped to [-7.9, 7.9], where tanh is +-1 to float
 * precision (Eigen's rational approximation); no exp at all. */
TG_INLINE float tg_tanh_f32(float x) {
    float xc = x > 7.90531110763549805f ? 7.90531110763549805f : x;
    xc = xc < -7.90531110763549805f ? -7.90531110763549805f : xc;
    float z = xc * xc;
    float p = -2.76076847742355e-16f;
    p = p * z + 2.00018790482477e-13f;
    p = p * z + -8.60467152213735e-11f;
    p = p * z + 5.12229709037114e-08f;
    p = p * z + 1.48572235717979e-05f;
    p = p * z + 6.37261928875436e-04f;
    p = p * z + 4.89352455891786e-03f;
    float q = 1.19825839466702e-06f;
    q = q * z + 1.18534705686654e-04f;
    q = q * z + 2.26843463243900e-03f;
    q = q * z + 4.89352518554385e-03f;
    float y = xc * p / q;
    return fabsf(x) < 0.0004f ? x : y; /* tanh(x) = x there, and -0.0 stays -0.0 */
}

/* 1 / (1 + exp(-x)): exp(-x) overflows to inf for x << 0, and 1 / inf = 0 is right. */
TG_INLINE float tg_sigmoid_f32(float x) { return 1.0f / (1.0f + tg_exp_f32(-x)); }

/* ------------------------------------------------------------------- loop bodies */

/* out (dense)[i] = f(x[i * stride] - shift) */
#define TG_MAP(name, f)                                                                     \
    TG_INLINE void name##_body(float *out, const float *x, ptrdiff_t stride, float shift,   \
                               ptrdiff_t n) {                                               \
        if (stride == 1) {                                                                  \
            for (ptrdiff_t i = 0; i < n; i++) out[i] = f(x[i] - shift);                     \
        } else {                                                                            \
            for (ptrdiff_t i = 0; i < n; i++) out[i] = f(x[i * stride] - shift);            \
        }                                                                                   \
    }
TG_MAP(tg_exp_rows, tg_exp_f32)
TG_MAP(tg_tanh_rows, tg_tanh_f32)
TG_MAP(tg_sigmoid_rows, tg_sigmoid_f32)

/* NOTE: `total += x[i]` cannot vectorize (without -ffast-math the additions must stay in
 * order). 16 partial results, in GCC's portable vector extension, make the lanes explicit.
 * They are held as two 8-float vectors (lanes 0-7 and 8-15): one AVX2 or AVX-512 ymm
 * register each, two SSE ones. subtle: not as one 16-float vector, which GCC 12 splits
 * through the stack on anything narrower than AVX-512 (10x slower on AVX2 than SSE). The
 * lanes and their order are the same on every CPU, so results are bit-identical. */
typedef float tg_v8 __attribute__((vector_size(32)));
typedef int32_t tg_i8 __attribute__((vector_size(32)));
#define TG_LANES 16

TG_INLINE tg_v8 tg_load8(const float *x) {
    tg_v8 v;
    memcpy(&v, x, sizeof v); /* an unaligned vector load */
    return v;
}

TG_INLINE void tg_store8(float *x, tg_v8 v) { memcpy(x, &v, sizeof v); }

TG_INLINE tg_v8 tg_max8(tg_v8 a, tg_v8 b) {
    tg_i8 bigger = b > a; /* all ones where b wins */
    return (tg_v8)((bigger & (tg_i8)b) | (~bigger & (tg_i8)a));
}

/* max of a dense row of n >= 1 (a nan may be skipped: softmax gets it through exp) */
TG_INLINE float tg_row_max_body(const float *x, ptrdiff_t n) {
    ptrdiff_t i = 0, whole = n - n % TG_LANES;
    float m = x[0];
    if (whole > 0) {
        tg_v8 lo = tg_load8(x), hi = tg_load8(x + 8);
        for (i = TG_LANES; i < whole; i += TG_LANES) {
            lo = tg_max8(lo, tg_load8(x + i));
            hi = tg_max8(hi, tg_load8(x + i + 8));
        }
        for (int j = 0; j < 8; j++) m = lo[j] > m ? lo[j] : m;
        for (int j = 0; j < 8; j++) m = hi[j] > m ? hi[j] : m;
    }
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

/* sum of a dense row: 16 float lanes over blocks of 512, each block's lanes added in double
 * in lane order */
TG_INLINE double tg_row_sum_body(const float *x, ptrdiff_t n) {
    double total = 0;
    ptrdiff_t i = 0, whole = n - n % TG_LANES;
    while (i < whole) {
        ptrdiff_t end = i + 512 < whole ? i + 512 : whole;
        tg_v8 lo = {0}, hi = {0};
        for (; i < end; i += TG_LANES) {
            lo += tg_load8(x + i);
            hi += tg_load8(x + i + 8);
        }
        for (int j = 0; j < 8; j++) total += lo[j];
        for (int j = 0; j < 8; j++) total += hi[j];
    }
    for (; i < n; i++) total += x[i];
    return total;
}

/* x[i] *= scale over a dense row */
TG_INLINE void tg_row_scale_body(float *x, float scale, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) x[i] *= scale;
}

/* ------------------------------------------------------------------------ dispatch */

#if TG_DISPATCH
/* 2: AVX-512, 1: AVX2 + FMA, 0: baseline. Asked once; a benign race, all threads agree.
 * TINYGPT_CPU_SIMD=baseline or =avx2 caps it (to test the other variants on a newer CPU). */
TG_STATIC int tg_level(void) {
    static int level = -1;
    if (level < 0) {
        int found = 0;
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
            __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw"))
            found = 2;
        else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
            found = 1;
        const char *cap = getenv("TINYGPT_CPU_SIMD");
        if (cap != NULL && strcmp(cap, "baseline") == 0) found = 0;
        if (cap != NULL && strcmp(cap, "avx2") == 0 && found > 1) found = 1;
        level = found;
    }
    return level;
}
/* name##_base and name##_avx2 from name##_body; name##_avx512 too unless it has its own */
#define TG_BELOW_512(ret, name, params, args)                                    \
    TG_STATIC ret name##_base params { return name##_body args; }                \
    TG_AVX2 TG_STATIC ret name##_avx2 params { return name##_body args; }
#define TG_BELOW_512_VOID(name, params, args)                                    \
    TG_STATIC void name##_base params { name##_body args; }                      \
    TG_AVX2 TG_STATIC void name##_avx2 params { name##_body args; }
#define TG_PICK(ret, name, params, args)                                         \
    TG_STATIC ret name params {                                                  \
        int level = tg_level();                                                  \
        return level == 2 ? name##_avx512 args                                   \
               : level == 1 ? name##_avx2 args                                   \
                            : name##_base args;                                  \
    }
#define TG_PICK_VOID(name, params, args)                                         \
    TG_STATIC void name params {                                                 \
        int level = tg_level();                                                  \
        if (level == 2) name##_avx512 args;                                      \
        else if (level == 1) name##_avx2 args;                                   \
        else name##_base args;                                                   \
    }
#define TG_VARIANTS(ret, name, params, args)                                     \
    TG_BELOW_512(ret, name, params, args)                                        \
    TG_AVX512 TG_STATIC ret name##_avx512 params { return name##_body args; }    \
    TG_PICK(ret, name, params, args)
#define TG_VARIANTS_VOID(name, params, args)                                     \
    TG_BELOW_512_VOID(name, params, args)                                        \
    TG_AVX512 TG_STATIC void name##_avx512 params { name##_body args; }          \
    TG_PICK_VOID(name, params, args)
#else
TG_STATIC int tg_level(void) { return 0; }
#define TG_VARIANTS(ret, name, params, args) \
    TG_STATIC ret name params { return name##_body args; }
#define TG_VARIANTS_VOID(name, params, args) \
    TG_STATIC void name params { name##_body args; }
#endif

#define TG_MAP_PARAMS (float *o, const float *x, ptrdiff_t s, float c, ptrdiff_t n)
TG_VARIANTS_VOID(tg_tanh_rows, TG_MAP_PARAMS, (o, x, s, c, n))
TG_VARIANTS_VOID(tg_sigmoid_rows, TG_MAP_PARAMS, (o, x, s, c, n))
TG_VARIANTS(float, tg_row_max, (const float *x, ptrdiff_t n), (x, n))
TG_VARIANTS(double, tg_row_sum, (const float *x, ptrdiff_t n), (x, n))
TG_VARIANTS_VOID(tg_row_scale, (float *x, float scale, ptrdiff_t n), (x, scale, n))

/* ------------------------------------------------------------ AVX-512 exp */

#if TG_DISPATCH
#include <immintrin.h>

/* exp of 16 lanes: x = n ln2 + r with n an integer and |r| <= ln2/2, exp(r) by a degree-6
 * polynomial, then vscalefps multiplies by 2^n, overflowing to inf by itself. Results below
 * FLT_MIN (x < -87.34, -inf included) are flushed to 0 by the zeroing mask of vscalefps,
 * whatever the arithmetic made of them (denormal results can cost a microcode assist); nan
 * stays nan. `bounded`: the caller knows x <= 0 or nan (softmax: x - max), so x needs no clamp
 * from above to give inf.
 * The polynomial: a minimax fit of exp(r) for relative error (Lawson's reweighted least
 * squares), its coefficients rounded to float32 one at a time with the rest refitted: 3e-9.
 * Checked against exp() in double on every float: at most 1 ulp off the rounded result. */
TG_AVX512 TG_INLINE __m512 tg_exp16(__m512 x, int bounded) {
    const __m512 magic = _mm512_set1_ps(12582912.0f); /* 1.5 * 2^23: rounds to an integer */
    /* NOTE: min(c, x) returns x when x is nan, so nan goes through to the result */
    __m512 xc = bounded ? x : _mm512_min_ps(_mm512_set1_ps(89.0f), x);
    __m512 n = _mm512_fmadd_ps(xc, _mm512_set1_ps(1.44269504088896341f), magic);
    n = _mm512_sub_ps(n, magic);
    /* ln2 in two parts, so that r = x - n ln2 keeps its low bits */
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), xc);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.42860682030941723212e-6f), r);
    __m512 p = _mm512_set1_ps(0x1.6a4ecep-10f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0x1.12399cp-7f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0x1.5558b0p-5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0x1.555492p-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0x1.fffffcp-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    /* keep lanes with x >= -87.34 and nan lanes (unordered compare); the others become 0 */
    __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.3365f), _CMP_NLT_UQ);
    return _mm512_maskz_scalef_ps(keep, p, n);
}

/* NOTE: every loop below runs whole vectors, then at most one masked vector for the tail:
 * a mask computed in the main loop would cost two kmov's on the port the math needs. */
#define TG_TAIL(count) ((__mmask16)((1u << (count)) - 1u)) /* lanes [0, count), count < 16 */

TG_AVX512 TG_STATIC void tg_exp_rows_avx512(float *out, const float *x, ptrdiff_t stride,
                                            float shift, ptrdiff_t n) {
    if (stride != 1) {
        tg_exp_rows_body(out, x, stride, shift, n);
        return;
    }
    __m512 c = _mm512_set1_ps(shift);
    ptrdiff_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(out + i, tg_exp16(_mm512_sub_ps(_mm512_loadu_ps(x + i), c), 0));
    if (i < n) {
        __mmask16 lanes = TG_TAIL(n - i);
        __m512 v = _mm512_maskz_loadu_ps(lanes, x + i);
        _mm512_mask_storeu_ps(out + i, lanes, tg_exp16(_mm512_sub_ps(v, c), 0));
    }
}

#endif

#if TG_DISPATCH
TG_BELOW_512_VOID(tg_exp_rows, TG_MAP_PARAMS, (o, x, s, c, n))
TG_PICK_VOID(tg_exp_rows, TG_MAP_PARAMS, (o, x, s, c, n))
#else
TG_VARIANTS_VOID(tg_exp_rows, TG_MAP_PARAMS, (o, x, s, c, n))
#endif

/* ------------------------------------------------------------- streaming copy */

#if TG_DISPATCH
/* Copy n bytes with non-temporal stores: they go to memory without first reading the
 * destination's cache lines, which a normal store does (1/3 more traffic for a + b). Used for
 * results too big to stay in cache anyway. Call tg_stream_fence() after the last one. */
#define TG_STREAM_COPY(name, target, width, vector, load, store)                   \
    target TG_STATIC void name(char *dst, const char *src, size_t n) {             \
        size_t head = (width - ((size_t)dst & (width - 1))) & (width - 1);         \
        if (head > n) head = n;                                                    \
        memcpy(dst, src, head);                                                    \
        dst += head, src += head, n -= head;                                       \
        for (; n >= width; n -= width, dst += width, src += width)                 \
            store((vector *)dst, load((const vector *)src));                       \
        memcpy(dst, src, n);                                                       \
    }
TG_STREAM_COPY(tg_stream_copy_base, , 16, __m128i, _mm_loadu_si128, _mm_stream_si128)
TG_STREAM_COPY(tg_stream_copy_avx2, TG_AVX2, 32, __m256i, _mm256_loadu_si256,
               _mm256_stream_si256)
TG_STREAM_COPY(tg_stream_copy_avx512, TG_AVX512, 64, __m512i, _mm512_loadu_si512,
               _mm512_stream_si512)
TG_STATIC void tg_stream_copy(char *dst, const char *src, size_t n) {
    int level = tg_level();
    if (level == 2) tg_stream_copy_avx512(dst, src, n);
    else if (level == 1) tg_stream_copy_avx2(dst, src, n);
    else tg_stream_copy_base(dst, src, n);
}
TG_STATIC void tg_stream_fence(void) { _mm_sfence(); }
#else
TG_STATIC void tg_stream_copy(char *dst, const char *src, size_t n) { memcpy(dst, src, n); }
TG_STATIC void tg_stream_fence(void) {}
#endif

/* Which variant runs here. */
TG_STATIC const char *tg_vecmath_variant(void) {
    static const char *names[] = {"baseline", "avx2+fma", "avx512"};
    return names[tg_level()];
}

#endif
