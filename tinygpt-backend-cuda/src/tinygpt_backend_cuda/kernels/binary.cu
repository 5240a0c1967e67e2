// A, A -> A (or bool for comparisons): out[i] = EXPR(a[i], b[i]). One template for every op.
extern "C" __global__ void binary(const $T* __restrict__ ap, const i64* am,
                                  const $T* __restrict__ bp, const i64* bm,
                                  $R* __restrict__ out, i64 n) {
    GRID_STRIDE_LOOP(i, n) {
        $A a = ($A)ap[at(am, i)];
        $A b = ($A)bp[at(bm, i)];
        out[i] = ($R)($EXPR);
    }
}
