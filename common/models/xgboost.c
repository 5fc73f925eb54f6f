/* xgboost.c -- XGBoost boosters as models: batched predictions, optional finite differences. */
#include "models/xgboost.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes" /* XGBGetLastError() in 1.7's c_api.h */
#include <xgboost/c_api.h>
#pragma GCC diagnostic pop

#include "mem.h"
#include "models/xgb_compat.h"

/* Model files larger than this are not read. */
#define XGB_MAX_FILE (512u << 20)

typedef struct xgb {
    BoosterHandle h;
    size_t n_features;
    size_t n_out;
    double fd_step;
    xq_tensor_desc_t in, out;
    float *scratch; /* finite-difference rows */
    size_t scratch_cap;
    float *fd_out;
    size_t fd_out_cap;
} xgb_t;

static void xgb_free(void *impl) {
    xgb_t *m = impl;

    if (!m)
        return;
    if (m->h)
        XGBoosterFree(m->h);
    xq_free(m->scratch);
    xq_free(m->fd_out);
    xq_free(m);
}

/* Predicts @p rows rows of n_features floats into @p out (rows * n_out). */
static xq_err_t predict(xgb_t *m, const float *x, size_t rows, float *out, xq_error_t *err) {
    DMatrixHandle d = NULL;
    const float *res;
    bst_ulong len = 0;
    xq_err_t rc = XQ_OK;

    /* NaN marks a missing value, as XGBoost's own default */
    if (XGDMatrixCreateFromMat(x, (bst_ulong)rows, (bst_ulong)m->n_features, NAN, &d) != 0 ||
        XGBoosterPredict(m->h, d, 0, 0, 0, &len, &res) != 0) {
        rc = xq_error_set(err, XQ_EMODEL, "model", "xgboost: %s", XGBGetLastError());
    } else if (len != rows * m->n_out) {
        rc = xq_error_set(err, XQ_EMODEL, "model", "xgboost returned %llu values for %zu rows",
                          (unsigned long long)len, rows);
    } else {
        memcpy(out, res, len * sizeof(float));
    }
    if (d)
        XGDMatrixFree(d);
    return rc;
}

static xq_err_t xgb_eval(void *impl, xq_batch_t *b, xq_error_t *err) {
    xgb_t *m = impl;
    size_t E = m->n_features, R = b->rows;
    xq_err_t rc;

    if (b->tensor_cnt != 1)
        return xq_error_set(err, XQ_EMODEL, "features", "an xgboost model takes one tensor");
    if ((rc = predict(m, b->data[0], R, b->out, err)) != XQ_OK || !b->grad)
        return rc;
    if (m->fd_step <= 0)
        return xq_error_set(err, XQ_EMODEL, "model",
                            "xgboost models have no gradients: use sampledShapleyAttribution, or "
                            "ask for finite differences (--fd-step)");
    /* two rows per feature: x + h e_i and x - h e_i, all rows of the batch at once */
    if (2 * E * R > m->scratch_cap) {
        m->scratch_cap = 2 * E * R;
        xq_free(m->scratch);
        xq_free(m->fd_out);
        m->scratch = xq_malloc(m->scratch_cap * E * sizeof(float));
        m->fd_out = xq_malloc(m->scratch_cap * m->n_out * sizeof(float));
    }
    for (size_t r = 0; r < R; r++)
        for (size_t i = 0; i < E; i++)
            for (int s = 0; s < 2; s++) {
                float *row = m->scratch + ((r * E + i) * 2 + (size_t)s) * E;

                memcpy(row, b->data[0] + r * E, E * sizeof(float));
                row[i] += (float)(s ? -m->fd_step : m->fd_step);
            }
    if ((rc = predict(m, m->scratch, 2 * E * R, m->fd_out, err)) != XQ_OK)
        return rc;
    for (size_t r = 0; r < R; r++)
        for (size_t i = 0; i < E; i++) {
            size_t k = (size_t)b->grad_index[r], base = (r * E + i) * 2;

            b->grad_out[0][r * E + i] = (float)(((double)m->fd_out[base * m->n_out + k] -
                                                 (double)m->fd_out[(base + 1) * m->n_out + k]) /
                                                (2 * m->fd_step));
        }
    return XQ_OK;
}

/* The model file's bytes (for the base_score check); binary .model files too. */
static xq_err_t read_model(const char *path, xq_buf_t *b, xq_error_t *err) {
    FILE *f = fopen(path, "rb");
    size_t n;

    if (!f)
        return xq_error_set(err, XQ_EIO, "model", "cannot read %s", path);
    do {
        xq_buf_reserve(b, 1 << 16);
        n = fread(b->data + b->len, 1, 1 << 16, f);
        b->len += n;
    } while (n > 0 && b->len <= XGB_MAX_FILE);
    fclose(f);
    if (b->len > XGB_MAX_FILE)
        return xq_error_set(err, XQ_EIO, "model", "cannot read %s: file too large", path);
    return XQ_OK;
}

static const xq_model_ops_t xgb_ops = {.eval = xgb_eval, .destroy = xgb_free};

xq_err_t xq_xgboost_load(const char *path, double fd_step, xq_model_t **out, xq_error_t *err) {
    xgb_t *m = xq_calloc(1, sizeof(*m));
    bool fixed = false;
    xq_buf_t file;
    bst_ulong nf = 0;
    float *zeros = NULL, one[1024];
    xq_err_t rc = XQ_EMODEL;

    xq_buf_init(&file);
    m->fd_step = fd_step;
    if ((rc = read_model(path, &file, err)) != XQ_OK ||
        (rc = xq_xgb_fix_base_score(&file, &fixed, err)) != XQ_OK)
        goto out;
    rc = XQ_EMODEL;
    if (XGBoosterCreate(NULL, 0, &m->h) != 0 ||
        (fixed ? XGBoosterLoadModelFromBuffer(m->h, file.data, (bst_ulong)file.len)
               : XGBoosterLoadModel(m->h, path)) != 0 ||
        XGBoosterGetNumFeature(m->h, &nf) != 0) {
        xq_error_set(err, XQ_EMODEL, "model", "xgboost cannot load %s: %s", path,
                     XGBGetLastError());
        goto out;
    }
    XGBoosterSetParam(m->h, "nthread", "1"); /* the worker's own threads are the parallelism */
    m->n_features = (size_t)nf;
    if (!m->n_features) {
        xq_error_set(err, XQ_EMODEL, "model", "%s has no features", path);
        goto out;
    }
    /* the output width: one row of zeros through the booster */
    {
        DMatrixHandle d = NULL;
        const float *res;
        bst_ulong len = 0;

        zeros = xq_calloc(m->n_features, sizeof(float));
        if (XGDMatrixCreateFromMat(zeros, 1, nf, NAN, &d) != 0 ||
            XGBoosterPredict(m->h, d, 0, 0, 0, &len, &res) != 0 || !len || len > 1024) {
            xq_error_set(err, XQ_EMODEL, "model", "xgboost cannot predict: %s", XGBGetLastError());
            if (d)
                XGDMatrixFree(d);
            goto out;
        }
        memcpy(one, res, len * sizeof(float));
        m->n_out = (size_t)len;
        XGDMatrixFree(d);
    }
    m->in = (xq_tensor_desc_t){
        .name = "features", .ndim = 1, .dims = {m->n_features}, .elem_cnt = m->n_features};
    m->out = (xq_tensor_desc_t){.name = "prediction",
                                .ndim = m->n_out > 1 ? 1 : 0,
                                .dims = {m->n_out},
                                .elem_cnt = m->n_out};
    *out = xq_model_new(&xgb_ops, m, &m->in, 1, NULL, 0, &m->out);
    xq_model_set_missing_ok(*out, true); /* NaN is XGBoost's missing value */
    m = NULL;                            /* owned by the model now */
    rc = XQ_OK;
out:
    xq_buf_fini(&file);
    xq_free(zeros);
    xgb_free(m);
    return rc;
}
