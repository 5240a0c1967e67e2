// GELU and its backward, elementwise over strided views into dense outputs.
// The TANH placeholder is 1 for GPT-2's tanh approximation, 0 for the exact x * Phi(x) with
// erf. Arithmetic in float for float16 and float32 (erff/tanhf/expf), double for float64.

// The float and double functions of CUDA's math library, picked by the argument's type.
__device__ __forceinline__ float gelu_erf(float x) { return erff(x); }
__device__ __forceinline__ double gelu_erf(double x) { return erf(x); }
__device__ __forceinline__ float gelu_tanh(float x) { return tanhf(x); }
__device__ __forceinline__ double gelu_tanh(double x) { return tanh(x); }
__device__ __forceinline__ float gelu_exp(float x) { return expf(x); }
__device__ __forceinline__ double gelu_exp(double x) { return exp(x); }

#define SQRT_2_OVER_PI 0.79788456080286535588    // sqrt(2 / pi)
#define SQRT_HALF 0.70710678118654752440         // 1 / sqrt(2)
#define INV_SQRT_2PI 0.39894228040143267794      // 1 / sqrt(2 pi)
#define GELU_CUBIC 0.044715

// sqrt(2/pi) (x + 0.044715 x^3): the argument of tanh in the approximation
__device__ __forceinline__ $A gelu_inner($A x) {
    return ($A)SQRT_2_OVER_PI * (x + ($A)GELU_CUBIC * x * x * x);
}

__device__ __forceinline__ $A gelu_value($A x) {
    if ($TANH) return ($A)0.5 * x * (($A)1 + gelu_tanh(gelu_inner(x)));
    return ($A)0.5 * x * (($A)1 + gelu_erf(x * ($A)SQRT_HALF));
}

// d gelu / dx
__device__ __forceinline__ $A gelu_slope($A x) {
    if ($TANH) {
        $A t = gelu_tanh(gelu_inner(x));
        $A dinner = ($A)SQRT_2_OVER_PI * (($A)1 + ($A)(3 * GELU_CUBIC) * x * x);
        // subtle: (1 - t)(1 + t), not 1 - t*t: exact subtractions where |t| is near 1
        $A sech2 = (($A)1 - t) * (($A)1 + t);
        return ($A)0.5 * (($A)1 + t) + ($A)0.5 * x * sech2 * dinner;
    }
    $A cdf = ($A)0.5 * (($A)1 + gelu_erf(x * ($A)SQRT_HALF));
    return cdf + x * gelu_exp(($A)-0.5 * x * x) * ($A)INV_SQRT_2PI;
}

// out[i] = gelu(x[i]), out dense
extern "C" __global__ void gelu(const $T* __restrict__ xp, const i64* xm, $T* __restrict__ out,
                                i64 n) {
    GRID_STRIDE_LOOP(i, n) {
        out[i] = ($T)gelu_value(($A)xp[at(xm, i)]);
    }
}

// dx[i] = dy[i] * gelu'(x[i]), dx dense; dy and x are views of one shape
extern "C" __global__ void gelu_backward(const $T* __restrict__ dyp, const i64* dym,
                                         const $T* __restrict__ xp, const i64* xm,
                                         $T* __restrict__ dx, i64 n) {
    GRID_STRIDE_LOOP(i, n) {
        $A slope = gelu_slope(($A)xp[at(xm, i)]);
        dx[i] = ($T)(($A)dyp[at(dym, i)] * slope);
    }
}
