/* run.c -- runs an instance's explanation through its method and packs the result. */
#include "methods/run.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mem.h"
#include "methods/outputs.h"
#include "methods/registry.h"
#include "mp.h"
#include "viz.h"

struct xq_run {
    xq_run_ctx_t ctx;
    const xq_method_def_t *def; /* the method's line of common/methods/registry.c */
    const xq_method_ops_t *ops;
    void *st;
    bool failed; /* failed from outside (xq_run_fail) */
    bool alone;  /* ... because of its own instance (xq_run_failed_alone) */
};

double xq_run_sum_error(double sum, double diff) {
    double dev = fabs(sum - diff);

    return fabs(diff) < 1e-12 ? dev : dev / fabs(diff);
}

void xq_run_alloc_attrs(xq_run_ctx_t *ctx, size_t cnt) {
    ctx->expl.attrs = xq_calloc(cnt ? cnt : 1, sizeof(*ctx->expl.attrs));
    ctx->expl.attr_cnt = cnt;
    for (size_t i = 0; i < cnt; i++)
        ctx->expl.attrs[i].values = xq_calloc(ctx->layout->slot_cnt + 1, sizeof(double));
}

xq_run_t *xq_run_new(const xq_spec_t *spec,
                     const xq_layout_t *layout,
                     const xq_tensor_desc_t *out_desc,
                     const xq_run_opts_t *opts,
                     size_t index) {
    xq_run_t *run = xq_calloc(1, sizeof(*run));
    xq_run_ctx_t *ctx = &run->ctx;

    ctx->spec = spec;
    ctx->layout = layout;
    ctx->out_desc = out_desc;
    ctx->model = opts->model;
    ctx->examples = opts->examples;
    ctx->xrai_fast = opts->xrai_fast;
    ctx->gl = opts->gl;
    ctx->viz_png = opts->viz_png;
    ctx->index = index;
    ctx->target_error = opts->target_error;
    ctx->max_model_rows = opts->max_model_rows ? opts->max_model_rows : XQ_RUN_DEFAULT_MAX_ROWS;
    xq_rng_init(&ctx->rng, opts->seed, index);
    if (!(run->def = xq_method_get(spec->params.method))) {
        ctx->rc = xq_error_set(&ctx->err, XQ_EINVAL, "parameters",
                               "%s is not available in this build yet",
                               xq_method_name(spec->params.method));
        return run;
    }
    run->ops = run->def->ops();
    /* ids with no embedding would get zeros; once ids are embedded, other integer inputs
     * (attention masks) are auxiliary and get the zeros their gradients are */
    if ((run->def->flags & XQ_METHOD_F_GRADIENTS) && !layout->has_encoded) {
        for (size_t t = 0; t < layout->tensor_cnt; t++) {
            if (!layout->is_int[t])
                continue;
            ctx->rc = xq_error_set(
                &ctx->err, XQ_EINVAL, layout->tensor_names[t],
                "the model takes integers (token ids) in %s, whose gradients are zero: give the "
                "feature an embedding encoding with encodedTensorName (explainq model info lists "
                "the tensors), or use sampledShapleyAttribution",
                layout->tensor_names[t]);
            return run;
        }
    }
    run->st = run->ops->create(ctx);
    return run;
}

void xq_run_destroy(xq_run_t *run) {
    if (!run)
        return;
    if (run->ops)
        run->ops->destroy(run->st);
    for (size_t i = 0; i < run->ctx.expl.attr_cnt; i++)
        xq_free(run->ctx.expl.attrs[i].values);
    xq_free(run->ctx.expl.attrs);
    xq_free(run->ctx.expl.neighbors);
    xq_free(run);
}

void *xq_run_method_state(xq_run_t *run) {
    return run->st;
}

xq_step_t xq_run_next(const xq_run_t *run) {
    if (run->failed || run->ctx.rc != XQ_OK || !run->st)
        return XQ_STEP_DONE;
    return run->ops->next(run->st);
}

size_t xq_run_plan(xq_run_t *run, xq_rows_t *rows, size_t budget) {
    if (xq_run_next(run) == XQ_STEP_DONE)
        return 0;
    return run->ops->plan(run->st, rows, budget);
}

/* The first non-finite value among the run's rows (outputs, then gradients), or NULL. */
static const char *nonfinite(const xq_rows_t *rows, size_t first, size_t cnt) {
    for (size_t i = first * rows->out_cnt; i < (first + cnt) * rows->out_cnt; i++) {
        if (!isfinite(rows->out[i]))
            return isnan(rows->out[i]) ? "an output is NaN" : "an output is infinite";
    }
    for (size_t t = 0; rows->grad && t < rows->tensor_cnt; t++) {
        for (size_t i = first * rows->elem_cnt[t]; i < (first + cnt) * rows->elem_cnt[t]; i++) {
            if (!isfinite(rows->gout[t][i]))
                return "a gradient is NaN or infinite";
        }
    }
    return NULL;
}

void xq_run_reduce(xq_run_t *run, const xq_rows_t *rows, size_t first, size_t cnt) {
    const char *bad;
    xq_error_t err;

    if (xq_run_next(run) == XQ_STEP_DONE)
        return;
    /* one instance the model cannot evaluate fails alone, whoever shared its batch */
    if ((bad = nonfinite(rows, first, cnt))) {
        char field[64];

        snprintf(field, sizeof(field), "instances[%zu]", run->ctx.index);
        xq_error_set(&err, XQ_EMODEL, field,
                     "instance %zu: the model's result is not finite (%s) at one of its %zu "
                     "rows; its values may be outside what the model handles",
                     run->ctx.index, bad, cnt);
        xq_run_fail(run, &err);
        run->alone = true;
        return;
    }
    run->ops->reduce(run->st, rows, first, cnt);
}

void xq_run_fail(xq_run_t *run, const xq_error_t *err) {
    run->failed = true;
    run->ctx.rc = err->code;
    run->ctx.err = *err;
}

xq_err_t xq_run_status(const xq_run_t *run, xq_error_t *err) {
    if (run->ctx.rc != XQ_OK && err)
        *err = run->ctx.err;
    return run->ctx.rc;
}

bool xq_run_failed_alone(const xq_run_t *run) {
    return run->alone;
}

const xq_explanation_t *xq_run_explanation(const xq_run_t *run) {
    return &run->ctx.expl;
}

/* ==== Packing ==== */

/* Nested arrays of an entry's slot values, row-major over dims. */
static void
pack_values(msgpack_packer *pk, const double *v, const size_t *dims, size_t ndim, size_t *pos) {
    if (ndim == 0) {
        msgpack_pack_double(pk, v[(*pos)++]);
        return;
    }
    msgpack_pack_array(pk, dims[0]);
    for (size_t i = 0; i < dims[0]; i++)
        pack_values(pk, v, dims + 1, ndim - 1, pos);
}

/* The image input whose attributions are entry @p e, or NULL. */
static const xq_image_t *image_of(const xq_layout_t *l, size_t e) {
    for (size_t i = 0; i < l->image_cnt; i++) {
        if (l->images[i].entry == e)
            return &l->images[i];
    }
    return NULL;
}

/*
 * An image's attributions: XRAI's one value per pixel as [H][W] (channel 0
 * of its slots), or with a visualization the picture {"b64_jpeg": ...} (or b64_png).
 */
static void pack_image(const xq_run_t *run,
                       const xq_attribution_t *at,
                       const xq_entry_t *en,
                       const xq_image_t *im,
                       msgpack_packer *pk) {
    const xq_layout_t *l = run->ctx.layout;
    bool pixels = (run->def->flags & XQ_METHOD_F_PIXELS) != 0;
    size_t n = im->h * im->w, ca = pixels ? 1 : im->c;
    const double *v = at->values + en->slot_first;
    double *a = xq_malloc(n * ca * sizeof(double));
    xq_error_t err;
    xq_buf_t b64;

    for (size_t p = 0; p < n; p++)
        for (size_t c = 0; c < ca; c++)
            a[p * ca + c] = v[p * im->c + c];
    xq_buf_init(&b64);
    if (im->meta && im->meta->viz.present &&
        xq_viz_b64(&im->meta->viz, a, im->h, im->w, ca, l->x + im->off, im->c, run->ctx.viz_png,
                   &b64, &err) == XQ_OK) {
        msgpack_pack_map(pk, 1);
        xq_mp_pack_str(pk, run->ctx.viz_png ? "b64_png" : "b64_jpeg");
        xq_mp_pack_strn(pk, (const char *)b64.data, b64.len);
    } else {
        size_t dims[3] = {im->h, im->w, ca}, pos = 0;

        pack_values(pk, a, dims, ca == 1 ? 2 : 3, &pos);
    }
    xq_buf_fini(&b64);
    xq_free(a);
}

static void pack_attribution(const xq_run_t *run, const xq_attribution_t *at, msgpack_packer *pk) {
    const xq_run_ctx_t *ctx = &run->ctx;
    const xq_layout_t *l = ctx->layout;
    const char *out_name =
        ctx->spec->meta.present ? ctx->spec->meta.outputs[0].name : ctx->out_desc->name;
    size_t multi[XQ_MAX_DIMS], name_len = 0;
    const char *display =
        xq_outputs_display_name(ctx->spec, ctx->out_desc, ctx->model, at->output, &name_len);

    msgpack_pack_map(pk, 5 + (display != NULL) + at->has_error);
    xq_mp_pack_str(pk, "baselineOutputValue");
    msgpack_pack_double(pk, at->baseline_output);
    xq_mp_pack_str(pk, "instanceOutputValue");
    msgpack_pack_double(pk, at->instance_output);
    xq_mp_pack_str(pk, "featureAttributions");
    msgpack_pack_map(pk, l->entry_cnt);
    for (size_t e = 0; e < l->entry_cnt; e++) {
        const xq_entry_t *en = &l->entries[e];
        const xq_image_t *im = image_of(l, e);
        size_t pos = 0;

        xq_mp_pack_str(pk, en->key);
        if (im && ((run->def->flags & XQ_METHOD_F_PIXELS) || (im->meta && im->meta->viz.present)))
            pack_image(run, at, en, im, pk);
        else
            pack_values(pk, at->values + en->slot_first, en->dims, en->ndim, &pos);
    }
    xq_mp_pack_str(pk, "outputIndex");
    xq_outputs_unravel(ctx->out_desc, at->output, multi);
    msgpack_pack_array(pk, ctx->out_desc->elem_cnt > 1 ? ctx->out_desc->ndim : 0);
    for (size_t d = 0; ctx->out_desc->elem_cnt > 1 && d < ctx->out_desc->ndim; d++)
        msgpack_pack_uint64(pk, multi[d]);
    if (display) {
        xq_mp_pack_str(pk, "outputDisplayName");
        xq_mp_pack_strn(pk, display, name_len);
    }
    if (at->has_error) {
        xq_mp_pack_str(pk, "approximationError");
        msgpack_pack_double(pk, at->approx_error);
    }
    xq_mp_pack_str(pk, "outputName");
    xq_mp_pack_str(pk, out_name);
}

void xq_run_pack(const xq_run_t *run, msgpack_packer *pk) {
    const xq_explanation_t *ex = &run->ctx.expl;

    if (run->def && run->def->pack) {
        run->def->pack(&run->ctx, pk);
        return;
    }

    msgpack_pack_map(pk, 1 + ex->adaptive);
    xq_mp_pack_str(pk, "attributions");
    msgpack_pack_array(pk, ex->attr_cnt);
    for (size_t i = 0; i < ex->attr_cnt; i++)
        pack_attribution(run, &ex->attrs[i], pk);
    if (ex->adaptive) {
        xq_mp_pack_str(pk, "adaptive");
        msgpack_pack_map(pk, 4);
        xq_mp_pack_str(pk, "targetApproximationError");
        msgpack_pack_double(pk, run->ctx.target_error);
        xq_mp_pack_str(pk, "met");
        if (ex->target_met)
            msgpack_pack_true(pk);
        else
            msgpack_pack_false(pk);
        xq_mp_pack_str(pk, ex->adapted);
        msgpack_pack_int(pk, ex->adapted_value);
        xq_mp_pack_str(pk, "modelRows");
        msgpack_pack_uint64(pk, ex->model_rows);
    }
}
