// Core's random spec (tinygpt/philox.py) on the GPU, bit for bit: Philox4x32-10 (Salmon et
// al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011) blocks keyed by the seed,
// from counter block (low, high) on; block g gives samples 2g and 2g+1 from two 53-bit
// doubles. Every double operation below is an explicit round-to-nearest intrinsic: NVRTC
// would otherwise fuse a * b + c into one fma, whose single rounding differs from the two
// roundings NumPy and C do. The coefficients are rendered from tinygpt.philox itself.

__device__ __forceinline__ uint4 philox(uint4 c, uint2 key) {
    for (int round = 0; round < 10; ++round) {
        unsigned int hi0 = __umulhi(0xD2511F53u, c.x);
        unsigned int lo0 = 0xD2511F53u * c.x;
        unsigned int hi1 = __umulhi(0xCD9E8D57u, c.z);
        unsigned int lo1 = 0xCD9E8D57u * c.z;
        c = make_uint4(hi1 ^ c.y ^ key.x, lo1, hi0 ^ c.w ^ key.y, lo0);
        key.x += 0x9E3779B9u;  // the Weyl sequence that schedules the key
        key.y += 0xBB67AE85u;
    }
    return c;
}

// The words of block (low, high) + g: a 128-bit addition.
__device__ __forceinline__ uint4 block(unsigned long long low, unsigned long long high, i64 g,
                                       unsigned long long seed) {
    unsigned long long lo = low + (unsigned long long)g;
    unsigned long long hi = high + (lo < low ? 1ull : 0ull);
    uint4 c = make_uint4((unsigned int)lo, (unsigned int)(lo >> 32), (unsigned int)hi,
                         (unsigned int)(hi >> 32));
    return philox(c, make_uint2((unsigned int)seed, (unsigned int)(seed >> 32)));
}

// [0, 1): 27 bits of x above 26 bits of y, times 2^-53 (each step exact).
__device__ __forceinline__ double unit(unsigned int x, unsigned int y) {
    double top = __dmul_rn((double)(x >> 5), 67108864.0);
    return __dmul_rn(__dadd_rn(top, (double)(y >> 6)), 1.0 / 9007199254740992.0);
}

__device__ __forceinline__ double horner(const double* c, int n, double z) {
    double p = c[n - 1];
    for (int k = n - 2; k >= 0; --k) p = __dadd_rn(__dmul_rn(p, z), c[k]);
    return p;
}

// log(w), w in (0, 1]: w = m 2^e with m in [sqrt(1/2), sqrt(2)), then the atanh series.
__device__ __forceinline__ double log_unit(double w) {
    const double coeffs[] = {$LOG_C};
    int e;
    double m = frexp(w, &e);
    if (m < $SQRT_HALF) {
        m = __dmul_rn(m, 2.0);
        e -= 1;
    }
    double s = __ddiv_rn(__dsub_rn(m, 1.0), __dadd_rn(m, 1.0));
    double series = __dmul_rn(s, horner(coeffs, sizeof(coeffs) / sizeof(double), __dmul_rn(s, s)));
    return __dadd_rn(__dmul_rn((double)e, $LN2), series);
}

// (cos, sin) of 2 pi u: quadrant q, then the series around the quadrant's middle.
__device__ __forceinline__ void sincos_turn(double u, double* cos_out, double* sin_out) {
    const double sin_c[] = {$SIN_C};
    const double cos_c[] = {$COS_C};
    double t = __dmul_rn(4.0, u);
    double q = floor(t);
    double p = __dmul_rn(__dsub_rn(__dsub_rn(t, q), 0.5), $HALF_PI);
    double z = __dmul_rn(p, p);
    double sin_p = __dmul_rn(p, horner(sin_c, sizeof(sin_c) / sizeof(double), z));
    double cos_p = horner(cos_c, sizeof(cos_c) / sizeof(double), z);
    double diff = __dsub_rn(cos_p, sin_p);
    double total = __dadd_rn(cos_p, sin_p);
    int quadrant = (int)q;
    double c = quadrant == 0 ? diff : quadrant == 1 ? -total : quadrant == 2 ? -diff : total;
    double s = quadrant == 0 ? total : quadrant == 1 ? diff : quadrant == 2 ? -total : -diff;
    *cos_out = __dmul_rn($SQRT_HALF, c);
    *sin_out = __dmul_rn($SQRT_HALF, s);
}

// dist: 0 uniform [a, b), 1 normal (mean a, std b), 2 bernoulli (1 with probability a).
// `cap` is the largest value of the output type below b (uniform, floating), else +inf.
extern "C" __global__ void random($T* __restrict__ out, i64 n, unsigned long long seed,
                                  unsigned long long low, unsigned long long high, int dist,
                                  double a, double b, double cap) {
    i64 pairs = (n + 1) / 2;
    GRID_STRIDE_LOOP(g, pairs) {
        uint4 bits = block(low, high, g, seed);
        double u0 = unit(bits.x, bits.y);
        double u1 = unit(bits.z, bits.w);
        double v[2];
        if (dist == 0) {
            double width = __dsub_rn(b, a);
            v[0] = __dadd_rn(a, __dmul_rn(width, u0));
            v[1] = __dadd_rn(a, __dmul_rn(width, u1));
        } else if (dist == 1) {
            // Box-Muller; 1 - u0 is in (0, 1], so the log is finite
            double radius = sqrt(__dmul_rn(-2.0, log_unit(__dsub_rn(1.0, u0))));
            double cos_a, sin_a;
            sincos_turn(u1, &cos_a, &sin_a);
            v[0] = __dadd_rn(a, __dmul_rn(b, __dmul_rn(radius, cos_a)));
            v[1] = __dadd_rn(a, __dmul_rn(b, __dmul_rn(radius, sin_a)));
        } else {
            v[0] = u0 < a ? 1.0 : 0.0;
            v[1] = u1 < a ? 1.0 : 0.0;
        }
        for (int e = 0; e < 2; ++e) {
            i64 i = 2 * g + e;
            if (i >= n) break;
            double w = v[e];
            $T t = ($T)($STORE);
            if ($CLAMP && cap < b && (double)t >= b) t = ($T)cap;
            out[i] = t;
        }
    }
}

// The raw words: word i is word i % 4 of block (low, high) + i / 4, as int64.
extern "C" __global__ void random_bits(i64* __restrict__ out, i64 n, unsigned long long seed,
                                       unsigned long long low, unsigned long long high) {
    i64 blocks = (n + 3) / 4;
    GRID_STRIDE_LOOP(g, blocks) {
        uint4 bits = block(low, high, g, seed);
        unsigned int words[4] = {bits.x, bits.y, bits.z, bits.w};
        for (int k = 0; k < 4; ++k) {
            if (4 * g + k < n) out[4 * g + k] = (i64)words[k];
        }
    }
}
