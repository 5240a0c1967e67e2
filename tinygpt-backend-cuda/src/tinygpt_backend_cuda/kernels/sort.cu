// argsort along one axis, x viewed as (outer, k, inner) around it; out is dense, x's shape.
// Each element finds its own rank by counting the elements of its run that sort before it,
// then writes its position there: O(k) reads per element (O(k^2) per run), but every
// iteration is independent, needs no shared memory and gives one exact permutation.
// Stable in both directions (equal values keep their order); NaN sorts as the largest value.
__device__ __forceinline__ int sort_compare($A a, $A b) {
    bool a_nan = a != a;  // always false for integers and bool
    bool b_nan = b != b;
    if (a_nan || b_nan) return (int)a_nan - (int)b_nan;
    return (int)(a > b) - (int)(a < b);
}
extern "C" __global__ void argsort(const $T* __restrict__ xp, const i64* xm,
                                   i64* __restrict__ out, i64 k, i64 inner, i64 descending,
                                   i64 n) {
    GRID_STRIDE_LOOP(o, n) {
        i64 r = o % inner;
        i64 i = (o / inner) % k;
        i64 base = (o / (inner * k)) * k * inner + r;  // the run's element 0, row-major
        $A v = ($A)xp[at(xm, base + i * inner)];
        i64 rank = 0;
        for (i64 j = 0; j < k; ++j) {
            int c = sort_compare(($A)xp[at(xm, base + j * inner)], v);
            if (descending) c = -c;
            rank += (c < 0 || (c == 0 && j < i)) ? 1 : 0;
        }
        out[base + rank * inner] = i;
    }
}
