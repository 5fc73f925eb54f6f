/* engine.c -- the in-process evaluator: the plan -> evaluate -> reduce loop over many runs. */
#include "engine.h"

#include <string.h>

#include "layout.h"
#include "log.h"
#include "methods/ig.h"
#include "mp.h"
#include "rows.h"
#include "rowsched.h"

struct xq_engine {
    const xq_spec_t *spec;
    xq_model_t *model;
    xq_engine_opts_t opts;
    xq_sched_batch_t batch; /* one batch, its buffers reused pass after pass */
    uint64_t model_rows;
    xq_gl_cache_t *own_gl; /* IG's rules, when the caller gave no cache */
};

xq_engine_t *xq_engine_new(const xq_spec_t *spec, xq_model_t *model, const xq_engine_opts_t *opts) {
    xq_engine_t *e = xq_calloc(1, sizeof(*e));

    e->spec = spec;
    e->model = model;
    e->opts = *opts;
    e->opts.run.model = model;
    if (!e->opts.run.gl)
        e->opts.run.gl = e->own_gl = xq_gl_cache_new();
    if (!e->opts.batch_rows)
        e->opts.batch_rows = XQ_ENGINE_DEFAULT_BATCH;
    xq_sched_batch_init(&e->batch);
    return e;
}

void xq_engine_destroy(xq_engine_t *e) {
    if (!e)
        return;
    xq_sched_batch_fini(&e->batch);
    xq_gl_cache_destroy(e->own_gl);
    xq_free(e);
}

uint64_t xq_engine_model_rows(const xq_engine_t *e) {
    return e->model_rows;
}

void xq_engine_explain(xq_engine_t *e,
                       const msgpack_object *instances,
                       const size_t *indices,
                       size_t cnt,
                       xq_buf_t *out,
                       xq_engine_result_t *results) {
    const xq_tensor_desc_t *out_desc = xq_model_output(e->model);
    xq_layout_t **layouts = xq_calloc(cnt ? cnt : 1, sizeof(*layouts));
    xq_run_t **runs = xq_calloc(cnt ? cnt : 1, sizeof(*runs));

    for (size_t i = 0; i < cnt; i++) {
        xq_engine_result_t *r = &results[i];

        memset(r, 0, sizeof(*r));
        r->rc = xq_layout_build(e->spec, e->model, &instances[i], indices[i], &layouts[i], &r->err);
        if (r->rc != XQ_OK)
            continue;
        runs[i] = xq_run_new(e->spec, layouts[i], out_desc, &e->opts.run, indices[i]);
    }

    /*
     * Each pass batches the runs that want the same kind of rows of the same shape
     * (xq_sched_fill()): rows per model call are batch_rows, but never more than
     * XQ_ENGINE_BATCH_ELEMS input elements, so large rows (a 224 x 224 picture's 100 XRAI
     * gradient rows) do not hold hundreds of MB of activations at once. Results do not depend
     * on how rows are batched.
     */
    while (xq_sched_fill(&e->batch, e, e->model, out_desc->elem_cnt, runs, layouts, cnt,
                         e->opts.batch_rows, XQ_ENGINE_BATCH_ELEMS)) {
        xq_error_t err;

        if (xq_rows_eval(&e->batch.rows, e->model, e->batch.limit, &err) != XQ_OK) {
            xq_sched_batch_fail(&e->batch, &err);
            continue;
        }
        e->model_rows += e->batch.rows.cnt;
        xq_sched_batch_reduce(&e->batch);
    }

    for (size_t i = 0; i < cnt; i++) {
        xq_engine_result_t *r = &results[i];
        msgpack_packer pk;

        if (!runs[i])
            continue;
        if ((r->rc = xq_run_status(runs[i], &r->err)) == XQ_OK) {
            r->off = out->len;
            xq_mp_packer_init(&pk, out);
            xq_run_pack(runs[i], &pk);
            r->len = out->len - r->off;
        }
        xq_run_destroy(runs[i]);
        xq_layout_destroy(layouts[i]);
    }
    xq_free(runs);
    xq_free(layouts);
}
