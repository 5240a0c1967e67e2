// x viewed as (outer, size, inner) around `axis`; index has `count` elements.
// An index out of range was recorded in `err` by check.cu's check_index, launched first on
// the same stream: it is never dereferenced, and scatter_add writes nothing at all.
// gather: out (outer, count, inner) = x[p, index[j], r]
extern "C" __global__ void gather(const $T* __restrict__ xp, const i64* xm,
                                  const i64* __restrict__ ip, const i64* im,
                                  $T* __restrict__ out, i64 count, i64 size, i64 inner,
                                  i64 n) {
    GRID_STRIDE_LOOP(o, n) {
        i64 r = o % inner;
        i64 j = (o / inner) % count;
        i64 p = o / (inner * count);
        i64 k = ip[at(im, j)];
        if (k < 0 || k >= size) {
            out[o] = ($T)0;  // the error is raised at the next read; never read out of range
            continue;
        }
        out[o] = xp[at(xm, (p * size + k) * inner + r)];
    }
}

// scatter_add, the adjoint of gather: dst[p, index[j], r] += src[p, j, r]. Repeated indices
// must all land, so every add is atomic (on bool, a logical or: see prelude.cuh).
extern "C" __global__ void scatter_add($T* dp, const i64* dm,
                                       const i64* __restrict__ ip, const i64* im,
                                       const $T* __restrict__ sp, const i64* sm,
                                       i64 count, i64 size, i64 inner,
                                       const i64* __restrict__ err, i64 n) {
    if (err[0] != 0) return;  // an index is out of range (or an earlier op failed): no write
    GRID_STRIDE_LOOP(o, n) {
        i64 r = o % inner;
        i64 j = (o / inner) % count;
        i64 p = o / (inner * count);
        i64 target = (p * size + ip[at(im, j)]) * inner + r;
        atomic_add(&dp[at(dm, target)], ($A)sp[at(sm, o)]);
    }
}
