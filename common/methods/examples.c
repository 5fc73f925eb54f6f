/* examples.c -- example-based explanations: embed the instance, search the example index. */
#include "methods/examples.h"

#include <string.h>

#include "mem.h"
#include "mp.h"

typedef struct examples {
    xq_run_ctx_t *ctx;
    bool planned, done;
} examples_t;

size_t xq_examples_count(const xq_examples_query_t *q) {
    size_t k = q->neighbor_count ? q->neighbor_count : q->index->neighbor_count;

    return k ? k : 1;
}

/* How many of the @p cnt neighbours chosen so far share example @p e's tag. */
static size_t same_tag(const xq_exindex_t *x, const xq_neighbor_t *chosen, size_t cnt, size_t e) {
    size_t n = 0;

    for (size_t i = 0; i < cnt; i++)
        n += strcmp(x->tags[chosen[i].example], x->tags[e]) == 0;
    return n;
}

xq_err_t xq_examples_nearest(const xq_examples_query_t *q,
                             const float *emb,
                             size_t dim,
                             xq_neighbor_t *out,
                             size_t cap,
                             size_t *cnt,
                             xq_error_t *err) {
    const xq_exindex_t *x = q->index;
    size_t total = xq_index_count(x->index), want = cap < total ? cap : total, ask;
    bool crowd = q->crowding_count > 0 && x->tags;
    float *dist = NULL;
    int64_t *ids = NULL;
    xq_err_t rc = XQ_OK;

    *cnt = 0;
    if (dim != xq_index_dim(x->index))
        return xq_error_set(err, XQ_EINVAL, "latentSpaceSource",
                            "the model's embedding has %zu values, the example index %zu", dim,
                            xq_index_dim(x->index));
    /* under crowding some candidates are passed over: ask for more until enough are left */
    for (ask = crowd && want * 4 < total ? want * 4 : want; want > 0;
         ask = ask * 2 < total ? ask * 2 : total) {
        dist = xq_reallocarray(dist, ask, sizeof(*dist));
        ids = xq_reallocarray(ids, ask, sizeof(*ids));
        if ((rc = xq_index_search(x->index, emb, 1, ask, dist, ids, err)) != XQ_OK)
            goto out;
        *cnt = 0;
        for (size_t i = 0; i < ask && *cnt < want; i++) {
            if (ids[i] < 0 ||
                (crowd && same_tag(x, out, *cnt, (size_t)ids[i]) >= q->crowding_count))
                continue;
            out[*cnt].example = (size_t)ids[i];
            out[*cnt].distance = (double)dist[i];
            (*cnt)++;
        }
        if (*cnt == want || ask == total)
            break;
    }
out:
    xq_free(dist);
    xq_free(ids);
    return rc;
}

static void *examples_create(xq_run_ctx_t *ctx) {
    examples_t *s = xq_calloc(1, sizeof(*s));
    const xq_examples_query_t *q = ctx->examples;

    s->ctx = ctx;
    if (!q || !q->index) {
        ctx->rc = xq_error_set(&ctx->err, XQ_EINVAL, "indexId",
                               "examples need an example index: build one with "
                               "`explainq index build` and name its id");
    } else if (ctx->out_desc->elem_cnt != xq_index_dim(q->index->index)) {
        ctx->rc = xq_error_set(&ctx->err, XQ_EINVAL, "metadata.latentSpaceSource",
                               "the model's output %s has %zu values per row, but the example "
                               "index has dimension %zu",
                               ctx->out_desc->name, ctx->out_desc->elem_cnt,
                               xq_index_dim(q->index->index));
    }
    return s;
}

static xq_step_t examples_next(const void *st) {
    const examples_t *s = st;

    return s->done ? XQ_STEP_DONE : XQ_STEP_FORWARD;
}

static size_t examples_plan(void *st, xq_rows_t *rows, size_t budget) {
    examples_t *s = st;

    if (s->planned || budget < 1)
        return 0;
    xq_rows_add(rows, s->ctx->layout->x, -1);
    s->planned = true;
    return 1;
}

static void examples_reduce(void *st, const xq_rows_t *rows, size_t first, size_t cnt) {
    examples_t *s = st;
    xq_run_ctx_t *ctx = s->ctx;
    size_t k = xq_examples_count(ctx->examples);

    if (cnt < 1)
        return;
    s->done = true;
    ctx->expl.model_rows = 1;
    ctx->expl.neighbors = xq_calloc(k, sizeof(*ctx->expl.neighbors));
    ctx->rc = xq_examples_nearest(ctx->examples, xq_rows_out(rows, first), rows->out_cnt,
                                  ctx->expl.neighbors, k, &ctx->expl.neighbor_cnt, &ctx->err);
}

static void examples_destroy(void *st) {
    xq_free(st);
}

const xq_method_ops_t *xq_examples_ops(void) {
    static const xq_method_ops_t ops = {examples_create, examples_next, examples_plan,
                                        examples_reduce, examples_destroy};

    return &ops;
}

void xq_examples_pack(const xq_run_ctx_t *ctx, msgpack_packer *pk) {
    const xq_explanation_t *ex = &ctx->expl;
    char *const *ids = ctx->examples->index->ids;

    msgpack_pack_map(pk, 1);
    xq_mp_pack_str(pk, "neighbors");
    msgpack_pack_array(pk, ex->neighbor_cnt);
    for (size_t i = 0; i < ex->neighbor_cnt; i++) {
        msgpack_pack_map(pk, 2);
        xq_mp_pack_str(pk, "neighborId");
        xq_mp_pack_str(pk, ids[ex->neighbors[i].example]);
        xq_mp_pack_str(pk, "neighborDistance");
        msgpack_pack_double(pk, ex->neighbors[i].distance);
    }
}
