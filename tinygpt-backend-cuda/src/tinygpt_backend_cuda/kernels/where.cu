// bool, A, A -> A: out[i] = cond[i] ? a[i] : b[i].
extern "C" __global__ void where(const bool* __restrict__ cp, const i64* cm,
                                 const $T* __restrict__ ap, const i64* am,
                                 const $T* __restrict__ bp, const i64* bm,
                                 $T* __restrict__ out, i64 n) {
    GRID_STRIDE_LOOP(i, n) {
        out[i] = cp[at(cm, i)] ? ap[at(am, i)] : bp[at(bm, i)];
    }
}
