/* engine.c -- the in-process evaluator: the plan -> evaluate -> reduce loop over many runs. */
#include "engine.h"

#include <string.h>

#include "layout.h"
#include "log.h"
#include "methods/ig.h"
#include "mp.h"
#include "rows.h"

struct xq_engine {
    const xq_spec_t *spec;
    xq_model_t *model;
    xq_engine_opts_t opts;
    xq_rows_t rows;
    uint64_t model_rows;
    xq_gl_cache_t *own_gl; /* IG's rules, when the caller gave no cache */
};

/* A run's rows in the current batch. */
typedef struct pending {
    size_t run;
    size_t first, cnt;
} pending_t;

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
    xq_rows_init(&e->rows);
    return e;
}

void xq_engine_destroy(xq_engine_t *e) {
    if (!e)
        return;
    xq_rows_fini(&e->rows);
    xq_gl_cache_destroy(e->own_gl);
    xq_free(e);
}

/*
 * Rows per model call: batch_rows, but never more than XQ_ENGINE_BATCH_ELEMS
 * input elements, so large rows (a 224 x 224 picture's 100 XRAI gradient rows)
 * do not hold hundreds of MB of activations at once. Results do not depend
 * on how rows are batched.
 */
static size_t batch_limit(const xq_engine_t *e, const xq_layout_t *l) {
    size_t by_elems = XQ_ENGINE_BATCH_ELEMS / (l->elem_total ? l->elem_total : 1);

    if (by_elems < 1)
        by_elems = 1;
    return by_elems < e->opts.batch_rows ? by_elems : e->opts.batch_rows;
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
    pending_t *pend = xq_calloc(cnt ? cnt : 1, sizeof(*pend));

    for (size_t i = 0; i < cnt; i++) {
        xq_engine_result_t *r = &results[i];

        memset(r, 0, sizeof(*r));
        r->rc = xq_layout_build(e->spec, e->model, &instances[i], indices[i], &layouts[i], &r->err);
        if (r->rc != XQ_OK)
            continue;
        runs[i] = xq_run_new(e->spec, layouts[i], out_desc, &e->opts.run, indices[i]);
    }

    /* each pass batches the runs that want the same kind of rows of the same shape */
    for (;;) {
        size_t lead = cnt, npend = 0, limit;
        xq_step_t kind = XQ_STEP_DONE;
        xq_error_t err;

        for (size_t i = 0; i < cnt && lead == cnt; i++) {
            if (runs[i] && (kind = xq_run_next(runs[i])) != XQ_STEP_DONE)
                lead = i;
        }
        if (lead == cnt)
            break;
        limit = batch_limit(e, layouts[lead]);
        xq_rows_reset(&e->rows, layouts[lead], out_desc->elem_cnt, kind == XQ_STEP_GRADIENT);
        for (size_t i = lead; i < cnt && e->rows.cnt < limit; i++) {
            size_t first = e->rows.cnt, n;

            if (!runs[i] || xq_run_next(runs[i]) != kind ||
                !xq_layout_compatible(layouts[i], layouts[lead]))
                continue;
            n = xq_run_plan(runs[i], &e->rows, limit - e->rows.cnt);
            XQ_ASSERT(n > 0); /* a run that is not done always has rows to plan */
            pend[npend].run = i;
            pend[npend].first = first;
            pend[npend].cnt = n;
            npend++;
        }
        if (xq_rows_eval(&e->rows, e->model, limit, &err) != XQ_OK) {
            for (size_t p = 0; p < npend; p++)
                xq_run_fail(runs[pend[p].run], &err);
            continue;
        }
        e->model_rows += e->rows.cnt;
        for (size_t p = 0; p < npend; p++)
            xq_run_reduce(runs[pend[p].run], &e->rows, pend[p].first, pend[p].cnt);
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
    xq_free(pend);
    xq_free(runs);
    xq_free(layouts);
}
