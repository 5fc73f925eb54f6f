/* exbuild.c -- example-index builds: examples batched through the model, embeddings indexed. */
#include "exbuild.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "layout.h"
#include "mem.h"
#include "mp.h"
#include "rows.h"

struct xq_exbuild {
    const xq_spec_t *spec;
    xq_model_t *model;
    xq_exbuild_opts_t opts;
    xq_index_metric_t metric;
    xq_index_query_t query;
    size_t dim;
    xq_rows_t rows;
    xq_layout_t *lead; /* the layout the pending rows were reset for (names are borrowed) */
    size_t *pending_line;
    float *emb;         /* embedded examples, count * dim */
    size_t count, cap;  /* cap: of emb, ids and tags alike */
    char **ids, **tags; /* per embedded or pending example */
    bool any_tag;
    msgpack_object_kv *kv; /* scratch: an example's fields without id and tag */
    size_t kv_cap;
};

/* A field of the config map under its JSON or proto name. */
static const msgpack_object *cfg_get(const msgpack_object *m, const char *json, const char *proto) {
    const msgpack_object *v = m && m->type == MSGPACK_OBJECT_MAP ? xq_mp_map_get(m, json) : NULL;

    return v ? v : m && m->type == MSGPACK_OBJECT_MAP ? xq_mp_map_get(m, proto) : NULL;
}

static xq_err_t nn_config(const msgpack_object *c,
                          size_t dim,
                          xq_index_metric_t *metric,
                          xq_index_query_t *query,
                          xq_error_t *err) {
    const msgpack_object *dims = cfg_get(c, "dimensions", "dimensions");
    const msgpack_object *dist = cfg_get(c, "distanceMeasureType", "distance_measure_type");
    const msgpack_object *norm = cfg_get(c, "featureNormType", "feature_norm_type");
    const msgpack_object *algo = cfg_get(c, "algorithmConfig", "algorithm_config");
    bool unit = norm && xq_mp_str_eq(norm, "UNIT_L2_NORM");
    double d;

#define NN "examples.nearestNeighborSearchConfig."
    if (dims && (!xq_mp_number(dims, &d) || d != (double)dim))
        return xq_error_set(err, XQ_EINVAL, NN "dimensions",
                            "must equal the model's embedding size %zu", dim);
    if (norm && !unit && !xq_mp_str_eq(norm, "NONE"))
        return xq_error_set(err, XQ_EINVAL, NN "featureNormType", "must be UNIT_L2_NORM or NONE");
    if (dist && xq_mp_str_eq(dist, "COSINE_DISTANCE")) {
        *metric = XQ_INDEX_COSINE;
    } else if (dist && xq_mp_str_eq(dist, "SQUARED_L2_DISTANCE") && !unit) {
        *metric = XQ_INDEX_SQUARED_L2;
    } else if ((!dist || xq_mp_str_eq(dist, "DOT_PRODUCT_DISTANCE")) && unit) {
        *metric = XQ_INDEX_COSINE; /* -q.x on unit vectors ranks as 1 - cos */
    } else {
        return xq_error_set(err, XQ_EINVAL, NN "distanceMeasureType",
                            "supported here: SQUARED_L2_DISTANCE (with featureNormType NONE), "
                            "COSINE_DISTANCE, or DOT_PRODUCT_DISTANCE with UNIT_L2_NORM");
    }
    *query = XQ_INDEX_PRECISE;
    if (algo && cfg_get(algo, "treeAhConfig", "tree_ah_config"))
        *query = XQ_INDEX_FAST;
    else if (algo && !cfg_get(algo, "bruteForceConfig", "brute_force_config"))
        return xq_error_set(err, XQ_EINVAL, NN "algorithmConfig",
                            "must hold treeAhConfig or bruteForceConfig");
#undef NN
    return XQ_OK;
}

xq_err_t xq_exbuild_config(const xq_spec_t *spec,
                           size_t dim,
                           xq_index_metric_t *metric,
                           xq_index_query_t *query,
                           xq_error_t *err) {
    const xq_examples_t *ex = &spec->params.examples;

    *metric = XQ_INDEX_SQUARED_L2;
    *query = XQ_INDEX_PRECISE;
    if (spec->params.method != XQ_METHOD_EXAMPLES)
        return xq_error_set(err, XQ_EINVAL, "parameters.examples",
                            "the spec does not ask for example-based explanations");
    if (ex->config == XQ_EXAMPLES_CONFIG_NEAREST_NEIGHBOR)
        return nn_config(&ex->nn_config, dim, metric, query, err);
    if (ex->config == XQ_EXAMPLES_CONFIG_PRESETS) {
        *metric = ex->presets.modality == XQ_PRESET_MODALITY_TABULAR ? XQ_INDEX_SQUARED_L2
                                                                     : XQ_INDEX_COSINE;
        *query = ex->presets.query == XQ_QUERY_FAST ? XQ_INDEX_FAST : XQ_INDEX_PRECISE;
    }
    return XQ_OK;
}

xq_err_t xq_exbuild_new(const xq_spec_t *spec,
                        xq_model_t *model,
                        const xq_exbuild_opts_t *opts,
                        xq_exbuild_t **out,
                        xq_error_t *err) {
    xq_exbuild_t *b;
    xq_err_t rc;

    *out = NULL;
    b = xq_calloc(1, sizeof(*b));
    b->spec = spec;
    b->model = model;
    if (opts)
        b->opts = *opts;
    if (!b->opts.id_field)
        b->opts.id_field = "id";
    if (!b->opts.tag_field)
        b->opts.tag_field = "crowdingTag";
    if (!b->opts.batch_rows)
        b->opts.batch_rows = 1024;
    b->dim = xq_model_output(model)->elem_cnt;
    xq_rows_init(&b->rows);
    b->pending_line = xq_calloc(b->opts.batch_rows, sizeof(*b->pending_line));
    if ((rc = xq_exbuild_config(spec, b->dim, &b->metric, &b->query, err)) != XQ_OK) {
        xq_exbuild_destroy(b);
        return rc;
    }
    *out = b;
    return XQ_OK;
}

size_t xq_exbuild_embedded(const xq_exbuild_t *b) {
    return b->count;
}

/* Evaluates the pending rows and appends their embeddings. */
static xq_err_t flush(xq_exbuild_t *b, xq_error_t *err) {
    size_t n = b->rows.cnt;
    xq_err_t rc;

    if (!n)
        return XQ_OK;
    if ((rc = xq_rows_eval(&b->rows, b->model, b->opts.batch_rows, err)) != XQ_OK) {
        char field[XQ_ERR_FIELD_SIZE];

        snprintf(field, sizeof(field), "lines %zu-%zu: %.200s", b->pending_line[0],
                 b->pending_line[n - 1], err->field);
        snprintf(err->field, sizeof(err->field), "%s", field);
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        const float *e = xq_rows_out(&b->rows, i);
        double norm = 0;

        for (size_t d = 0; d < b->dim; d++)
            norm += (double)e[d] * (double)e[d];
        if (!isfinite(norm) || (b->metric == XQ_INDEX_COSINE && norm == 0))
            return xq_error_set(err, XQ_EINVAL, "latentSpaceSource",
                                "line %zu: the embedding is %s", b->pending_line[i],
                                isfinite(norm) ? "zero, which has no direction for cosine"
                                               : "not finite");
        memcpy(b->emb + (b->count + i) * b->dim, e, b->dim * sizeof(float));
    }
    b->count += n;
    b->rows.cnt = 0;
    xq_layout_destroy(b->lead);
    b->lead = NULL;
    return XQ_OK;
}

/* The id field's text: a string, or an integer in decimal. */
static xq_err_t
id_text(const msgpack_object *v, const char *name, size_t line, char **out, xq_error_t *err) {
    char num[32];

    if (v->type == MSGPACK_OBJECT_STR) {
        *out = xq_strndup(v->via.str.ptr, v->via.str.size);
    } else if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        snprintf(num, sizeof(num), "%" PRIu64, v->via.u64);
        *out = xq_strdup(num);
    } else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        snprintf(num, sizeof(num), "%" PRId64, v->via.i64);
        *out = xq_strdup(num);
    } else {
        return xq_error_set(err, XQ_EINVAL, name, "line %zu: must be a string or an integer", line);
    }
    return XQ_OK;
}

xq_err_t xq_exbuild_add(xq_exbuild_t *b, const msgpack_object *inst, size_t line, xq_error_t *err) {
    const msgpack_object *idv = NULL, *tagv = NULL;
    msgpack_object fields;
    xq_layout_t *l = NULL;
    size_t k, n = 0;
    char num[32], *id = NULL, *tag = NULL;
    xq_err_t rc;

    if (inst->type != MSGPACK_OBJECT_MAP)
        return xq_error_set(err, XQ_EINVAL, "examples", "line %zu: an example must be an object",
                            line);
    if (inst->via.map.size > b->kv_cap) {
        b->kv_cap = inst->via.map.size;
        b->kv = xq_reallocarray(b->kv, b->kv_cap, sizeof(*b->kv));
    }
    for (uint32_t i = 0; i < inst->via.map.size; i++) {
        const msgpack_object_kv *kv = &inst->via.map.ptr[i];

        if (xq_mp_str_eq(&kv->key, b->opts.id_field))
            idv = &kv->val;
        else if (xq_mp_str_eq(&kv->key, b->opts.tag_field))
            tagv = &kv->val;
        else
            b->kv[n++] = *kv;
    }
    fields.type = MSGPACK_OBJECT_MAP;
    fields.via.map.size = (uint32_t)n;
    fields.via.map.ptr = b->kv;
    if ((idv && (rc = id_text(idv, b->opts.id_field, line, &id, err)) != XQ_OK) ||
        (tagv && (rc = id_text(tagv, b->opts.tag_field, line, &tag, err)) != XQ_OK))
        goto out;
    if ((rc = xq_layout_build(b->spec, b->model, &fields, line, &l, err)) != XQ_OK) {
        char field[XQ_ERR_FIELD_SIZE];
        const char *f = strchr(err->field, ']');

        /* "instances[<line>].feature" reads "line <line>: feature" here */
        snprintf(field, sizeof(field), "line %zu%s%.200s", line, f && f[1] ? ": " : "",
                 f && f[1] ? f + 2 : "");
        snprintf(err->field, sizeof(err->field), "%s", field);
        goto out;
    }
    if (b->lead && (!xq_layout_compatible(b->lead, l) || b->rows.cnt == b->opts.batch_rows) &&
        (rc = flush(b, err)) != XQ_OK)
        goto out;
    if (!b->lead) {
        xq_rows_reset(&b->rows, l, b->dim, false);
        b->lead = l;
    }
    k = b->count + b->rows.cnt;
    if (k + 1 > b->cap) {
        b->cap = b->cap ? b->cap * 2 : 1024;
        b->emb = xq_reallocarray(b->emb, b->cap, b->dim * sizeof(float));
        b->ids = xq_reallocarray(b->ids, b->cap, sizeof(*b->ids));
        b->tags = xq_reallocarray(b->tags, b->cap, sizeof(*b->tags));
    }
    if (!id) {
        snprintf(num, sizeof(num), "%zu", line);
        id = xq_strdup(num);
    }
    b->ids[k] = id;
    b->tags[k] = tag ? tag : xq_strdup("");
    b->any_tag |= tag != NULL;
    id = tag = NULL;
    b->pending_line[b->rows.cnt] = line;
    xq_rows_add(&b->rows, l->x, -1);
    if (l != b->lead)
        xq_layout_destroy(l);
    l = NULL;
out:
    if (l != b->lead)
        xq_layout_destroy(l);
    xq_free(id);
    xq_free(tag);
    return rc;
}

xq_err_t xq_exbuild_finish(xq_exbuild_t *b, xq_exindex_t **out, xq_error_t *err) {
    const xq_examples_t *ex = &b->spec->params.examples;
    xq_exindex_t *x = NULL;
    xq_err_t rc;

    *out = NULL;
    if ((rc = flush(b, err)) != XQ_OK)
        return rc;
    if (!b->count)
        return xq_error_set(err, XQ_EINVAL, "examples", "there are no examples to index");
    x = xq_calloc(1, sizeof(*x));
    x->neighbor_count =
        ex->has_neighbor_count ? (uint32_t)ex->neighbor_count : XQ_EXBUILD_DEFAULT_NEIGHBORS;
    if ((rc = xq_index_new(b->dim, b->metric, b->query, &x->index, err)) != XQ_OK ||
        (rc = xq_index_add(x->index, b->emb, b->count, err)) != XQ_OK) {
        xq_exindex_destroy(x);
        return rc;
    }
    /* the preset takes the ids (and the tags, when any example had one) */
    x->ids = b->ids;
    x->id_cnt = b->count;
    b->ids = NULL;
    if (b->any_tag) {
        x->tags = b->tags;
        b->tags = NULL;
    }
    *out = x;
    return XQ_OK;
}

void xq_exbuild_destroy(xq_exbuild_t *b) {
    if (!b)
        return;
    for (size_t i = 0; i < b->count + b->rows.cnt; i++) {
        xq_free(b->ids ? b->ids[i] : NULL);
        xq_free(b->tags ? b->tags[i] : NULL);
    }
    xq_free(b->ids);
    xq_free(b->tags);
    xq_layout_destroy(b->lead);
    xq_rows_fini(&b->rows);
    xq_free(b->pending_line);
    xq_free(b->emb);
    xq_free(b->kv);
    xq_free(b);
}
