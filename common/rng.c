/* rng.c -- xoshiro256** seeded through splitmix64 (Blackman & Vigna's published constants). */
#include "rng.h"

#include <math.h>

#define XQ_PI 3.14159265358979323846

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

void xq_rng_init(xq_rng_t *rng, uint64_t seed, uint64_t stream) {
    /* mix the stream in through a second splitmix pass so nearby streams differ everywhere */
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ULL + 0x8cb92ba72f3d8dd7ULL);

    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&x);
}

uint64_t xq_rng_next(xq_rng_t *rng) {
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double xq_rng_uniform(xq_rng_t *rng) {
    return (double)(xq_rng_next(rng) >> 11) * 0x1.0p-53;
}

uint64_t xq_rng_below(xq_rng_t *rng, uint64_t n) {
#ifdef __SIZEOF_INT128__
    /*
     * Lemire's multiply-shift: the high word of x * n is uniform on [0, n) once the draws whose
     * low word falls under 2^64 mod n are redrawn. The common path has no division (two 64-bit
     * divisions per draw were a tenth of a tabular Sampled Shapley explanation).
     */
    __extension__ typedef unsigned __int128 u128;
    u128 m = (u128)xq_rng_next(rng) * n;

    if ((uint64_t)m < n) {
        uint64_t floor = (0 - n) % n; /* 2^64 mod n */

        while ((uint64_t)m < floor)
            m = (u128)xq_rng_next(rng) * n;
    }
    return (uint64_t)(m >> 64);
#else
    /* reject the incomplete top range so every residue is equally likely */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;

    do {
        x = xq_rng_next(rng);
    } while (x >= limit);
    return x % n;
#endif
}

double xq_rng_normal(xq_rng_t *rng) {
    double u1, u2;

    do {
        u1 = xq_rng_uniform(rng);
    } while (u1 <= 0.0);
    u2 = xq_rng_uniform(rng);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * XQ_PI * u2);
}

void xq_rng_permutation(xq_rng_t *rng, uint32_t *perm, size_t n) {
    for (size_t i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)xq_rng_below(rng, i);
        uint32_t t = perm[i - 1];

        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}

uint64_t xq_rng_seed_from(const char *s) {
    uint64_t h = 0xcbf29ce484222325ULL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}
