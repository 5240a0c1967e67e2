// A, scalar -> A: out[i] = EXPR(a, b) with one side the scalar `s` (already of a's dtype).
extern "C" __global__ void scalar(const $T* __restrict__ xp, const i64* xm, $A s,
                                  $R* __restrict__ out, i64 n) {
    GRID_STRIDE_LOOP(i, n) {
        $A x = ($A)xp[at(xm, i)];
        $A a = $LHS;
        $A b = $RHS;
        out[i] = ($R)($EXPR);
    }
}
