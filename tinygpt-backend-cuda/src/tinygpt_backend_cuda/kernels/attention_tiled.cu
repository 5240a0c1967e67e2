// Tiled attention (FlashAttention-style): softmax(q @ k^T * scale [+ causal mask]) @ v and its
// backward, built for head sizes D <= HEAD; attention.cu's row kernels take the rest (fused.py's
// `attention_plan` chooses). Same contract as attention.cu: q (B, H, Tq, D), k and v
// (B, H, Tk, D) of any strides; with `causal`, query i sits at position Tk - Tq + i and sees
// keys 0 .. that position (bottom-right aligned); out, dq, dk, dv are dense, the saved lse
// (and delta) dense in the compute type (float32 for float16 inputs).
//
// Layout: a block owns ROWS rows (queries; keys in dkdv), GROUP threads per row, and each of
// a row's threads holds every GROUP-th head dimension (d = part, part + GROUP, ...) of its row
// in registers: SLOTS = HEAD / GROUP values. The other operand streams through shared memory
// in tiles of STREAM rows of HEAD values (zeros past D: a constant stride, so every shared
// address is a constant offset), loaded with consecutive threads on consecutive elements
// (coalesced along D). A dot product is each thread's partial sum over its dimensions, then a
// butterfly over the row's GROUP lanes (`group_sum`). Every statistic and accumulator is in
// the compute type (float for float16 inputs).
//
// A row that sees no key (Tk = 0, or causal with Tq > Tk) gets out 0 and lse -inf, as an
// empty softmax in PyTorch, and zero gradients.
// NOTE: every thread of a block runs every loop and every `group_sum`, rows past the end
// included (masked), so the shuffles and barriers are always reached by the whole block.

constexpr int ROWS = $ROWS;      // rows per block: blockDim.x == ROWS * GROUP
constexpr int STREAM = $TILE;    // rows of the streamed operand per shared-memory tile
constexpr int GROUP = $GROUP;    // threads per row (a power of two, <= 32)
constexpr int HEAD = $HEAD;      // the largest D of this build: a tile row's stride
constexpr int SLOTS = HEAD / GROUP;  // head dimensions per thread
static_assert(ROWS <= 2 * STREAM, "the two tiles must hold a block's own rows for staging");
static_assert(32 % GROUP == 0 && HEAD % GROUP == 0, "a row's threads lie in one warp");

extern __shared__ double tiled_words[];  // double: aligned for every compute type

__device__ __forceinline__ $A minus_infinity() { return -($A)__int_as_float(0x7f800000); }

__device__ __forceinline__ i64 smaller(i64 a, i64 b) { return a < b ? a : b; }

// How many keys query i sees (may be <= 0: none).
__device__ __forceinline__ i64 keys_seen(int causal, i64 i, i64 Tq, i64 Tk) {
    return causal ? smaller(Tk - Tq + i + 1, Tk) : Tk;
}

// The sum of `value` over the GROUP threads of this thread's row; every one of them gets the
// same bits (each adds the same pairs, and a + b == b + a exactly).
__device__ __forceinline__ $A group_sum($A value) {
#pragma unroll
    for (int mask = GROUP / 2; mask > 0; mask /= 2) {
        value += __shfl_xor_sync(0xffffffffu, value, mask);
    }
    return value;
}

// tile (rows, HEAD) <- rows r0 .. r0 + count of x[b, h], zeros past count and past D: thread t
// loads elements t, t + blockDim.x, ... so a warp reads consecutive d of a row.
__device__ void stage($A* tile, const $T* xp, const i64* xm, i64 b, i64 h, i64 r0, i64 count,
                      int rows, i64 D) {
    for (int e = threadIdx.x; e < rows * HEAD; e += blockDim.x) {
        int r = e / HEAD;
        int d = e % HEAD;
        tile[e] = r < count && d < D ? ($A)xp[at4(xm, b, h, r0 + r, d)] : ($A)0;
    }
}

// slots[s] <- tile[row, part + s * GROUP]: a row's values, spread over its group.
__device__ __forceinline__ void take_row($A (&slots)[SLOTS], const $A* tile, int row, int part) {
#pragma unroll
    for (int s = 0; s < SLOTS; ++s) slots[s] = tile[row * HEAD + part + s * GROUP];
}

// This thread's share of the dot product of its row with tile row c (the zeros past D add 0).
__device__ __forceinline__ $A partial_dot(const $A (&slots)[SLOTS], const $A* tile, int c,
                                          int part) {
    $A sum = 0;
#pragma unroll
    for (int s = 0; s < SLOTS; ++s) sum += slots[s] * tile[c * HEAD + part + s * GROUP];
    return sum;
}

// acc += weight * tile[c, this thread's dimensions]
__device__ __forceinline__ void add_row($A (&acc)[SLOTS], $A weight, const $A* tile, int c,
                                       int part) {
#pragma unroll
    for (int s = 0; s < SLOTS; ++s) acc[s] += weight * tile[c * HEAD + part + s * GROUP];
}

// dst[r0 .. r0 + count) (dense rows of D) <- acc * factor, staged through `tile` so that the
// stores are coalesced. Barriers on both sides: `tile` may be in use before and after.
__device__ void store_rows($T* dst, i64 r0, i64 count, const $A (&acc)[SLOTS], $A factor,
                           $A* tile, int row, int part, i64 D) {
    __syncthreads();  // every thread is done reading `tile`
#pragma unroll
    for (int s = 0; s < SLOTS; ++s) tile[row * HEAD + part + s * GROUP] = acc[s] * factor;
    __syncthreads();  // the rows are in `tile`
    int width = (int)D;
    int n = (int)count * width;
    for (int e = threadIdx.x; e < n; e += blockDim.x) {
        int r = e / width;
        dst[r0 * D + e] = ($T)tile[r * HEAD + e - r * width];
    }
    __syncthreads();  // `tile` is free again
}

// --------------------------------------------------------------------------------- forward
// out (B, H, Tq, D) dense, lse (B, H, Tq) dense. One block per (b, h, tile of ROWS queries),
// looping past gridDim.x. Online softmax: a running max m and sum l per row; each key tile
// rescales the accumulator by exp(m_old - m_new).
extern "C" __global__ void attention_tiled(const $T* qp, const i64* qm, const $T* kp,
                                           const i64* km, const $T* vp, const i64* vm,
                                           int causal, $A scale, $T* __restrict__ out,
                                           $A* __restrict__ lse_out, i64 B, i64 H, i64 Tq,
                                           i64 Tk, i64 D) {
    $A* k_tile = ($A*)tiled_words;        // (STREAM, HEAD)
    $A* v_tile = k_tile + STREAM * HEAD;  // (STREAM, HEAD)
    int row = threadIdx.x / GROUP, part = threadIdx.x % GROUP;
    i64 q_tiles = (Tq + ROWS - 1) / ROWS;
    for (i64 work = blockIdx.x; work < B * H * q_tiles; work += gridDim.x) {
        i64 bh = work / q_tiles, i0 = work % q_tiles * ROWS, b = bh / H, h = bh % H;
        i64 rows = smaller(ROWS, Tq - i0);
        i64 i = i0 + row;
        i64 seen = row < rows ? keys_seen(causal, i, Tq, Tk) : 0;
        // causal: the key tiles past the block's last query's position are skipped
        i64 key_end = causal ? smaller(Tk - Tq + i0 + rows, Tk) : Tk;
        $A q[SLOTS], o[SLOTS];
        stage(k_tile, qp, qm, b, h, i0, rows, ROWS, D);  // q through shared: coalesced
        __syncthreads();
        take_row(q, k_tile, row, part);
#pragma unroll
        for (int s = 0; s < SLOTS; ++s) o[s] = 0;
        $A m = minus_infinity(), l = 0;
        for (i64 j0 = 0; j0 < key_end; j0 += STREAM) {
            __syncthreads();  // every thread is done with the previous tile (or with q)
            stage(k_tile, kp, km, b, h, j0, Tk - j0, STREAM, D);
            stage(v_tile, vp, vm, b, h, j0, Tk - j0, STREAM, D);
            __syncthreads();  // the tiles are loaded
            i64 left = seen - j0;  // keys of this tile the row sees: the first `visible`
            int visible = left <= 0 ? 0 : (left < STREAM ? (int)left : STREAM);
            $A p[STREAM];
            $A tile_max = minus_infinity();
#pragma unroll
            for (int c = 0; c < STREAM; ++c) {
                $A score = group_sum(partial_dot(q, k_tile, c, part)) * scale;
                p[c] = c < visible ? score : minus_infinity();
                tile_max = MaxOp()(tile_max, p[c]);
            }
            $A m_new = MaxOp()(m, tile_max);
            if (m_new == minus_infinity()) continue;  // nothing seen yet: no exp(-inf - -inf)
            $A rescale = exp(m - m_new);  // 0 on the first seen tile (m = -inf)
            $A total = 0;
#pragma unroll
            for (int c = 0; c < STREAM; ++c) {
                p[c] = exp(p[c] - m_new);
                total += p[c];
            }
            l = l * rescale + total;
#pragma unroll
            for (int s = 0; s < SLOTS; ++s) o[s] *= rescale;
#pragma unroll
            for (int c = 0; c < STREAM; ++c) add_row(o, p[c], v_tile, c, part);
            m = m_new;
        }
        // l == 0: no key seen (an empty softmax); a NaN l still propagates
        $A inverse = l == 0 ? ($A)0 : ($A)1 / l;
        if (part == 0 && row < rows) {
            lse_out[bh * Tq + i] = l == 0 ? minus_infinity() : m + log(l);
        }
        store_rows(out, bh * Tq + i0, rows, o, inverse, k_tile, row, part, D);
    }
}

// -------------------------------------------------------------------------------- backward
// With P_ij = exp(scale q_i . k_j - lse_i) and delta_i = dout_i . out_i:
//   dS_ij = P_ij (dout_i . v_j - delta_i),  dq_i = scale sum_j dS_ij k_j,
//   dk_j = scale sum_i dS_ij q_i,  dv_j = sum_i P_ij dout_i.
// Two kernels, each output row owned by one block (no atomics, a fixed summation order):
// _dq first (it saves delta), then _dkdv on the same stream.

// dq (B, H, Tq, D) dense and delta (B, H, Tq) dense: one block per (b, h, tile of queries),
// streaming the key tiles the queries see.
extern "C" __global__ void attention_tiled_backward_dq(
    const $T* dop, const i64* dom, const $T* qp, const i64* qm, const $T* kp, const i64* km,
    const $T* vp, const i64* vm, const $T* op, const i64* om, const $A* lp, const i64* lm,
    int causal, $A scale, $T* __restrict__ dq, $A* __restrict__ delta, i64 B, i64 H, i64 Tq,
    i64 Tk, i64 D) {
    $A* k_tile = ($A*)tiled_words;        // (STREAM, HEAD)
    $A* v_tile = k_tile + STREAM * HEAD;  // (STREAM, HEAD)
    int row = threadIdx.x / GROUP, part = threadIdx.x % GROUP;
    i64 q_tiles = (Tq + ROWS - 1) / ROWS;
    for (i64 work = blockIdx.x; work < B * H * q_tiles; work += gridDim.x) {
        i64 bh = work / q_tiles, i0 = work % q_tiles * ROWS, b = bh / H, h = bh % H;
        i64 rows = smaller(ROWS, Tq - i0);
        i64 i = i0 + row;
        bool live = row < rows;
        i64 seen = live ? keys_seen(causal, i, Tq, Tk) : 0;
        i64 key_end = causal ? smaller(Tk - Tq + i0 + rows, Tk) : Tk;
        $A q[SLOTS], dout[SLOTS], acc[SLOTS];
        stage(k_tile, qp, qm, b, h, i0, rows, ROWS, D);  // q, dout and out through shared
        __syncthreads();
        take_row(q, k_tile, row, part);
        __syncthreads();
        stage(k_tile, dop, dom, b, h, i0, rows, ROWS, D);
        __syncthreads();
        take_row(dout, k_tile, row, part);
        __syncthreads();
        stage(k_tile, op, om, b, h, i0, rows, ROWS, D);
        __syncthreads();
        $A delta_i = group_sum(partial_dot(dout, k_tile, row, part));
        $A lse = live ? lp[at(lm, bh * Tq + i)] : ($A)0;
#pragma unroll
        for (int s = 0; s < SLOTS; ++s) acc[s] = 0;
        for (i64 j0 = 0; j0 < key_end; j0 += STREAM) {
            __syncthreads();  // every thread is done with the previous tile (or with out)
            stage(k_tile, kp, km, b, h, j0, Tk - j0, STREAM, D);
            stage(v_tile, vp, vm, b, h, j0, Tk - j0, STREAM, D);
            __syncthreads();  // the tiles are loaded
            int columns = (int)smaller(STREAM, Tk - j0);  // the same for the whole block
            for (int c = 0; c < columns; ++c) {
                $A score = group_sum(partial_dot(q, k_tile, c, part)) * scale;
                $A dp = group_sum(partial_dot(dout, v_tile, c, part));
                $A ds = j0 + c < seen ? exp(score - lse) * (dp - delta_i) : ($A)0;
                add_row(acc, ds, k_tile, c, part);
            }
        }
        if (part == 0 && live) delta[bh * Tq + i] = delta_i;
        store_rows(dq, bh * Tq + i0, rows, acc, scale, k_tile, row, part, D);
    }
}

// dk, dv (B, H, Tk, D) dense: one block per (b, h, tile of ROWS keys), streaming the tiles of
// the queries that see them (causal: from query Tq - Tk + j0 on). `delta` from _dq.
extern "C" __global__ void attention_tiled_backward_dkdv(
    const $T* dop, const i64* dom, const $T* qp, const i64* qm, const $T* kp, const i64* km,
    const $T* vp, const i64* vm, const $A* lp, const i64* lm, const $A* __restrict__ delta,
    int causal, $A scale, $T* __restrict__ dk, $T* __restrict__ dv, i64 B, i64 H, i64 Tq,
    i64 Tk, i64 D) {
    $A* q_tile = ($A*)tiled_words;           // (STREAM, HEAD)
    $A* do_tile = q_tile + STREAM * HEAD;    // (STREAM, HEAD)
    $A* lse_tile = do_tile + STREAM * HEAD;  // (STREAM,)
    $A* delta_tile = lse_tile + STREAM;      // (STREAM,)
    int row = threadIdx.x / GROUP, part = threadIdx.x % GROUP;
    i64 k_tiles = (Tk + ROWS - 1) / ROWS;
    for (i64 work = blockIdx.x; work < B * H * k_tiles; work += gridDim.x) {
        i64 bh = work / k_tiles, j0 = work % k_tiles * ROWS, b = bh / H, h = bh % H;
        i64 rows = smaller(ROWS, Tk - j0);
        i64 j = j0 + row;
        // queries before i_start see none of this block's keys (causal)
        i64 i_start = causal ? Tq - Tk + j0 : 0;
        i_start = i_start > 0 ? i_start : 0;
        $A k[SLOTS], v[SLOTS], dk_acc[SLOTS], dv_acc[SLOTS];
        stage(q_tile, kp, km, b, h, j0, rows, ROWS, D);  // k and v through shared
        __syncthreads();
        take_row(k, q_tile, row, part);
        __syncthreads();
        stage(q_tile, vp, vm, b, h, j0, rows, ROWS, D);
        __syncthreads();
        take_row(v, q_tile, row, part);
#pragma unroll
        for (int s = 0; s < SLOTS; ++s) dk_acc[s] = dv_acc[s] = 0;
        for (i64 i0 = i_start; i0 < Tq; i0 += STREAM) {
            __syncthreads();  // every thread is done with the previous tile (or with v)
            stage(q_tile, qp, qm, b, h, i0, Tq - i0, STREAM, D);
            stage(do_tile, dop, dom, b, h, i0, Tq - i0, STREAM, D);
            for (int c = threadIdx.x; c < STREAM; c += blockDim.x) {
                bool inside = i0 + c < Tq;
                lse_tile[c] = inside ? lp[at(lm, bh * Tq + i0 + c)] : ($A)0;
                delta_tile[c] = inside ? delta[bh * Tq + i0 + c] : ($A)0;
            }
            __syncthreads();  // the tiles are loaded
            int columns = (int)smaller(STREAM, Tq - i0);  // the same for the whole block
            for (int c = 0; c < columns; ++c) {
                $A score = group_sum(partial_dot(k, q_tile, c, part)) * scale;
                $A dp = group_sum(partial_dot(v, do_tile, c, part));
                bool sees = row < rows && j < keys_seen(causal, i0 + c, Tq, Tk);
                $A p = sees ? exp(score - lse_tile[c]) : ($A)0;
                add_row(dv_acc, p, do_tile, c, part);
                add_row(dk_acc, p * (dp - delta_tile[c]), q_tile, c, part);
            }
        }
        store_rows(dk, bh * Tk + j0, rows, dk_acc, scale, q_tile, row, part, D);
        store_rows(dv, bh * Tk + j0, rows, dv_acc, ($A)1, q_tile, row, part, D);
    }
}
