// A -> reduced A over "the last axis of a permuted view": the host permutes the reduced
// axes to the end, so the view reads as (rows, k) with rows = the kept elements in order.
// One block per output row; each thread folds a strided slice, then block_reduce.
extern "C" __global__ void reduce(const $T* __restrict__ xp, const i64* xm,
                                  $T* __restrict__ out, i64 rows, i64 k) {
    for (i64 row = blockIdx.x; row < rows; row += gridDim.x) {
        $A acc = $INIT;
        for (i64 j = threadIdx.x; j < k; j += blockDim.x) {
            acc = $OP()(acc, ($A)xp[at(xm, row * k + j)]);
        }
        acc = block_reduce(acc, $OP());
        if (threadIdx.x == 0) out[row] = ($T)acc;
    }
}

// A -> int64 index of the max/min along the (last, permuted) axis; ties and NaNs resolve to
// the first index, as in NumPy. Pairs (value, index) meet in a shared-memory tree.
#define ARG_THREADS 256
__device__ __forceinline__ bool better($A v, i64 i, $A best, i64 best_i) {
    bool v_nan = v != v;  // always false for integers
    bool best_nan = best != best;
    if (v_nan || best_nan) return v_nan && (!best_nan || i < best_i);  // the first NaN wins
    return ($BETTER) || (v == best && i < best_i);
}
extern "C" __global__ void arg_reduce(const $T* __restrict__ xp, const i64* xm,
                                      i64* __restrict__ out, i64 rows, i64 k) {
    __shared__ $A values[ARG_THREADS];
    __shared__ i64 indices[ARG_THREADS];
    for (i64 row = blockIdx.x; row < rows; row += gridDim.x) {
        $A best = ($A)xp[at(xm, row * k)];
        i64 best_i = 0;
        for (i64 j = threadIdx.x; j < k; j += blockDim.x) {
            $A v = ($A)xp[at(xm, row * k + j)];
            if (better(v, j, best, best_i)) { best = v; best_i = j; }
        }
        __syncthreads();
        values[threadIdx.x] = best;
        indices[threadIdx.x] = best_i;
        __syncthreads();
        for (int half = ARG_THREADS / 2; half > 0; half /= 2) {
            if (threadIdx.x < half) {
                $A v = values[threadIdx.x + half];
                i64 i = indices[threadIdx.x + half];
                if (better(v, i, values[threadIdx.x], indices[threadIdx.x])) {
                    values[threadIdx.x] = v;
                    indices[threadIdx.x] = i;
                }
            }
            __syncthreads();
        }
        if (threadIdx.x == 0) out[row] = indices[0];
    }
}
