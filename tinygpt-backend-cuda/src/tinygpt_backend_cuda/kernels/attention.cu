// Fused attention: softmax(q @ k^T * scale [+ causal mask]) @ v.
// q (B, H, Tq, D), k and v (B, H, Tk, D), any strides (meta of rank 4). With `causal`, query
// i sits at position Tk - Tq + i and sees keys 0 .. that position (bottom-right aligned).
// One block per query row (or per key row in backward), the row's scores in shared memory:
// a simple row-tiled scheme, not FlashAttention; the shared memory bounds Tk (see backend.py).
// The saved lse is in the compute type $$A (float32 for float16 inputs). A query that sees no
// key (Tk = 0, or causal with Tq > Tk) gets out 0 and lse -inf, as an empty softmax in
// PyTorch. These are the fallback: attention_tiled.cu takes D <= 128 (fused.py chooses).

extern __shared__ double shared_words[];  // double: aligned for every $$A

__device__ __forceinline__ i64 visible_keys(int causal, i64 i, i64 Tq, i64 Tk) {
    i64 last = Tk - Tq + i;  // the query's position
    return causal ? (last + 1 < Tk ? last + 1 : Tk) : Tk;
}

// out (B, H, Tq, D) dense, lse (B, H, Tq) dense.
extern "C" __global__ void attention(const $T* qp, const i64* qm, const $T* kp, const i64* km,
                                     const $T* vp, const i64* vm, int causal, $A scale,
                                     $T* __restrict__ out, $A* __restrict__ lse_out,
                                     i64 H, i64 Tq, i64 Tk, i64 D) {
    $A* q_row = ($A*)shared_words;  // (D,)
    $A* scores = q_row + D;         // (Tk,)
    i64 bh = blockIdx.x / Tq, i = blockIdx.x % Tq, b = bh / H, h = bh % H;
    i64 keys = visible_keys(causal, i, Tq, Tk);
    for (i64 d = threadIdx.x; d < D; d += blockDim.x) q_row[d] = ($A)qp[at4(qm, b, h, i, d)];
    __syncthreads();
    $A peak = -1e30;
    for (i64 j = threadIdx.x; j < keys; j += blockDim.x) {
        $A s = 0;
        for (i64 d = 0; d < D; ++d) s += q_row[d] * ($A)kp[at4(km, b, h, j, d)];
        scores[j] = s * scale;
        peak = MaxOp()(peak, s * scale);
    }
    peak = block_reduce(peak, MaxOp());
    $A total = 0;
    for (i64 j = threadIdx.x; j < keys; j += blockDim.x) {
        scores[j] = exp(scores[j] - peak);
        total += scores[j];
    }
    total = block_reduce(total, SumOp());  // also the barrier before scores are read
    for (i64 d = threadIdx.x; d < D; d += blockDim.x) {
        $A acc = 0;
        for (i64 j = 0; j < keys; ++j) acc += scores[j] * ($A)vp[at4(vm, b, h, j, d)];
        out[blockIdx.x * D + d] = keys > 0 ? ($T)(acc / total) : ($T)0;
    }
    $A no_keys = -($A)__int_as_float(0x7f800000);  // -inf: the logsumexp of nothing
    if (threadIdx.x == 0) lse_out[blockIdx.x] = keys > 0 ? peak + log(total) : no_keys;
}

// Backward, part 1 (one block per query row i):
//   delta_i = dout_i . out_i,  dS_ij = P_ij (dout_i . v_j - delta_i),  dq_i = scale sum_j dS_ij k_j
// and saves delta_i for part 2.
extern "C" __global__ void attention_backward_dq(
    const $T* dop, const i64* dom, const $T* qp, const i64* qm, const $T* kp, const i64* km,
    const $T* vp, const i64* vm, const $T* op, const i64* om, const $A* lp, const i64* lm,
    int causal, $A scale, $T* __restrict__ dq, $A* __restrict__ delta, i64 H, i64 Tq, i64 Tk,
    i64 D) {
    $A* q_row = ($A*)shared_words;  // (D,)
    $A* do_row = q_row + D;         // (D,)
    $A* ds = do_row + D;            // (Tk,)
    i64 bh = blockIdx.x / Tq, i = blockIdx.x % Tq, b = bh / H, h = bh % H;
    i64 keys = visible_keys(causal, i, Tq, Tk);
    $A lse = lp[at(lm, blockIdx.x)];
    $A dot = 0;
    for (i64 d = threadIdx.x; d < D; d += blockDim.x) {
        q_row[d] = ($A)qp[at4(qm, b, h, i, d)];
        do_row[d] = ($A)dop[at4(dom, b, h, i, d)];
        dot += do_row[d] * ($A)op[at4(om, b, h, i, d)];
    }
    $A delta_i = block_reduce(dot, SumOp());  // also the barrier after the loads
    for (i64 j = threadIdx.x; j < keys; j += blockDim.x) {
        $A s = 0, dp = 0;
        for (i64 d = 0; d < D; ++d) {
            s += q_row[d] * ($A)kp[at4(km, b, h, j, d)];
            dp += do_row[d] * ($A)vp[at4(vm, b, h, j, d)];
        }
        ds[j] = exp(s * scale - lse) * (dp - delta_i);
    }
    __syncthreads();
    for (i64 d = threadIdx.x; d < D; d += blockDim.x) {
        $A acc = 0;
        for (i64 j = 0; j < keys; ++j) acc += ds[j] * ($A)kp[at4(km, b, h, j, d)];
        dq[blockIdx.x * D + d] = ($T)(acc * scale);
    }
    if (threadIdx.x == 0) delta[blockIdx.x] = delta_i;
}

// Backward, part 2 (one block per key row j): dv_j = sum_i P_ij dout_i,
// dk_j = scale sum_i dS_ij q_i, over the queries i that see key j. No atomics needed.
extern "C" __global__ void attention_backward_dkdv(
    const $T* dop, const i64* dom, const $T* qp, const i64* qm, const $T* kp, const i64* km,
    const $T* vp, const i64* vm, const $A* lp, const i64* lm, const $A* __restrict__ delta,
    int causal, $A scale, $T* __restrict__ dk, $T* __restrict__ dv, i64 H, i64 Tq, i64 Tk,
    i64 D) {
    $A* k_row = ($A*)shared_words;  // (D,)
    $A* v_row = k_row + D;          // (D,)
    $A* p = v_row + D;              // (Tq,)
    $A* ds = p + Tq;                // (Tq,)
    i64 bh = blockIdx.x / Tk, j = blockIdx.x % Tk, b = bh / H, h = bh % H;
    for (i64 d = threadIdx.x; d < D; d += blockDim.x) {
        k_row[d] = ($A)kp[at4(km, b, h, j, d)];
        v_row[d] = ($A)vp[at4(vm, b, h, j, d)];
    }
    __syncthreads();
    for (i64 i = threadIdx.x; i < Tq; i += blockDim.x) {
        p[i] = 0;
        ds[i] = 0;
        if (j >= visible_keys(causal, i, Tq, Tk)) continue;  // masked: P_ij = 0
        $A s = 0, dp = 0;
        for (i64 d = 0; d < D; ++d) {
            s += ($A)qp[at4(qm, b, h, i, d)] * k_row[d];
            dp += ($A)dop[at4(dom, b, h, i, d)] * v_row[d];
        }
        p[i] = exp(s * scale - lp[at(lm, bh * Tq + i)]);
        ds[i] = p[i] * (dp - delta[bh * Tq + i]);
    }
    __syncthreads();
    for (i64 d = threadIdx.x; d < D; d += blockDim.x) {
        $A dv_acc = 0, dk_acc = 0;
        for (i64 i = 0; i < Tq; ++i) {
            dv_acc += p[i] * ($A)dop[at4(dom, b, h, i, d)];
            dk_acc += ds[i] * ($A)qp[at4(qm, b, h, i, d)];
        }
        dk[blockIdx.x * D + d] = ($T)(dk_acc * scale);
        dv[blockIdx.x * D + d] = ($T)dv_acc;
    }
}
