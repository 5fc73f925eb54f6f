/* testmodels.c -- models written in C with known answers, for the engine's tests. */
#include "testmodels.h"

#include <math.h>
#include <string.h>

#include "mem.h"

typedef struct tmodel {
    tfun_t f;
    xq_tensor_desc_t in[8];
    size_t in_cnt;
    xq_tensor_desc_t out;
} tmodel_t;

static xq_err_t t_eval(void *impl, xq_batch_t *b, xq_error_t *err) {
    tmodel_t *m = impl;
    double x[256], y[64], g[256];

    (void)err;
    for (size_t r = 0; r < b->rows; r++) {
        size_t pos = 0;

        for (size_t i = 0; i < m->in_cnt; i++) {
            for (size_t t = 0; t < b->tensor_cnt; t++) {
                if (strcmp(b->names[t], m->in[i].name) == 0) {
                    for (size_t e = 0; e < m->in[i].elem_cnt; e++) {
                        x[pos + e] = (double)b->data[t][r * b->elem_cnt[t] + e];
                        if (x[pos + e] < m->f.seen_min)
                            m->f.seen_min = x[pos + e];
                        if (x[pos + e] > m->f.seen_max)
                            m->f.seen_max = x[pos + e];
                    }
                }
            }
            pos += m->in[i].elem_cnt;
        }
        m->f.f(&m->f, x, y);
        m->f.calls++;
        for (size_t o = 0; o < m->f.out_cnt; o++)
            b->out[r * b->out_cnt + o] = (float)y[o];
        if (!b->grad)
            continue;
        m->f.df(&m->f, x, (size_t)b->grad_index[r], g);
        pos = 0;
        for (size_t i = 0; i < m->in_cnt; i++) {
            for (size_t t = 0; t < b->tensor_cnt; t++) {
                if (strcmp(b->names[t], m->in[i].name) == 0) {
                    for (size_t e = 0; e < m->in[i].elem_cnt; e++)
                        b->grad_out[t][r * b->elem_cnt[t] + e] = (float)g[pos + e];
                }
            }
            pos += m->in[i].elem_cnt;
        }
    }
    return XQ_OK;
}

static void t_free(void *impl) {
    xq_free(impl);
}

static const xq_model_ops_t t_ops = {.eval = t_eval, .destroy = t_free};

xq_model_t *t_model(const tfun_t *f,
                    const char *const *names,
                    const size_t *sizes,
                    size_t input_cnt,
                    size_t out_ndim,
                    const size_t *out_dims,
                    tfun_t **live) {
    tmodel_t *m = xq_calloc(1, sizeof(*m));

    m->f = *f;
    m->f.seen_min = INFINITY;
    m->f.seen_max = -INFINITY;
    m->in_cnt = input_cnt;
    for (size_t i = 0; i < input_cnt; i++) {
        m->in[i].name = names[i];
        m->in[i].ndim = 1;
        m->in[i].dims[0] = sizes[i];
        m->in[i].elem_cnt = sizes[i];
    }
    m->out.name = "y";
    m->out.ndim = out_ndim;
    m->out.elem_cnt = 1;
    for (size_t d = 0; d < out_ndim; d++) {
        m->out.dims[d] = out_dims[d];
        m->out.elem_cnt *= out_dims[d];
    }
    if (live)
        *live = &m->f;
    return xq_model_new(&t_ops, m, m->in, m->in_cnt, NULL, 0, &m->out);
}

void t_linear_f(const tfun_t *m, const double *x, double *y) {
    for (size_t k = 0; k < m->out_cnt; k++) {
        y[k] = m->w[63 - k];
        for (size_t i = 0; i < m->in_cnt; i++)
            y[k] += m->w[k * m->in_cnt + i] * x[i];
    }
}

void t_linear_df(const tfun_t *m, const double *x, size_t k, double *g) {
    (void)x;
    for (size_t i = 0; i < m->in_cnt; i++)
        g[i] = m->w[k * m->in_cnt + i];
}

void t_t1_f(const tfun_t *m, const double *x, double *y) {
    (void)m;
    y[0] = x[0] * x[1] + 2 * x[2] + x[0] * x[1] * x[2];
}

void t_t1_df(const tfun_t *m, const double *x, size_t k, double *g) {
    (void)m;
    (void)k;
    g[0] = x[1] + x[1] * x[2];
    g[1] = x[0] + x[0] * x[2];
    g[2] = 2 + x[0] * x[1];
}

void t_exp_f(const tfun_t *m, const double *x, double *y) {
    (void)m;
    y[0] = exp(x[0]);
}

void t_exp_df(const tfun_t *m, const double *x, size_t k, double *g) {
    (void)m;
    (void)k;
    g[0] = exp(x[0]);
}

void t_quad_f(const tfun_t *m, const double *x, double *y) {
    y[0] = 0;
    for (size_t i = 0; i < m->in_cnt; i++)
        y[0] += m->w[i] * x[i] * x[i];
}

void t_quad_df(const tfun_t *m, const double *x, size_t k, double *g) {
    (void)k;
    for (size_t i = 0; i < m->in_cnt; i++)
        g[i] = 2 * m->w[i] * x[i];
}

void t_nonlin8_f(const tfun_t *m, const double *x, double *y) {
    (void)m;
    y[0] = tanh(0.5 * x[0] + 0.3 * x[1] - 0.2 * x[2]) + x[0] * x[1] * x[2] - 0.7 * x[3] * x[4] +
           sin(x[5]) * x[6] + 0.25 * x[7] * x[7] + 0.1 * x[3];
}

/* ==== Embeddings ==== */

typedef struct emb {
    size_t len, vocab, dim;
    xq_tensor_desc_t raw, enc[2], out;
} emb_t;

double t_embedding_value(size_t id, size_t d) {
    return sin(1.0 + (double)id * 0.7 + (double)d * 1.3);
}

double t_embedding_weight(size_t d) {
    return 0.5 + 0.25 * (double)d;
}

static xq_err_t emb_eval(void *impl, xq_batch_t *b, xq_error_t *err) {
    emb_t *m = impl;

    for (size_t r = 0; r < b->rows; r++) {
        double y = 0;

        for (size_t t = 0; t < b->tensor_cnt; t++) {
            const float *e = b->data[t] + r * b->elem_cnt[t];

            if (strcmp(b->names[t], "tokens") == 0) {
                for (size_t j = 0; j < m->len; j++) {
                    size_t id = (size_t)e[j];

                    if (e[j] < 0 || id >= m->vocab)
                        return xq_error_set(err, XQ_EMODEL, "tokens", "token id %g out of range",
                                            (double)e[j]);
                    for (size_t d = 0; d < m->dim; d++)
                        y += t_embedding_weight(d) * t_embedding_value(id, d);
                }
                continue;
            }
            for (size_t i = 0; i < b->elem_cnt[t]; i++) {
                y += t_embedding_weight(i % m->dim) * (double)e[i];
                if (b->grad)
                    b->grad_out[t][r * b->elem_cnt[t] + i] = (float)t_embedding_weight(i % m->dim);
            }
        }
        b->out[r] = (float)y;
    }
    return XQ_OK;
}

static xq_err_t emb_encode(void *impl,
                           const char *encoded,
                           const float *raw,
                           size_t rows,
                           size_t raw_cnt,
                           float *out,
                           size_t out_cnt,
                           xq_error_t *err) {
    emb_t *m = impl;
    bool bag = strcmp(encoded, "bag") == 0;

    if (raw_cnt != m->len || out_cnt != (bag ? m->dim : m->len * m->dim))
        return xq_error_set(err, XQ_EMODEL, encoded, "bad sizes %zu -> %zu", raw_cnt, out_cnt);
    for (size_t r = 0; r < rows; r++) {
        float *o = out + r * out_cnt;

        memset(o, 0, out_cnt * sizeof(float));
        for (size_t j = 0; j < m->len; j++) {
            size_t id = (size_t)raw[r * raw_cnt + j];

            if (raw[r * raw_cnt + j] < 0 || id >= m->vocab)
                return xq_error_set(err, XQ_EMODEL, encoded, "token id out of range");
            for (size_t d = 0; d < m->dim; d++)
                o[(bag ? 0 : j * m->dim) + d] += (float)t_embedding_value(id, d);
        }
    }
    return XQ_OK;
}

static const xq_model_ops_t emb_ops = {.eval = emb_eval, .encode = emb_encode, .destroy = t_free};

xq_model_t *t_embedding_model(size_t len, size_t vocab, size_t dim) {
    emb_t *m = xq_calloc(1, sizeof(*m));

    m->len = len;
    m->vocab = vocab;
    m->dim = dim;
    m->raw = (xq_tensor_desc_t){.name = "tokens", .ndim = 1, .dims = {len}, .elem_cnt = len};
    m->enc[0] =
        (xq_tensor_desc_t){.name = "emb", .ndim = 2, .dims = {len, dim}, .elem_cnt = len * dim};
    m->enc[1] = (xq_tensor_desc_t){.name = "bag", .ndim = 1, .dims = {dim}, .elem_cnt = dim};
    m->out = (xq_tensor_desc_t){.name = "y", .ndim = 0, .elem_cnt = 1};
    return xq_model_new(&emb_ops, m, &m->raw, 1, m->enc, 2, &m->out);
}
