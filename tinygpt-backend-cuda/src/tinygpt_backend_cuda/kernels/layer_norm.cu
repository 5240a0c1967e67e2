// Layer norm over the last axis: x (rows, C) -> y (rows, C), mean (rows,), rstd (rows,).
// w and b are (C,) views, read only when has_w / has_b. One block per row. mean and rstd are
// in the compute type $$A (float32 for float16: the protocol's statistics dtype); C = 0 makes
// them 0 / 0 = nan.
extern "C" __global__ void layer_norm(const $T* __restrict__ xp, const i64* xm,
                                      const $T* __restrict__ wp, const i64* wm, int has_w,
                                      const $T* __restrict__ bp, const i64* bm, int has_b,
                                      $A eps, $T* __restrict__ y, $A* __restrict__ mean_out,
                                      $A* __restrict__ rstd_out, i64 rows, i64 C) {
    for (i64 row = blockIdx.x; row < rows; row += gridDim.x) {
        $A total = 0;
        for (i64 c = threadIdx.x; c < C; c += blockDim.x) total += ($A)xp[at(xm, row * C + c)];
        $A mean = block_reduce(total, SumOp()) / C;
        // two passes: sum((x - mean)^2) does not cancel the way E[x^2] - mean^2 does
        $A squares = 0;
        for (i64 c = threadIdx.x; c < C; c += blockDim.x) {
            $A d = ($A)xp[at(xm, row * C + c)] - mean;
            squares += d * d;
        }
        $A rstd = ($A)1 / sqrt(block_reduce(squares, SumOp()) / C + eps);
        for (i64 c = threadIdx.x; c < C; c += blockDim.x) {
            $A v = (($A)xp[at(xm, row * C + c)] - mean) * rstd;
            if (has_w) v *= ($A)wp[at(wm, c)];
            if (has_b) v += ($A)bp[at(bm, c)];
            y[row * C + c] = ($T)v;
        }
        if (threadIdx.x == 0) {
            mean_out[row] = mean;
            rstd_out[row] = rstd;
        }
    }
}

// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * w, xhat = (x - mean) * rstd.
extern "C" __global__ void layer_norm_backward_dx(
    const $T* __restrict__ dyp, const i64* dym, const $T* __restrict__ xp, const i64* xm,
    const $T* __restrict__ wp, const i64* wm, int has_w, const $A* __restrict__ mp,
    const i64* mm, const $A* __restrict__ rp, const i64* rm, $T* __restrict__ dx, i64 rows,
    i64 C) {
    for (i64 row = blockIdx.x; row < rows; row += gridDim.x) {
        $A mean = mp[at(mm, row)];
        $A rstd = rp[at(rm, row)];
        $A g_sum = 0, gx_sum = 0;
        for (i64 c = threadIdx.x; c < C; c += blockDim.x) {
            $A g = ($A)dyp[at(dym, row * C + c)] * (has_w ? ($A)wp[at(wm, c)] : ($A)1);
            $A xhat = (($A)xp[at(xm, row * C + c)] - mean) * rstd;
            g_sum += g;
            gx_sum += g * xhat;
        }
        $A g_mean = block_reduce(g_sum, SumOp()) / C;
        $A gx_mean = block_reduce(gx_sum, SumOp()) / C;
        for (i64 c = threadIdx.x; c < C; c += blockDim.x) {
            $A g = ($A)dyp[at(dym, row * C + c)] * (has_w ? ($A)wp[at(wm, c)] : ($A)1);
            $A xhat = (($A)xp[at(xm, row * C + c)] - mean) * rstd;
            dx[row * C + c] = ($T)(rstd * (g - g_mean - xhat * gx_mean));
        }
    }
}

// dweight[c] = sum_rows dy * xhat, dbias[c] = sum_rows dy, in two stages so that every SM has
// work even when C is only a few hundred columns (one thread per column would be 3 blocks).
// Stage 1: a block of DWDB_COLS columns x DWDB_LANES row lanes sums one chunk of rows
// (blockIdx.y) for its columns (blockIdx.x) into partial[chunk][c], in the compute type; reads
// of a row are coalesced (threadIdx.x walks the columns). Stage 2: one thread per column adds
// the chunks in order, so the result does not depend on scheduling.
#define DWDB_COLS 32
#define DWDB_LANES 8
extern "C" __global__ void layer_norm_backward_dwdb_partial(
    const $T* __restrict__ dyp, const i64* dym, const $T* __restrict__ xp, const i64* xm,
    const $A* __restrict__ mp, const i64* mm, const $A* __restrict__ rp, const i64* rm,
    $A* __restrict__ partial_w, $A* __restrict__ partial_b, i64 rows, i64 C) {
    __shared__ $A w_lanes[DWDB_LANES][DWDB_COLS];
    __shared__ $A b_lanes[DWDB_LANES][DWDB_COLS];
    i64 c = (i64)blockIdx.x * DWDB_COLS + threadIdx.x;
    i64 per_chunk = (rows + gridDim.y - 1) / gridDim.y;
    i64 first = (i64)blockIdx.y * per_chunk;
    i64 end = first + per_chunk < rows ? first + per_chunk : rows;
    $A w_sum = 0, b_sum = 0;
    if (c < C) {
        for (i64 row = first + threadIdx.y; row < end; row += DWDB_LANES) {
            $A dy = ($A)dyp[at(dym, row * C + c)];
            $A xhat = (($A)xp[at(xm, row * C + c)] - mp[at(mm, row)]) * rp[at(rm, row)];
            w_sum += dy * xhat;
            b_sum += dy;
        }
    }
    w_lanes[threadIdx.y][threadIdx.x] = w_sum;
    b_lanes[threadIdx.y][threadIdx.x] = b_sum;
    __syncthreads();
    if (threadIdx.y == 0 && c < C) {
        for (int lane = 1; lane < DWDB_LANES; ++lane) {
            w_sum += w_lanes[lane][threadIdx.x];
            b_sum += b_lanes[lane][threadIdx.x];
        }
        partial_w[blockIdx.y * C + c] = w_sum;
        partial_b[blockIdx.y * C + c] = b_sum;
    }
}

extern "C" __global__ void layer_norm_backward_dwdb(const $A* __restrict__ partial_w,
                                                    const $A* __restrict__ partial_b,
                                                    $T* __restrict__ dw, $T* __restrict__ db,
                                                    i64 chunks, i64 C) {
    GRID_STRIDE_LOOP(c, C) {
        $A w_sum = 0, b_sum = 0;
        for (i64 k = 0; k < chunks; ++k) {
            w_sum += partial_w[k * C + c];
            b_sum += partial_b[k * C + c];
        }
        dw[c] = ($T)w_sum;
        db[c] = ($T)b_sum;
    }
}
