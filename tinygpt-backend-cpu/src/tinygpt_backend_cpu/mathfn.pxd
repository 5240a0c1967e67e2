# Math for the elementwise and fused kernels.
#
# float32 exp, tanh and sigmoid come from vecmath.h: branch-free versions that vectorize
# (a loop calling libm's expf stays scalar), compiled for AVX2 and AVX-512 too and picked at
# run time; so do the max, sum and scaling of dense float32 rows.
# They are accurate to a few ulp (|rel err| < 5e-7). float64 uses libm.

from libc.math cimport exp, fabs


cdef extern from "vecmath.h" nogil:
    # one element (for scalar code paths) ...
    float exp_f32 "tg_exp_f32"(float x)
    float tanh_f32 "tg_tanh_f32"(float x)
    float sigmoid_f32 "tg_sigmoid_f32"(float x)
    # ... and dense out[i] = f(x[i * stride] - shift) over n elements, AVX2 where possible
    void exp_rows "tg_exp_rows"(float* out, const float* x, Py_ssize_t stride, float shift,
                                Py_ssize_t n)
    void tanh_rows "tg_tanh_rows"(float* out, const float* x, Py_ssize_t stride, float shift,
                                  Py_ssize_t n)
    void sigmoid_rows "tg_sigmoid_rows"(float* out, const float* x, Py_ssize_t stride,
                                        float shift, Py_ssize_t n)
    # dense rows of float32: max (n >= 1), sum (accumulated in float64), scale in place
    float row_max_f32 "tg_row_max"(const float* x, Py_ssize_t n)
    double row_sum_f32 "tg_row_sum"(const float* x, Py_ssize_t n)
    void row_scale_f32 "tg_row_scale"(float* x, float scale, Py_ssize_t n)
    # "baseline", "avx2+fma" or "avx512": the variant this CPU runs
    const char* vecmath_variant "tg_vecmath_variant"()


cdef inline double sigmoid_f64(double x) noexcept nogil:
    # exp(-|x|) is in (0, 1]: no overflow, and no cancellation for x < 0 either
    cdef double e = exp(-fabs(x))
    cdef double r = 1.0 / (1.0 + e)
    return r if x >= 0 else e * r
