// A -> A (and copy, cast): out[i] = EXPR(x[i]), out dense. One template for every unary op.
// $$T input type, $$R output type, $$A the type the expression is computed in.
extern "C" __global__ void unary(const $T* __restrict__ xp, const i64* xm,
                                 $R* __restrict__ out, i64 n) {
    GRID_STRIDE_LOOP(i, n) {
        $A x = ($A)xp[at(xm, i)];
        out[i] = ($R)($EXPR);
    }
}
