// prelude.cuh: included at the top of every tinygpt CUDA kernel (no other headers needed).
//
// A strided view travels to a kernel as a pointer to its element buffer plus a small int64
// "meta" array on the device:  meta = [ndim | flags, offset, shape[0..ndim), strides[0..ndim)],
// offset and strides counted in elements (they may be 0 or negative); flags: see at().

typedef long long i64;

// ---------------------------------------------------------------- float16 without headers
// NOTE: NVRTC ships no cuda_fp16.h, so float16 is stored as 16 bits and converted with the
// PTX instructions themselves; all float16 arithmetic happens in float.
__device__ __forceinline__ float h2f(unsigned short h) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}
__device__ __forceinline__ unsigned short f2h(float f) {
    unsigned short h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
    return h;
}
struct f16 {
    unsigned short bits;
    f16() = default;
    template <typename U> __device__ f16(U value) : bits(f2h((float)value)) {}
    __device__ operator float() const { return h2f(bits); }
};

// ------------------------------------------------------------------------ strided views
// meta[0] holds ndim in its low byte and two flags set by the host (views.py), which spare
// the per-dimension division where it is not needed: GPUs have no 64-bit divide instruction.
#define META_NDIM 0xff
#define META_DENSE 0x100  // row-major and contiguous: element i is at offset + i
#define META_INT32 0x200  // fewer than 2^31 elements: 32-bit division is exact

// The buffer index of the element at row-major position `i` of the view described by `m`.
__device__ __forceinline__ i64 at(const i64* m, i64 i) {
    i64 head = m[0];
    i64 offset = m[1];
    if (head & META_DENSE) return offset + i;
    int nd = (int)(head & META_NDIM);
    if (head & META_INT32) {
        unsigned int rest = (unsigned int)i;
        for (int d = nd - 1; d >= 0; --d) {
            unsigned int size = (unsigned int)m[2 + d];
            offset += (i64)(rest % size) * m[2 + nd + d];
            rest /= size;
        }
        return offset;
    }
    for (int d = nd - 1; d >= 0; --d) {
        i64 size = m[2 + d];
        offset += (i % size) * m[2 + nd + d];
        i /= size;
    }
    return offset;
}
// The same for a rank-2 / rank-4 view addressed by coordinates (no division needed).
__device__ __forceinline__ i64 at2(const i64* m, i64 i0, i64 i1) {
    return m[1] + i0 * m[4] + i1 * m[5];
}
__device__ __forceinline__ i64 at4(const i64* m, i64 i0, i64 i1, i64 i2, i64 i3) {
    return m[1] + i0 * m[6] + i1 * m[7] + i2 * m[8] + i3 * m[9];
}

#define GRID_STRIDE_LOOP(i, n) \
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < (n); \
         i += (i64)gridDim.x * blockDim.x)

// ------------------------------------------------------------------ block-wide reductions
// NaN-propagating max/min, as numpy.maximum.reduce (x != x is false for integers).
struct SumOp { template <typename A> __device__ A operator()(A a, A b) const { return a + b; } };
struct MaxOp {
    template <typename A> __device__ A operator()(A a, A b) const {
        return (a != a || a > b) ? a : b;
    }
};
struct MinOp {
    template <typename A> __device__ A operator()(A a, A b) const {
        return (a != a || a < b) ? a : b;
    }
};

// Combine one value per thread into one for the block (every thread gets the result).
// Warp shuffles first, then one shared slot per warp. blockDim.x must be a multiple of 32.
template <typename A, typename Op>
__device__ A block_reduce(A value, Op op) {
    __shared__ A partial[32];
    int lane = threadIdx.x % 32;
    int warp = threadIdx.x / 32;
    for (int delta = 16; delta > 0; delta /= 2) {
        value = op(value, __shfl_down_sync(0xffffffffu, value, delta));
    }
    __syncthreads();  // subtle: a previous call may still be reading `partial`
    if (lane == 0) partial[warp] = value;
    __syncthreads();
    if (threadIdx.x == 0) {
        // at most 32 partial results: one thread folds them in order
        for (int w = 1; w < (int)(blockDim.x / 32); ++w) value = op(value, partial[w]);
        partial[0] = value;
    }
    __syncthreads();
    return partial[0];
}

// ------------------------------------------------------------------------------ atomics
__device__ __forceinline__ void atomic_add(float* p, float v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add(double* p, double v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add(int* p, int v) { atomicAdd(p, v); }
// bool adds as a logical or (NumPy's bool add): every writer stores the same true, so a
// plain store is race-free
__device__ __forceinline__ void atomic_add(bool* p, bool v) {
    if (v) *p = true;
}
__device__ __forceinline__ void atomic_add(i64* p, i64 v) {
    // two's complement: unsigned addition is signed addition
    atomicAdd((unsigned long long*)p, (unsigned long long)v);
}
__device__ void atomic_add(f16* p, float v) {
    // NOTE: no 16-bit atomicAdd without cuda_fp16.h: compare-and-swap the aligned 32-bit
    // word that holds this half.
    unsigned int* word = (unsigned int*)((size_t)p & ~(size_t)3);
    bool high = ((size_t)p & 2) != 0;
    unsigned int old = *word;
    unsigned int assumed;
    do {
        assumed = old;
        unsigned short h = high ? (unsigned short)(assumed >> 16) : (unsigned short)assumed;
        unsigned int sum = f2h(h2f(h) + v);
        unsigned int next = high ? ((assumed & 0xffffu) | (sum << 16))
                                 : ((assumed & 0xffff0000u) | sum);
        old = atomicCAS(word, assumed, next);
    } while (assumed != old);
}

// Integer power by squaring (a negative exponent gives 0, except for a base of +-1).
template <typename A> __device__ A ipow(A base, A exponent) {
    if (exponent < 0) return (base == 1 || base == -1) ? ((exponent % 2) ? base : (A)1) : (A)0;
    A result = 1;
    while (exponent > 0) {
        if (exponent & 1) result *= base;
        base *= base;
        exponent >>= 1;
    }
    return result;
}
