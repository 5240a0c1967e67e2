// Fused softmax / log-softmax along one axis, read as the last axis of a permuted view:
// x (rows, k) through meta `xm`; out through `om`, the dense output's strides permuted the
// same way. One block per row. $$LOG is 1 for log-softmax.
extern "C" __global__ void softmax(const $T* __restrict__ xp, const i64* xm,
                                   $T* __restrict__ out, const i64* om, i64 rows, i64 k) {
    for (i64 row = blockIdx.x; row < rows; row += gridDim.x) {
        // subtract the max before exp: exp of a large logit overflows, exp(x - max) <= 1
        $A peak = ($A)xp[at(xm, row * k)];
        for (i64 j = threadIdx.x; j < k; j += blockDim.x) {
            peak = MaxOp()(peak, ($A)xp[at(xm, row * k + j)]);
        }
        peak = block_reduce(peak, MaxOp());
        $A total = 0;
        for (i64 j = threadIdx.x; j < k; j += blockDim.x) {
            total += exp(($A)xp[at(xm, row * k + j)] - peak);
        }
        total = block_reduce(total, SumOp());
        $A log_total = log(total);
        for (i64 j = threadIdx.x; j < k; j += blockDim.x) {
            $A shifted = ($A)xp[at(xm, row * k + j)] - peak;
            out[at(om, row * k + j)] = ($T)($LOG ? shifted - log_total : exp(shifted) / total);
        }
    }
}
