// The readable reference matmul: (..., M, K) @ (..., K, N) -> dense (..., M, N).
// Each 16x16 block of threads computes one 16x16 tile of the output, walking K in steps
// of 16 through two shared-memory tiles. blockIdx.z is the (flattened) batch index.
// cuBLAS (through cupy.matmul) is what the backend uses; this one is the oracle for it.
#define TILE 16

// The buffer index where batch `batch` of a (..., rows, cols) view starts.
__device__ __forceinline__ i64 batch_offset(const i64* m, i64 batch) {
    int nd = (int)(m[0] & META_NDIM);
    i64 offset = m[1];
    for (int d = nd - 3; d >= 0; --d) {
        offset += (batch % m[2 + d]) * m[2 + nd + d];
        batch /= m[2 + d];
    }
    return offset;
}

extern "C" __global__ void matmul_tiled(const $T* __restrict__ ap, const i64* am,
                                        const $T* __restrict__ bp, const i64* bm,
                                        $T* __restrict__ out, i64 M, i64 K, i64 N) {
    __shared__ $A a_tile[TILE][TILE];
    __shared__ $A b_tile[TILE][TILE + 1];  // +1: no bank conflicts on the column reads
    int nd = (int)(am[0] & META_NDIM);
    i64 a0 = batch_offset(am, blockIdx.z);
    i64 b0 = batch_offset(bm, blockIdx.z);
    i64 a_row = am[2 + 2 * nd - 2], a_col = am[2 + 2 * nd - 1];
    i64 b_row = bm[2 + 2 * nd - 2], b_col = bm[2 + 2 * nd - 1];
    i64 row = (i64)blockIdx.y * TILE + threadIdx.y;
    i64 col = (i64)blockIdx.x * TILE + threadIdx.x;
    $A acc = 0;
    for (i64 k0 = 0; k0 < K; k0 += TILE) {
        i64 ka = k0 + threadIdx.x;
        i64 kb = k0 + threadIdx.y;
        a_tile[threadIdx.y][threadIdx.x] =
            (row < M && ka < K) ? ($A)ap[a0 + row * a_row + ka * a_col] : ($A)0;
        b_tile[threadIdx.y][threadIdx.x] =
            (kb < K && col < N) ? ($A)bp[b0 + kb * b_row + col * b_col] : ($A)0;
        __syncthreads();
        for (int k = 0; k < TILE; ++k) acc += a_tile[threadIdx.y][k] * b_tile[k][threadIdx.x];
        __syncthreads();
    }
    if (row < M && col < N) out[((i64)blockIdx.z * M + row) * N + col] = ($T)acc;
}
