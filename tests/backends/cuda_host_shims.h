// cuda_host.py: what a tinygpt CUDA kernel source needs to compile as plain C++ on the host.
// NOTE: libstdc++'s math.h brings the float overloads into the global namespace
// (exp(float) is expf), as CUDA's math library has them.
#include <math.h>
#include <string.h>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__

struct uint2 { unsigned int x, y; };
struct uint4 { unsigned int x, y, z, w; };
inline uint2 make_uint2(unsigned int x, unsigned int y) { return {x, y}; }
inline uint4 make_uint4(unsigned int x, unsigned int y, unsigned int z, unsigned int w) {
    return {x, y, z, w};
}
inline unsigned int __umulhi(unsigned int a, unsigned int b) {
    return (unsigned int)(((unsigned long long)a * b) >> 32);
}

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

// Block-level features: declared (never defined) only so the prelude's block_reduce template
// parses. A kernel that uses them is never compiled here (see cuda_host.BLOCK_FEATURES).
struct host_dim3 { unsigned int x, y, z; };
extern const host_dim3 threadIdx, blockIdx, blockDim, gridDim;
void __syncthreads();
template <typename T> T __shfl_down_sync(unsigned int mask, T value, int delta);
