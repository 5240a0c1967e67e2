// Counter-based random numbers: Philox-4x32-10 (Salmon et al., "Parallel random numbers:
// as easy as 1, 2, 3", SC 2011). Element pair g (elements 2g and 2g+1) comes from the block
// cipher of counter (g, 0, 0, 0) under key = seed, so the output depends only on the seed
// and the size, never on the launch shape. $$T output type, $$W the type sampled in.

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

// [0, 1) from 24 random bits (float) or 53 random bits (double).
__device__ __forceinline__ float unit(float, unsigned int x, unsigned int) {
    return (x >> 8) * (1.0f / 16777216.0f);
}
__device__ __forceinline__ double unit(double, unsigned int x, unsigned int y) {
    return ((x >> 5) * 67108864.0 + (y >> 6)) * (1.0 / 9007199254740992.0);
}

// dist: 0 uniform [a, b), 1 normal (mean a, std b), 2 bernoulli (1 with probability a).
// `cap` is the largest $$T below b (uniform is half-open even after rounding to $$T).
extern "C" __global__ void random($T* __restrict__ out, i64 n, unsigned long long seed,
                                  int dist, $W a, $W b, $W cap) {
    uint2 key = make_uint2((unsigned int)seed, (unsigned int)(seed >> 32));
    i64 pairs = (n + 1) / 2;
    GRID_STRIDE_LOOP(g, pairs) {
        uint4 bits = philox(make_uint4((unsigned int)g, (unsigned int)(g >> 32), 0u, 0u), key);
        $W u0 = unit(($W)0, bits.x, bits.y);
        $W u1 = unit(($W)0, bits.z, bits.w);
        $W v[2];
        if (dist == 0) {
            v[0] = a + (b - a) * u0;
            v[1] = a + (b - a) * u1;
        } else if (dist == 1) {
            // Box-Muller; 1 - u0 is in (0, 1], so the log is finite
            $W radius = sqrt(($W)-2 * log(($W)1 - u0));
            $W angle = ($W)6.283185307179586 * u1;
            v[0] = a + b * radius * cos(angle);
            v[1] = a + b * radius * sin(angle);
        } else {
            v[0] = u0 < a ? ($W)1 : ($W)0;
            v[1] = u1 < a ? ($W)1 : ($W)0;
        }
        for (int e = 0; e < 2; ++e) {
            i64 i = 2 * g + e;
            if (i >= n) break;
            $W w = v[e];
            $T t = ($T)($STORE);
            if (dist == 0 && ($W)t >= cap) t = ($T)cap;
            out[i] = t;
        }
    }
}
