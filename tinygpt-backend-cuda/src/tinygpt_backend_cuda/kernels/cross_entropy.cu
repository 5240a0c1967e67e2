// Cross-entropy per row: logits (N, C), int64 targets (N,) -> loss (N,), lse (N,).
// loss = logsumexp(logits) - logits[target]; 0 where target == ignore_index. One block per row.
// lse is in the compute type $$A (float32 for float16 logits: 1e4 + log 3 needs the bits);
// with C = 0 (every target ignored) it is the logsumexp of nothing, -inf.
extern "C" __global__ void cross_entropy(const $T* __restrict__ xp, const i64* xm,
                                         const i64* __restrict__ tp, const i64* tm,
                                         i64 ignore_index, $T* __restrict__ loss,
                                         $A* __restrict__ lse_out, i64 rows, i64 C) {
    for (i64 row = blockIdx.x; row < rows; row += gridDim.x) {
        $A peak = -($A)__int_as_float(0x7f800000);  // -inf, not element 0: C may be 0
        for (i64 c = threadIdx.x; c < C; c += blockDim.x) {
            peak = MaxOp()(peak, ($A)xp[at2(xm, row, c)]);
        }
        peak = block_reduce(peak, MaxOp());
        $A total = 0;
        for (i64 c = threadIdx.x; c < C; c += blockDim.x) {
            total += exp(($A)xp[at2(xm, row, c)] - peak);
        }
        $A lse = peak + log(block_reduce(total, SumOp()));
        if (threadIdx.x == 0) {
            i64 target = tp[at(tm, row)];
            bool ignored = target == ignore_index;
            bool bad = !ignored && (target < 0 || target >= C);  // recorded by check_index
            $A picked = (ignored || bad) ? ($A)0 : ($A)xp[at2(xm, row, target)];
            loss[row] = ($T)(ignored ? ($A)0 : lse - picked);
            lse_out[row] = lse;
        }
    }
}

// dlogits[n, c] = dloss[n] * (softmax(logits)[n, c] - (c == target[n])); 0 on ignored rows.
// One block per row (rows past the grid loop), its threads over the columns: no 64-bit
// division per element, and the row's target, lse and dloss are read once per thread.
extern "C" __global__ void cross_entropy_backward(
    const $T* __restrict__ dp, const i64* dm, const $T* __restrict__ xp, const i64* xm,
    const i64* __restrict__ tp, const i64* tm, const $A* __restrict__ lp, const i64* lm,
    i64 ignore_index, $T* __restrict__ dx, i64 rows, i64 C) {
    for (i64 row = blockIdx.x; row < rows; row += gridDim.x) {
        i64 target = tp[at(tm, row)];
        bool valid = target != ignore_index && target >= 0 && target < C;  // bad: check_index
        $A lse = lp[at(lm, row)];
        $A dloss = valid ? ($A)dp[at(dm, row)] : ($A)0;
        for (i64 c = threadIdx.x; c < C; c += blockDim.x) {
            $A p = exp(($A)xp[at2(xm, row, c)] - lse);
            dx[row * C + c] = ($T)(valid ? dloss * (p - (c == target ? ($A)1 : ($A)0)) : ($A)0);
        }
    }
}
