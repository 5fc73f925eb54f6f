/* ig.h -- Integrated Gradients on Gauss–Legendre nodes, with SmoothGrad and the blur baseline. */
#ifndef XQ_METHODS_IG_H
#define XQ_METHODS_IG_H

#include <stddef.h>

#include "methods/run.h"

/*
 * Round 1 (forward): the instance and each baseline, which fixes the outputs
 * to explain. Round 2 (gradients): for each output, baseline b, node k and
 * noise sample s, the row x'_b + alpha_k (x - x'_b) (+ noise), differentiated
 * at that output. attr = (1/B) sum_b (x - x'_b) * sum_k omega_k * mean_s grad.
 * Rows: 1 + B + outputs * B * stepCount * noisySampleCount.
 */
const xq_method_ops_t *xq_ig_ops(void);

/**
 * The @p n-point Gauss–Legendre rule on [0, 1]: nodes @p alpha (ascending)
 * and weights @p omega (summing to 1); exact for polynomials of degree 2n-1.
 */
void xq_gauss_legendre(size_t n, double *alpha, double *omega);

/**
 * Gauss–Legendre rules computed once per step count and shared by every run
 * given the cache (xq_run_opts_t.gl): the Newton iterations otherwise cost
 * about a fifth of IG's time on small models. Thread-safe (a mutex guards
 * the table). A rule stays valid, unchanged, until the cache is destroyed.
 */
typedef struct xq_gl_cache xq_gl_cache_t; /* opaque */

xq_gl_cache_t *xq_gl_cache_new(void);

/** Frees the cache and every rule it handed out; NULL is fine. */
void xq_gl_cache_destroy(xq_gl_cache_t *c);

/**
 * The @p n-point rule (n >= 1): @p alpha and @p omega point at n values each,
 * owned by the cache (borrowed until xq_gl_cache_destroy()).
 */
void xq_gl_cache_get(xq_gl_cache_t *c, size_t n, const double **alpha, const double **omega);

#endif /* XQ_METHODS_IG_H */
