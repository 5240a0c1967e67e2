// In-place writes into a strided view `dst` (never stride 0 on a dimension of size > 1).
// setitem: dst[i] = src[i] (the caller compacts `src` first when it may overlap `dst`).
extern "C" __global__ void setitem($T* dp, const i64* dm, const $T* sp, const i64* sm, i64 n) {
    GRID_STRIDE_LOOP(i, n) {
        dp[at(dm, i)] = sp[at(sm, i)];
    }
}

// fill: dst[i] = value (converted to $T on the host side already, passed as $A).
extern "C" __global__ void fill($T* dp, const i64* dm, $A value, i64 n) {
    GRID_STRIDE_LOOP(i, n) {
        dp[at(dm, i)] = ($T)value;
    }
}
