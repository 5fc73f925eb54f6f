/* rng.h -- a seeded generator: the same (seed, stream) gives the same draws on every machine. */
#ifndef XQ_RNG_H
#define XQ_RNG_H

#include <stddef.h>
#include <stdint.h>

/** xoshiro256** state; plain data, caller storage. */
typedef struct xq_rng {
    uint64_t s[4];
} xq_rng_t;

/**
 * Seeds @p rng from a job seed and a stream number (the instance index), so
 * every instance of every job draws its own reproducible sequence.
 */
void xq_rng_init(xq_rng_t *rng, uint64_t seed, uint64_t stream);

/** Next 64 random bits. */
uint64_t xq_rng_next(xq_rng_t *rng);

/** Uniform in [0, 1) with 53 random bits. */
double xq_rng_uniform(xq_rng_t *rng);

/** Uniform integer in [0, n), without modulo bias; @p n > 0. */
uint64_t xq_rng_below(xq_rng_t *rng, uint64_t n);

/** Standard normal draw (Box–Muller; one draw per call, the pair's second half is discarded). */
double xq_rng_normal(xq_rng_t *rng);

/** A uniformly random permutation of 0..n-1 into @p perm (Fisher–Yates). */
void xq_rng_permutation(xq_rng_t *rng, uint32_t *perm, size_t n);

/** 64-bit seed from a string (FNV-1a), for jobs without an explicit seed. */
uint64_t xq_rng_seed_from(const char *s);

#endif /* XQ_RNG_H */
