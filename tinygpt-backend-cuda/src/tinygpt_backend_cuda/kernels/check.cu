// Device-side bounds check of an int64 index operand, so that no step reads the device back
// to validate its indices. A value outside [0, size) (other than `ignore` where `use_ignore`)
// records (code, value, position, size) in `err`; the first error wins, later ones are
// dropped. The ops that use the index guard their own reads and skip their writes, and the
// backend raises the recorded error at its next read of the device (`errors.py`).
extern "C" __global__ void check_index(const i64* __restrict__ ip, const i64* im, i64 size,
                                       int use_ignore, i64 ignore, i64 code, i64* err,
                                       i64 n) {
    GRID_STRIDE_LOOP(j, n) {
        i64 v = ip[at(im, j)];
        bool bad = v < 0 || v >= size;
        if (bad && !(use_ignore && v == ignore)) {
            unsigned long long* slot = (unsigned long long*)err;
            if (atomicCAS(slot, 0ULL, (unsigned long long)code) == 0ULL) {
                err[1] = v;
                err[2] = j;
                err[3] = size;
            }
        }
    }
}
