/* testmodels.h -- models written in C with known answers, for the engine's tests. */
#ifndef XQ_TESTS_TESTMODELS_H
#define XQ_TESTS_TESTMODELS_H

#include <stddef.h>

#include "model.h"

/* A function of one input vector (all fed tensors concatenated in declaration order). */
typedef struct tfun {
    size_t in_cnt, out_cnt;
    void (*f)(const struct tfun *m, const double *x, double *y);
    void (*df)(const struct tfun *m, const double *x, size_t k, double *g); /* d y_k / d x */
    double w[64];                                                           /* parameters */
    size_t calls;                                                           /* rows evaluated */
    double seen_min; /* smallest input value any row had */
    double seen_max; /* largest */
} tfun_t;

/**
 * Wraps @p f (copied) as a model with inputs named @p names (each of
 * @p sizes[i] elements) and an output "y" of @p out_ndim dims @p out_dims.
 * @p live (may be NULL) gets the model's own copy, to read calls and seen_*.
 */
xq_model_t *t_model(const tfun_t *f,
                    const char *const *names,
                    const size_t *sizes,
                    size_t input_cnt,
                    size_t out_ndim,
                    const size_t *out_dims,
                    tfun_t **live);

/* Known functions. */
void t_linear_f(const tfun_t *m,
                const double *x,
                double *y); /* y_k = sum_i w[k*n+i] x_i + w[63-k] */
void t_linear_df(const tfun_t *m, const double *x, size_t k, double *g);
void t_t1_f(const tfun_t *m, const double *x, double *y); /* x1 x2 + 2 x3 + x1 x2 x3 */
void t_t1_df(const tfun_t *m, const double *x, size_t k, double *g);
void t_exp_f(const tfun_t *m, const double *x, double *y); /* e^x */
void t_exp_df(const tfun_t *m, const double *x, size_t k, double *g);
void t_quad_f(const tfun_t *m, const double *x, double *y); /* sum_i w_i x_i^2 */
void t_quad_df(const tfun_t *m, const double *x, size_t k, double *g);
void t_nonlin8_f(const tfun_t *m, const double *x, double *y); /* 8 features, interactions */

/**
 * An embedding model: raw input "tokens" of @p len ids into a table of
 * @p vocab rows of dimension @p dim (fixed values); encoded tensors "emb"
 * ([len][dim], one row per token: CONCAT) and "bag" ([dim], the sum:
 * COMBINED). y = sum over the fed encoded elements of v[d] * e (linear).
 */
xq_model_t *t_embedding_model(size_t len, size_t vocab, size_t dim);

/** The embedding table entry (token @p id, component @p d) of t_embedding_model(). */
double t_embedding_value(size_t id, size_t d);

/** The output weight of component @p d in t_embedding_model(). */
double t_embedding_weight(size_t d);

#endif /* XQ_TESTS_TESTMODELS_H */
