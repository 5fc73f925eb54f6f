/* layout.c -- instance <-> tensor mapping (see layout.h for the decisions). */
#include "layout.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base64.h"
#include "instances.h"
#include "layout_int.h"
#include "mem.h"
#include "mp.h"
#include "picture.h"

/* ==== Building ==== */

void xq_layout_destroy(xq_layout_t *l) {
    if (!l)
        return;
    xq_free(l->tensor_names); /* and the other per-tensor arrays: one block (assign_tensors()) */
    xq_free(l->x);            /* and base, sigma, lo and hi: one block (alloc_rows()) */
    xq_free(l->slots);
    xq_free(l->ranges);
    xq_free(l->entries);
    xq_free(l->images);
    xq_free(l->name_pool);
    xq_free(l);
}

bool xq_layout_compatible(const xq_layout_t *a, const xq_layout_t *b) {
    if (a->tensor_cnt != b->tensor_cnt)
        return false;
    for (size_t t = 0; t < a->tensor_cnt; t++) {
        if (a->elem_cnt[t] != b->elem_cnt[t] || strcmp(a->tensor_names[t], b->tensor_names[t]) ||
            a->chw_c[t] != b->chw_c[t] || a->chw_hw[t] != b->chw_hw[t])
            return false;
    }
    return true;
}

/*
 * Sets @p err to @p code and the printf-formatted message, the field naming feature @p f of
 * instance @p index; @returns @p code. The path is formatted only on failure: a feature read that
 * succeeds formats nothing (one snprintf per feature was the largest cost of building a tabular
 * layout).
 */
__attribute__((format(printf, 5, 6))) static xq_err_t
feat_error(xq_error_t *err, xq_err_t code, size_t index, const feat_t *f, const char *fmt, ...) {
    char field[XQ_ERR_FIELD_SIZE], msg[XQ_ERR_MSG_SIZE];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(field, sizeof(field), "instances[%zu].%s", index, f->name); /* instances[3].age */
    return xq_error_set(err, code, field, "%s", msg);
}

/* {"b64": "<PNG or JPEG>"}: an image feature's pixels, [h][w][c] in [0, 1]. */
static xq_err_t read_picture(feat_t *f, size_t index, xq_error_t *err) {
    const msgpack_object *v = xq_mp_map_get(f->val, "b64");
    xq_buf_t bytes;
    xq_err_t rc = XQ_OK;

    xq_buf_init(&bytes);
    if (f->val->via.map.size != 1 || v->type != MSGPACK_OBJECT_STR ||
        !xq_base64_decode(v->via.str.ptr, v->via.str.size, &bytes))
        rc = feat_error(err, XQ_EINVAL, index, f,
                        "instance %zu: feature %s: {\"b64\": ...} must hold one "
                        "base64 string",
                        index, f->name);
    else if ((rc = xq_picture_decode(bytes.data, bytes.len, &f->pic, &f->dims[0], &f->dims[1],
                                     &f->dims[2], err)) != XQ_OK) {
        char why[XQ_ERR_MSG_SIZE];

        memcpy(why, err->msg, sizeof(why)); /* not err->msg itself: it is being written */
        feat_error(err, rc, index, f, "instance %zu: feature %s: %.180s", index, f->name, why);
    }
    f->ndim = 3;
    f->raw_cnt = f->dims[0] * f->dims[1] * f->dims[2];
    xq_buf_fini(&bytes);
    return rc;
}

/* Reads the value of @p f and derives what it feeds; nulls are NaN when @p missing_ok. */
static xq_err_t
read_feature(feat_t *f, xq_model_t *model, bool missing_ok, size_t index, xq_error_t *err) {
    char why[160];
    const xq_tensor_desc_t *d;
    const char *bad;
    bool encoded;
    size_t k = 0;
    xq_err_t rc;

    if (f->val->type == MSGPACK_OBJECT_MAP && xq_mp_map_get(f->val, "b64")) {
        if ((rc = read_picture(f, index, err)) != XQ_OK)
            return rc;
    } else if ((bad = xq_lv_shape(f->val, &f->ndim, f->dims, &f->raw_cnt)))
        return feat_error(err, XQ_EINVAL, index, f, "instance %zu: feature %s %s", index, f->name,
                          bad);
    switch (xq_feat_encoding(f)) {
    case XQ_ENCODING_BAG_OF_FEATURES:
    case XQ_ENCODING_BAG_OF_FEATURES_SPARSE:
    case XQ_ENCODING_INDICATOR:
        if (f->ndim != 1 || f->raw_cnt != f->meta->index_feature_cnt)
            return feat_error(err, XQ_EINVAL, index, f,
                              "instance %zu: feature %s must be a list of %zu values, one per "
                              "indexFeatureMapping name",
                              index, f->name, f->meta->index_feature_cnt);
        break;
    default:
        break;
    }
    if (f->meta && f->meta->modality == XQ_MODALITY_IMAGE && f->ndim != 2 && f->ndim != 3)
        return feat_error(err, XQ_EINVAL, index, f,
                          "instance %zu: image feature %s must be [height][width] or "
                          "[height][width][channels], not %zu-dimensional",
                          index, f->name, f->ndim);

    if (xq_feat_is_embedding(f)) {
        f->tensor = f->meta->encoded_tensor_name;
        d = xq_model_find(model, f->tensor, &encoded);
        if (!d || !encoded)
            return feat_error(err, XQ_EMODEL, index, f,
                              "instance %zu: feature %s: the model has no encoded tensor %s", index,
                              f->name, f->tensor);
        f->len = d->elem_cnt;
        if (xq_feat_encoding(f) == XQ_ENCODING_CONCAT_EMBEDDING) {
            if (f->len % f->raw_cnt)
                return feat_error(err, XQ_EMODEL, index, f,
                                  "instance %zu: feature %s has %zu elements but the encoded "
                                  "tensor %s has %zu, not a multiple",
                                  index, f->name, f->raw_cnt, f->tensor, f->len);
            f->emb_dim = f->len / f->raw_cnt;
        }
        f->raw = xq_malloc(f->raw_cnt * sizeof(float));
        if (!xq_lv_flatten(f->val, f->dims, f->ndim, f->raw, &k, false, why, sizeof(why)))
            return feat_error(err, XQ_EINVAL, index, f, "instance %zu: feature %s: %s", index,
                              f->name, why);
        f->vals = xq_malloc(f->len * sizeof(float));
        if ((rc = xq_model_encode(model, f->tensor, f->raw, 1, f->raw_cnt, f->vals, f->len, err)) !=
            XQ_OK)
            return rc;
        return XQ_OK;
    }
    f->tensor = f->meta && f->meta->input_tensor_name ? f->meta->input_tensor_name : f->name;
    if (!(f->meta && f->meta->input_tensor_name) && !xq_model_find(model, f->name, &encoded) &&
        xq_model_input_cnt(model) == 1) {
        /* a model of one input (a tabular booster, say): unnamed features are its columns */
        f->tensor = xq_model_input(model, 0)->name;
    }
    f->len = f->raw_cnt;
    if (f->pic) {
        f->vals = f->pic;
        f->pic = NULL;
        return XQ_OK;
    }
    /* read by read_values(), with every other plain feature's, into one block */
    f->in_x = true;
    f->missing_ok = missing_ok;
    return XQ_OK;
}

/*
 * The instance row, its baselines (zeros), its SmoothGrad sigmas (zeros) and domain bounds, in
 * one block that l->x owns: one allocation per instance instead of five.
 */
static void alloc_rows(xq_layout_t *l, const xq_spec_t *spec) {
    size_t E = l->elem_total;

    /* XRAI's default: two constant baselines, the input's min and its max (or its domain's) */
    l->baseline_cnt = spec->baseline_cnt                      ? spec->baseline_cnt
                      : spec->params.method == XQ_METHOD_XRAI ? 2
                                                              : 1;
    l->x = xq_malloc((4 + l->baseline_cnt) * E * sizeof(float));
    l->sigma = l->x + E;
    l->lo = l->sigma + E;
    l->hi = l->lo + E;
    l->base = l->hi + E;
    memset(l->sigma, 0, E * sizeof(float));
    memset(l->base, 0, l->baseline_cnt * E * sizeof(float));
}

/*
 * Reads every plain feature's values into one block (@p *pool, the caller frees it): one
 * allocation per instance rather than one per feature, and still before assign_tensors(), so a
 * ragged array is named before the sizes it puts off.
 */
static xq_err_t read_values(feat_t *fs, size_t n, float **pool, size_t index, xq_error_t *err) {
    size_t total = 0;

    for (size_t i = 0; i < n; i++)
        total += fs[i].in_x ? fs[i].len : 0;
    *pool = xq_malloc((total ? total : 1) * sizeof(float));
    total = 0;
    for (size_t i = 0; i < n; i++) {
        feat_t *f = &fs[i];
        char why[160];
        size_t k = 0;

        if (!f->in_x)
            continue;
        f->vals = *pool + total;
        total += f->len;
        if (!xq_lv_flatten(f->val, f->dims, f->ndim, f->vals, &k, f->missing_ok, why, sizeof(why)))
            return feat_error(err, XQ_EINVAL, index, f, "instance %zu: feature %s: %s", index,
                              f->name, why);
    }
    return XQ_OK;
}

/* Groups features by tensor (first appearance order) and checks sizes against the model. */
/*
 * An image feature alone on a 3-d tensor: channels-first ([C, H, W]) or last ([H, W, C], the
 * picture's own order), by the shape, or by the model's image layout when both fit.
 */
static xq_err_t image_order(xq_layout_t *l,
                            size_t t,
                            const feat_t *f,
                            const xq_tensor_desc_t *d,
                            xq_model_t *model,
                            size_t index,
                            xq_error_t *err) {
    size_t h = f->dims[0], w = f->dims[1], c = f->ndim == 3 ? f->dims[2] : 1;
    bool last = d->dims[0] == h && d->dims[1] == w && d->dims[2] == c;
    bool first = d->dims[0] == c && d->dims[1] == h && d->dims[2] == w;
    xq_image_layout_t il = xq_model_image_layout(model);

    if (c == 1 || d->ndim != 3)
        return XQ_OK; /* one channel: both orders are the same bytes */
    if (il == XQ_IMAGE_LAYOUT_NCHW   ? !first
        : il == XQ_IMAGE_LAYOUT_NHWC ? !last
                                     : !first && !last) {
        return feat_error(err, XQ_EMODEL, index, f,
                          "instance %zu: image %s is [%zu][%zu][%zu]; tensor %s is [%zu, %zu, "
                          "%zu], %s",
                          index, f->name, h, w, c, l->tensor_names[t], d->dims[0], d->dims[1],
                          d->dims[2],
                          il ? "not in the image layout asked for (--image-layout)"
                             : "neither [C, H, W] nor [H, W, C] of it");
    }
    if (il == XQ_IMAGE_LAYOUT_AUTO && first && last) {
        return feat_error(err, XQ_EMODEL, index, f,
                          "instance %zu: tensor %s is [%zu, %zu, %zu]: channels-first and "
                          "channels-last both fit image %s; say which with --image-layout "
                          "nchw or nhwc",
                          index, l->tensor_names[t], d->dims[0], d->dims[1], d->dims[2], f->name);
    }
    if (il == XQ_IMAGE_LAYOUT_NCHW || (il == XQ_IMAGE_LAYOUT_AUTO && first)) {
        l->chw_c[t] = c;
        l->chw_hw[t] = h * w;
    }
    return XQ_OK;
}

static xq_err_t assign_tensors(
    xq_layout_t *l, feat_t *fs, size_t n, xq_model_t *model, size_t index, xq_error_t *err) {
    size_t *fill;

    /* the per-tensor arrays (and fill's scratch) in one block that tensor_names owns:
     * pointers and sizes first, the bools last, so each part stays aligned */
    l->tensor_names = xq_calloc(n, sizeof(*l->tensor_names) + 5 * sizeof(size_t) + sizeof(bool));
    l->elem_cnt = (size_t *)(l->tensor_names + n);
    l->tensor_off = l->elem_cnt + n;
    l->chw_c = l->tensor_off + n;
    l->chw_hw = l->chw_c + n;
    fill = l->chw_hw + n;
    l->is_int = (bool *)(fill + n);
    for (size_t i = 0; i < n; i++) {
        size_t t;

        for (t = 0; t < l->tensor_cnt; t++) {
            if (strcmp(l->tensor_names[t], fs[i].tensor) == 0)
                break;
        }
        if (t == l->tensor_cnt)
            l->tensor_names[l->tensor_cnt++] = fs[i].tensor;
        l->elem_cnt[t] += fs[i].len;
    }
    for (size_t t = 0; t < l->tensor_cnt; t++) {
        bool encoded;
        const xq_tensor_desc_t *d = xq_model_find(model, l->tensor_names[t], &encoded);

        if (!d) {
            char near[160];

            xq_model_closest_names(model, l->tensor_names[t], near, sizeof(near));
            return xq_error_set(err, XQ_EMODEL, l->tensor_names[t],
                                "instance %zu: the model has no input tensor %s (set "
                                "inputTensorName in the metadata); closest: %s",
                                index, l->tensor_names[t], near);
        }
        if (d->elem_cnt != l->elem_cnt[t]) {
            char who[160] = "";
            size_t off = 0, first = n, odd = n, odd_cnt = 0;

            for (size_t i = 0; i < n; i++) {
                if (strcmp(fs[i].tensor, l->tensor_names[t]) != 0)
                    continue;
                first = first == n ? i : first;
                if (fs[i].len != 1) {
                    odd = i;
                    odd_cnt++;
                }
                if (off < sizeof(who))
                    off += (size_t)snprintf(who + off, sizeof(who) - off, "%s%s (%zu)",
                                            off ? ", " : "", fs[i].name, fs[i].len);
            }
            /* among scalar columns, the one array is the likely culprit */
            return feat_error(err, XQ_EINVAL, index, &fs[odd_cnt == 1 ? odd : first],
                              "instance %zu: tensor %s gets %zu elements from %s; the model "
                              "takes %zu",
                              index, l->tensor_names[t], l->elem_cnt[t], who, d->elem_cnt);
        }
        l->tensor_off[t] = l->elem_total;
        l->elem_total += l->elem_cnt[t];
        l->is_int[t] = d->is_integer && !encoded;
        l->has_encoded |= encoded;
        for (size_t i = 0; i < n; i++) {
            const feat_t *f = &fs[i];
            xq_err_t rc;

            if (strcmp(f->tensor, l->tensor_names[t]) || f->len != l->elem_cnt[t] || !f->meta ||
                f->meta->modality != XQ_MODALITY_IMAGE || xq_feat_is_embedding(f) ||
                (f->ndim != 2 && f->ndim != 3))
                continue;
            if ((rc = image_order(l, t, f, d, model, index, err)) != XQ_OK)
                return rc;
        }
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t t = 0; t < l->tensor_cnt; t++) {
            if (strcmp(l->tensor_names[t], fs[i].tensor) == 0) {
                fs[i].off = l->tensor_off[t] + fill[t];
                fill[t] += fs[i].len;
                break;
            }
        }
    }
    return XQ_OK;
}

static xq_err_t fill_baselines(xq_layout_t *l,
                               const xq_spec_t *spec,
                               feat_t *fs,
                               size_t n,
                               xq_model_t *model,
                               size_t index,
                               xq_error_t *err) {
    char why[160], field[XQ_ERR_FIELD_SIZE];
    float *tmp = NULL;
    xq_err_t rc = XQ_OK;

    bool xrai = spec->params.method == XQ_METHOD_XRAI && !spec->baseline_cnt;

    /* l->base: zeros by default (alloc_rows()) */
    for (size_t i = 0; xrai && i < n; i++) {
        const feat_t *f = &fs[i];
        const xq_domain_t *d = f->meta ? &f->meta->domain : NULL;
        float lo = f->len ? f->vals[0] : 0, hi = lo;

        for (size_t e = 1; e < f->len; e++) {
            lo = f->vals[e] < lo ? f->vals[e] : lo;
            hi = f->vals[e] > hi ? f->vals[e] : hi;
        }
        if (d && d->has_min)
            lo = (float)d->min_value;
        if (d && d->has_max)
            hi = (float)d->max_value;
        for (size_t e = 0; e < f->len; e++) {
            l->base[f->off + e] = lo;
            l->base[l->elem_total + f->off + e] = hi;
        }
    }
    for (size_t i = 0; i < n && rc == XQ_OK; i++) {
        const feat_t *f = &fs[i];
        const xq_input_meta_t *m = f->meta;

        if (!m)
            continue;
        for (size_t b = 0; b < l->baseline_cnt && rc == XQ_OK; b++) {
            float *dst = l->base + b * l->elem_total + f->off;

            const char *list = NULL; /* the spec's list a bad baseline is named in */

            if (xq_feat_is_embedding(f) && m->encoded_baseline_cnt) {
                if (!xq_lv_baseline(&m->encoded_baselines[b], f->len, dst, why, sizeof(why)))
                    list = "encodedBaselines";
            } else if (xq_feat_is_embedding(f) && m->baseline_cnt) {
                /* a raw baseline goes through the model's encoder */
                tmp = xq_reallocarray(tmp, f->raw_cnt, sizeof(float));
                if (!xq_lv_baseline(&m->baselines[b], f->raw_cnt, tmp, why, sizeof(why)))
                    list = "inputBaselines";
                else
                    rc = xq_model_encode(model, f->tensor, tmp, 1, f->raw_cnt, dst, f->len, err);
            } else if (m->baseline_cnt) {
                if (!xq_lv_baseline(&m->baselines[b], f->len, dst, why, sizeof(why)))
                    list = "inputBaselines";
            }
            if (list) {
                /* the path is formatted on failure only, as for features */
                snprintf(field, sizeof(field), "metadata.inputs.%s.%s[%zu]", f->name, list, b);
                rc = xq_error_set(err, XQ_EINVAL, field, "instance %zu: %s", index, why);
            }
        }
    }
    xq_free(tmp);
    return rc;
}

static void fill_noise_and_domain(xq_layout_t *l, const xq_spec_t *spec, feat_t *fs, size_t n) {
    const xq_smoothgrad_t *sg = &spec->params.ig.smoothgrad;
    bool smooth = (spec->params.method == XQ_METHOD_INTEGRATED_GRADIENTS ||
                   spec->params.method == XQ_METHOD_XRAI) &&
                  sg->present;

    for (size_t g = 0; g < l->elem_total; g++) {
        l->lo[g] = -INFINITY;
        l->hi[g] = INFINITY;
    }
    for (size_t i = 0; i < n; i++) {
        const feat_t *f = &fs[i];
        float sigma = 0;

        if (smooth && sg->noise_kind == XQ_NOISE_SIGMA)
            sigma = (float)sg->noise_sigma;
        for (size_t j = 0; smooth && sg->noise_kind == XQ_NOISE_FEATURE && j < sg->feature_cnt;
             j++) {
            if (strcmp(sg->feature[j].name, f->name) == 0)
                sigma = (float)sg->feature[j].sigma;
        }
        for (size_t e = 0; e < f->len; e++) {
            l->sigma[f->off + e] = sigma;
            if (f->meta && f->meta->domain.has_min)
                l->lo[f->off + e] = (float)f->meta->domain.min_value;
            if (f->meta && f->meta->domain.has_max)
                l->hi[f->off + e] = (float)f->meta->domain.max_value;
        }
    }
}

/*
 * The value of feature @p name, the @p i th of the spec: instances usually list their features
 * in the spec's order, so key i is tried before the whole map is searched.
 */
static const msgpack_object *feature_value(const msgpack_object *inst, size_t i, const char *name) {
    if (i < inst->via.map.size && xq_mp_str_eq(&inst->via.map.ptr[i].key, name))
        return &inst->via.map.ptr[i].val;
    return xq_mp_map_get(inst, name);
}

/* Without metadata the features are the instance's keys, copied into one pool the layout owns. */
static xq_err_t features_from_keys(
    xq_layout_t *l, const msgpack_object *inst, size_t index, feat_t *fs, xq_error_t *err) {
    char field[XQ_ERR_FIELD_SIZE];
    size_t total = 0, pos = 0;

    for (uint32_t i = 0; i < inst->via.map.size; i++) {
        const msgpack_object *k = &inst->via.map.ptr[i].key;

        if (k->type != MSGPACK_OBJECT_STR || !k->via.str.size ||
            memchr(k->via.str.ptr, '\0', k->via.str.size)) {
            snprintf(field, sizeof(field), "instances[%zu]", index);
            return xq_error_set(err, XQ_EINVAL, field,
                                "instance %zu has a key that is not a non-empty string", index);
        }
        total += k->via.str.size + 1;
    }
    l->name_pool = xq_malloc(total ? total : 1);
    for (uint32_t i = 0; i < inst->via.map.size; i++) {
        const msgpack_object *k = &inst->via.map.ptr[i].key;

        memcpy(l->name_pool + pos, k->via.str.ptr, k->via.str.size);
        l->name_pool[pos + k->via.str.size] = '\0';
        fs[i].name = l->name_pool + pos;
        fs[i].val = &inst->via.map.ptr[i].val;
        pos += k->via.str.size + 1;
    }
    return XQ_OK;
}

xq_err_t xq_layout_build(const xq_spec_t *spec,
                         xq_model_t *model,
                         const msgpack_object *inst,
                         size_t index,
                         xq_layout_t **out,
                         xq_error_t *err) {
    char field[XQ_ERR_FIELD_SIZE];
    xq_layout_t *l = xq_calloc(1, sizeof(*l));
    feat_t *fs = NULL;
    float *pool = NULL; /* the plain features' values (read_values()) */
    size_t n = 0;
    xq_err_t rc = XQ_OK;

    snprintf(field, sizeof(field), "instances[%zu]", index); /* for the errors below */
    if (inst->type != MSGPACK_OBJECT_MAP) {
        /* a bare value or array: the one input's value (Vertex's nameless input) */
        if ((spec->meta.present && spec->meta.input_cnt != 1) ||
            (!spec->meta.present && xq_model_input_cnt(model) != 1)) {
            rc = xq_error_set(
                err, XQ_EINVAL, field,
                "instance %zu is not an object of features; a bare value or array "
                "needs a spec (or a model) with exactly one input, this one has %zu: "
                "key the values by input name",
                index, spec->meta.present ? spec->meta.input_cnt : xq_model_input_cnt(model));
            goto out;
        }
        n = 1;
        fs = xq_calloc(1, sizeof(*fs));
        fs[0].meta = spec->meta.present ? &spec->meta.inputs[0] : NULL;
        fs[0].name = spec->meta.present
                         ? spec->meta.inputs[0].name
                         : (l->name_pool = xq_strdup(xq_model_input(model, 0)->name));
        fs[0].val = inst;
    } else if (spec->meta.present) {
        n = spec->meta.input_cnt;
        fs = xq_calloc(n, sizeof(*fs));
        for (size_t i = 0; i < n; i++) {
            fs[i].name = spec->meta.inputs[i].name;
            fs[i].meta = &spec->meta.inputs[i];
            if (!(fs[i].val = feature_value(inst, i, fs[i].name))) {
                rc = feat_error(err, XQ_EINVAL, index, &fs[i],
                                "instance %zu: feature %s is missing", index, fs[i].name);
                goto out;
            }
        }
    } else {
        n = inst->via.map.size;
        fs = xq_calloc(n ? n : 1, sizeof(*fs));
        if ((rc = features_from_keys(l, inst, index, fs, err)) != XQ_OK)
            goto out;
    }
    if (!n) {
        rc = xq_error_set(err, XQ_EINVAL, field, "instance %zu has no features", index);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        bool missing_ok =
            xq_model_missing_ok(model) && spec->params.method == XQ_METHOD_SAMPLED_SHAPLEY;

        if ((rc = read_feature(&fs[i], model, missing_ok, index, err)) != XQ_OK)
            goto out;
    }
    if ((rc = read_values(fs, n, &pool, index, err)) != XQ_OK ||
        (rc = assign_tensors(l, fs, n, model, index, err)) != XQ_OK)
        goto out;
    alloc_rows(l, spec);
    for (size_t i = 0; i < n; i++)
        memcpy(l->x + fs[i].off, fs[i].vals, fs[i].len * sizeof(float));
    if ((rc = fill_baselines(l, spec, fs, n, model, index, err)) != XQ_OK)
        goto out;
    fill_noise_and_domain(l, spec, fs, n);
    if ((rc = xq_layout_build_slots(l, fs, n, index, err)) != XQ_OK)
        goto out;
    xq_layout_find_images(l, fs, n);
    *out = l;
    l = NULL; /* owned by the caller now */
out:
    for (size_t i = 0; fs && i < n; i++) {
        if (!fs[i].in_x)
            xq_free(fs[i].vals);
        xq_free(fs[i].raw);
        xq_free(fs[i].pic);
    }
    xq_free(fs);
    xq_free(pool);
    xq_layout_destroy(l);
    return rc;
}

xq_err_t xq_layout_check_names(const xq_spec_t *spec, xq_model_t *model, xq_error_t *err) {
    for (size_t i = 0; spec->meta.present && i < spec->meta.input_cnt; i++) {
        const xq_input_meta_t *in = &spec->meta.inputs[i];
        const char *names[2] = {in->input_tensor_name, in->encoded_tensor_name};
        static const char *const keys[2] = {"inputTensorName", "encodedTensorName"};

        for (size_t k = 0; k < 2; k++) {
            char field[XQ_ERR_FIELD_SIZE], near[160];
            bool encoded;

            if (!names[k] || xq_model_find(model, names[k], &encoded))
                continue;
            snprintf(field, sizeof(field), "metadata.inputs.%s.%s", in->name, keys[k]);
            xq_model_closest_names(model, names[k], near, sizeof(near));
            return xq_error_set(err, XQ_EMODEL, field,
                                "the model has no tensor %s; closest: %s (explainq model info "
                                "lists them all)",
                                names[k], near);
        }
    }
    return XQ_OK;
}
