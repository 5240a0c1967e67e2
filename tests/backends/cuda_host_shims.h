// cuda_host.py: what a tinygpt CUDA kernel source needs to compile as plain C++ on the host.
// NOTE: libstdc++'s math.h brings the float overloads into the global namespace
// (exp(float) is expf), as CUDA's math library has them.
#include <math.h>
#include <string.h>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static  // one copy for the block (blocks run one at a time)

struct uint2 { unsigned int x, y; };
struct uint4 { unsigned int x, y, z, w; };
inline uint2 make_uint2(unsigned int x, unsigned int y) { return {x, y}; }
inline uint4 make_uint4(unsigned int x, unsigned int y, unsigned int z, unsigned int w) {
    return {x, y, z, w};
}
// Reinterpretations (sources.py writes float and double infinities through them).
inline float __int_as_float(int bits) { float f; memcpy(&f, &bits, 4); return f; }
inline double __longlong_as_double(long long bits) { double d; memcpy(&d, &bits, 8); return d; }
inline unsigned int __umulhi(unsigned int a, unsigned int b) {
    return (unsigned int)(((unsigned long long)a * b) >> 32);
}
// Double arithmetic rounded to nearest, one operation at a time (the host compiles without
// -mfma, so nothing fuses).
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __ddiv_rn(double a, double b) { return a / b; }

// Atomics: the host runs one loop iteration at a time, so a plain read-modify-write is atomic.
template <typename T> T atomicAdd(T* p, T v) { T old = *p; *p = old + v; return old; }
template <typename T> T atomicCAS(T* p, T compare, T value) {
    T old = *p;
    if (old == compare) *p = value;
    return old;
}

// float16: PTX's cvt.f32.f16 and cvt.rn.f16.f32, as the host's IEEE half (nearest even).
inline float host_h2f(unsigned short h) { _Float16 v; memcpy(&v, &h, 2); return (float)v; }
inline unsigned short host_f2h(float f) {
    _Float16 v = (_Float16)f;
    unsigned short h;
    memcpy(&h, &v, 2);
    return h;
}

// Block-level features (threadIdx, __syncthreads, warp shuffles, shared memory): see
// cuda_host_blocks.h, which cuda_host.py compiles right after this file.
