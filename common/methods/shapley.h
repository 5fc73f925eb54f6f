/* shapley.h -- Sampled Shapley (Castro et al. permutation sampling) as a plan/reduce method. */
#ifndef XQ_METHODS_SHAPLEY_H
#define XQ_METHODS_SHAPLEY_H

#include <stddef.h>

#include "methods/run.h"

/*
 * Players are the layout's slots. pathCount permutations are drawn once per
 * instance and walked from every baseline to the instance; the same
 * permutations serve every baseline and every output. Rows:
 * 1 (instance) + B (baselines) + P * B * (players - 1), i.e. 2 + P * (players - 1)
 * for one baseline. approximationError = sqrt(sum_i s_i^2 / P) / |F(x) - F(x')|
 * with s_i^2 the sample variance of player i's baseline-averaged marginal
 * contribution over the P paths; absent when P is 1. When pathCount >= M!
 * (at most 4 players, as pathCount <= 50) every order is walked once instead:
 * the exact Shapley value, with error 0, in M! paths.
 */
const xq_method_ops_t *xq_shapley_ops(void);

/** Rows Sampled Shapley evaluates for @p players players, @p paths paths, @p baselines baselines.
 */
size_t xq_shapley_rows(size_t players, size_t paths, size_t baselines);

/**
 * For tests: replaces the drawn permutations by @p perms (@p paths rows of
 * @p players entries); only before the first plan.
 */
void xq_shapley_set_permutations(void *st, const uint32_t *perms, size_t paths);

#endif /* XQ_METHODS_SHAPLEY_H */
