/* vertex.c -- specs as Vertex AI users hold them (see vertex.h). */
#include "vertex.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "layout.h"
#include "log.h"
#include "mem.h"
#include "mp.h"

/* The members of ExplanationParameters' method union. */
static const char *const method_keys[] = {
    "sampledShapleyAttribution", "integratedGradientsAttribution", "xraiAttribution", "examples"};

/* @p k names @p camel in camelCase or snake_case (proto3 JSON takes both). */
static bool key_is(const msgpack_object *k, const char *camel) {
    size_t i = 0, j = 0;

    if (k->type != MSGPACK_OBJECT_STR)
        return false;
    for (;;) {
        while (i < k->via.str.size && k->via.str.ptr[i] == '_')
            i++;
        if (i == k->via.str.size || !camel[j])
            return i == k->via.str.size && !camel[j];
        if (tolower((unsigned char)k->via.str.ptr[i]) != tolower((unsigned char)camel[j]))
            return false;
        i++;
        j++;
    }
}

static const msgpack_object *get(const msgpack_object *map, const char *camel) {
    for (uint32_t i = 0; map && map->type == MSGPACK_OBJECT_MAP && i < map->via.map.size; i++) {
        if (key_is(&map->via.map.ptr[i].key, camel))
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

static bool is_method_key(const msgpack_object *k) {
    for (size_t m = 0; m < sizeof(method_keys) / sizeof(method_keys[0]); m++) {
        if (key_is(k, method_keys[m]))
            return true;
    }
    return false;
}

/* JSON text or msgpack in @p buf, one object; @p what names it in errors. */
static xq_err_t load(const uint8_t *buf,
                     size_t len,
                     const char *what,
                     xq_buf_t *mp,
                     msgpack_unpacked *u,
                     xq_errlist_t *errs) {
    xq_error_t err;
    size_t i = 0;

    while (i < len && isspace(buf[i]))
        i++;
    if (i < len && (buf[i] == '{' || buf[i] == '[')) {
        if (xq_json_to_msgpack((const char *)buf, len, mp, &err) != XQ_OK) {
            xq_errlist_add(errs, XQ_EDECODE, what, "%s", err.msg);
            return XQ_EDECODE;
        }
        buf = mp->data;
        len = mp->len;
    }
    if (!xq_mp_unpack_one(buf, len, u)) {
        xq_errlist_add(errs, XQ_EDECODE, what, "is neither JSON nor one msgpack object");
        return XQ_EDECODE;
    }
    if (u->data.type != MSGPACK_OBJECT_MAP) {
        xq_errlist_add(errs, XQ_ESPEC, what, "must be an object");
        return XQ_ESPEC;
    }
    return XQ_OK;
}

/* Packs the metadata map @p m without AI Platform's bookkeeping keys. */
static void pack_metadata(msgpack_packer *pk, const msgpack_object *m) {
    static const char *const drop[] = {"framework", "tags", "preparer"};
    uint32_t keep = 0;

    for (int pass = 0; pass < 2; pass++) {
        if (pass)
            msgpack_pack_map(pk, keep);
        for (uint32_t i = 0; i < m->via.map.size; i++) {
            bool dropped = false;

            for (size_t d = 0; d < 3; d++)
                dropped |= xq_mp_str_eq(&m->via.map.ptr[i].key, drop[d]);
            if (dropped)
                continue;
            if (!pass) {
                keep++;
                continue;
            }
            msgpack_pack_object(pk, m->via.map.ptr[i].key);
            msgpack_pack_object(pk, m->via.map.ptr[i].val);
        }
    }
}

xq_err_t xq_vertex_spec_parse(const uint8_t *spec,
                              size_t spec_len,
                              const uint8_t *meta,
                              size_t meta_len,
                              const uint8_t *params,
                              size_t params_len,
                              xq_spec_t **out,
                              xq_errlist_t *errs) {
    msgpack_unpacked su, mu, pu;
    xq_buf_t smp, mmp, pmp, packed;
    const msgpack_object *s = NULL, *m = NULL, *p = NULL, *inner;
    msgpack_packer pk;
    uint32_t n = 0;
    xq_err_t rc = XQ_OK;

    msgpack_unpacked_init(&su);
    msgpack_unpacked_init(&mu);
    msgpack_unpacked_init(&pu);
    xq_buf_init(&smp);
    xq_buf_init(&mmp);
    xq_buf_init(&pmp);
    xq_buf_init(&packed);
    if (spec && (rc = load(spec, spec_len, "spec", &smp, &su, errs)) == XQ_OK) {
        s = &su.data;
        /* a Model resource carries the spec under explanationSpec */
        if ((inner = get(s, "explanationSpec"))) {
            if (inner->type != MSGPACK_OBJECT_MAP) {
                xq_errlist_add(errs, XQ_ESPEC, "explanationSpec", "must be an object");
                rc = XQ_ESPEC;
                goto out;
            }
            s = inner;
        } else if (get(s, "displayName") || get(s, "containerSpec") || get(s, "artifactUri")) {
            xq_errlist_add(errs, XQ_ESPEC, "explanationSpec",
                           "this Model resource has no explanationSpec; give the spec, or "
                           "--metadata and --parameters");
            rc = XQ_ESPEC;
            goto out;
        }
    }
    if (rc == XQ_OK && meta && (rc = load(meta, meta_len, "metadata", &mmp, &mu, errs)) == XQ_OK)
        m = &mu.data;
    if (rc == XQ_OK && params &&
        (rc = load(params, params_len, "parameters", &pmp, &pu, errs)) == XQ_OK) {
        p = &pu.data;
        if (p->via.map.size == 1 && (inner = get(p, "parameters")))
            p = inner; /* {"parameters": {...}} */
    }
    if (rc != XQ_OK)
        goto out;
    /* the spec's own members, but for the halves given separately */
    for (uint32_t i = 0; s && i < s->via.map.size; i++) {
        const msgpack_object *k = &s->via.map.ptr[i].key;

        n += !((m && key_is(k, "metadata")) || (p && key_is(k, "parameters")));
    }
    n += (m != NULL) + (p != NULL);
    xq_mp_packer_init(&pk, &packed);
    msgpack_pack_map(&pk, n);
    for (uint32_t i = 0; s && i < s->via.map.size; i++) {
        const msgpack_object_kv *kv = &s->via.map.ptr[i];

        if ((m && key_is(&kv->key, "metadata")) || (p && key_is(&kv->key, "parameters")))
            continue;
        msgpack_pack_object(&pk, kv->key);
        if (key_is(&kv->key, "metadata") && kv->val.type == MSGPACK_OBJECT_MAP)
            pack_metadata(&pk, &kv->val);
        else
            msgpack_pack_object(&pk, kv->val);
    }
    if (m) {
        xq_mp_pack_str(&pk, "metadata");
        pack_metadata(&pk, m);
    }
    if (p) {
        xq_mp_pack_str(&pk, "parameters");
        msgpack_pack_object(&pk, *p);
    }
    rc = xq_spec_parse(packed.data, packed.len, out, errs);
out:
    msgpack_unpacked_destroy(&su);
    msgpack_unpacked_destroy(&mu);
    msgpack_unpacked_destroy(&pu);
    xq_buf_fini(&smp);
    xq_buf_fini(&mmp);
    xq_buf_fini(&pmp);
    xq_buf_fini(&packed);
    return rc;
}

/* @p ok (an override's key, either spelling) names the same member as @p bk (camelCase). */
static bool same_key(const msgpack_object *ok, const msgpack_object *bk) {
    char camel[128];

    if (bk->type != MSGPACK_OBJECT_STR || bk->via.str.size >= sizeof(camel))
        return false;
    memcpy(camel, bk->via.str.ptr, bk->via.str.size);
    camel[bk->via.str.size] = '\0';
    return key_is(ok, camel);
}

/* Packs the members of @p b that no member of @p o replaces, then those of @p o. */
static void pack_merged(msgpack_packer *pk,
                        const msgpack_object *b,
                        const msgpack_object *o,
                        bool methods_replace) {
    bool new_method = false;
    uint32_t n = o->via.map.size;

    for (uint32_t i = 0; methods_replace && i < o->via.map.size; i++)
        new_method |= is_method_key(&o->via.map.ptr[i].key);
    for (int pass = 0; pass < 2; pass++) {
        if (pass)
            msgpack_pack_map(pk, n);
        for (uint32_t i = 0; b && i < b->via.map.size; i++) {
            const msgpack_object_kv *kv = &b->via.map.ptr[i];
            bool replaced = new_method && is_method_key(&kv->key);

            for (uint32_t j = 0; j < o->via.map.size && !replaced; j++)
                replaced = same_key(&o->via.map.ptr[j].key, &kv->key);
            if (replaced)
                continue;
            if (!pass) {
                n++;
                continue;
            }
            msgpack_pack_object(pk, kv->key);
            msgpack_pack_object(pk, kv->val);
        }
    }
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        msgpack_pack_object(pk, o->via.map.ptr[i].key);
        msgpack_pack_object(pk, o->via.map.ptr[i].val);
    }
}

/* Checks metadata override @p mo: {"inputs": {name: {"inputBaselines": [...]}}}, names known. */
static bool
check_meta_override(const msgpack_object *mo, const msgpack_object *inputs, xq_errlist_t *errs) {
    const msgpack_object *oi = get(mo, "inputs");
    char field[XQ_ERR_FIELD_SIZE];

    if (mo->type != MSGPACK_OBJECT_MAP || mo->via.map.size != (oi != NULL) ||
        (oi && oi->type != MSGPACK_OBJECT_MAP)) {
        xq_errlist_add(errs, XQ_EINVAL, "explanationSpecOverride.metadata",
                       "must be {\"inputs\": {name: {\"inputBaselines\": [...]}}}");
        return false;
    }
    for (uint32_t i = 0; oi && i < oi->via.map.size; i++) {
        const msgpack_object_kv *kv = &oi->via.map.ptr[i];
        bool known = false;

        for (uint32_t j = 0; inputs && j < inputs->via.map.size; j++)
            known |= kv->key.type == MSGPACK_OBJECT_STR &&
                     kv->key.via.str.size == inputs->via.map.ptr[j].key.via.str.size &&
                     !memcmp(kv->key.via.str.ptr, inputs->via.map.ptr[j].key.via.str.ptr,
                             kv->key.via.str.size);
        snprintf(field, sizeof(field), "explanationSpecOverride.metadata.inputs.%.*s",
                 kv->key.type == MSGPACK_OBJECT_STR ? (int)kv->key.via.str.size : 1,
                 kv->key.type == MSGPACK_OBJECT_STR ? kv->key.via.str.ptr : "?");
        if (!known) {
            xq_errlist_add(errs, XQ_EINVAL, field, "is not an input of the model's metadata");
            return false;
        }
        if (kv->val.type != MSGPACK_OBJECT_MAP || kv->val.via.map.size != 1 ||
            !get(&kv->val, "inputBaselines")) {
            xq_errlist_add(errs, XQ_EINVAL, field, "may only set inputBaselines");
            return false;
        }
    }
    return true;
}

/* Packs metadata @p bm with the inputBaselines of override @p mo (checked) in place of its own. */
static void
pack_meta_override(msgpack_packer *pk, const msgpack_object *bm, const msgpack_object *mo) {
    const msgpack_object *oi = get(mo, "inputs");

    msgpack_pack_map(pk, bm->via.map.size);
    for (uint32_t i = 0; i < bm->via.map.size; i++) {
        const msgpack_object_kv *kv = &bm->via.map.ptr[i];

        msgpack_pack_object(pk, kv->key);
        if (!key_is(&kv->key, "inputs") || !oi) {
            msgpack_pack_object(pk, kv->val);
            continue;
        }
        msgpack_pack_map(pk, kv->val.via.map.size);
        for (uint32_t j = 0; j < kv->val.via.map.size; j++) {
            const msgpack_object_kv *in = &kv->val.via.map.ptr[j];
            const msgpack_object *o = NULL;

            for (uint32_t k = 0; k < oi->via.map.size; k++) {
                if (in->key.via.str.size == oi->via.map.ptr[k].key.via.str.size &&
                    !memcmp(in->key.via.str.ptr, oi->via.map.ptr[k].key.via.str.ptr,
                            in->key.via.str.size))
                    o = &oi->via.map.ptr[k].val;
            }
            msgpack_pack_object(pk, in->key);
            if (o)
                pack_merged(pk, &in->val, o, false);
            else
                msgpack_pack_object(pk, in->val);
        }
    }
}

xq_err_t xq_vertex_spec_override(const xq_spec_t *base,
                                 const msgpack_object *ovr,
                                 xq_spec_t **out,
                                 xq_errlist_t *errs) {
    const msgpack_object *bp, *bm, *op, *om;
    msgpack_unpacked bu;
    xq_spec_t *spec = NULL;
    msgpack_packer pk;
    xq_buf_t packed;
    xq_err_t rc = XQ_EINVAL;

    msgpack_unpacked_init(&bu);
    xq_buf_init(&packed);
    XQ_ASSERT(xq_mp_unpack_one(base->canonical, base->canonical_len, &bu));
    bp = get(&bu.data, "parameters");
    bm = get(&bu.data, "metadata");
    if (ovr->type != MSGPACK_OBJECT_MAP) {
        xq_errlist_add(errs, XQ_EINVAL, "explanationSpecOverride", "must be an object");
        goto out;
    }
    for (uint32_t i = 0; i < ovr->via.map.size; i++) {
        const msgpack_object *k = &ovr->via.map.ptr[i].key;

        if (!key_is(k, "parameters") && !key_is(k, "metadata") && !key_is(k, "examplesOverride")) {
            xq_errlist_add(errs, XQ_EINVAL, "explanationSpecOverride",
                           "unknown field; the fields are parameters, metadata and "
                           "examplesOverride");
            goto out;
        }
    }
    op = get(ovr, "parameters");
    om = get(ovr, "metadata");
    if (op && op->type != MSGPACK_OBJECT_MAP) {
        xq_errlist_add(errs, XQ_EINVAL, "explanationSpecOverride.parameters", "must be an object");
        goto out;
    }
    if (om && (!bm || !check_meta_override(om, get(bm, "inputs"), errs))) {
        if (!bm)
            xq_errlist_add(errs, XQ_EINVAL, "explanationSpecOverride.metadata",
                           "the model's spec has no metadata to override");
        goto out;
    }
    xq_mp_packer_init(&pk, &packed);
    msgpack_pack_map(&pk, 1 + (bm != NULL));
    xq_mp_pack_str(&pk, "parameters");
    if (op)
        pack_merged(&pk, bp, op, true);
    else
        msgpack_pack_object(&pk, *bp);
    if (bm) {
        xq_mp_pack_str(&pk, "metadata");
        if (om)
            pack_meta_override(&pk, bm, om);
        else
            msgpack_pack_object(&pk, *bm);
    }
    if ((rc = xq_spec_parse(packed.data, packed.len, &spec, errs)) != XQ_OK) {
        /* the paths are the spec's; say where they came from */
        for (size_t i = 0; i < errs->cnt; i++) {
            char f[XQ_ERR_FIELD_SIZE];

            snprintf(f, sizeof(f), "explanationSpecOverride.%.200s", errs->items[i].field);
            memcpy(errs->items[i].field, f, sizeof(f));
        }
        goto out;
    }
    if (spec->params.method != base->params.method) {
        xq_errlist_add(errs, XQ_EINVAL, "explanationSpecOverride.parameters",
                       "the attribution method cannot be changed (the model's is %s)",
                       xq_method_name(base->params.method));
        rc = XQ_EINVAL;
        goto out;
    }
    *out = spec;
    spec = NULL;
out:
    xq_spec_destroy(spec);
    msgpack_unpacked_destroy(&bu);
    xq_buf_fini(&packed);
    return rc;
}

int xq_vertex_http_status(xq_err_t code) {
    switch (code) {
    case XQ_EINVAL:
    case XQ_EDECODE:
    case XQ_ESPEC:
    case XQ_ELIMIT:
        return 400;
    case XQ_ENOTFOUND:
        return 404;
    case XQ_ETIMEOUT:
        return 504;
    case XQ_EKAFKA:
    case XQ_EREDIS:
        return 503;
    default:
        return 500;
    }
}

const char *xq_vertex_status_name(int http) {
    switch (http) {
    case 400:
        return "INVALID_ARGUMENT";
    case 401:
        return "UNAUTHENTICATED";
    case 404:
        return "NOT_FOUND";
    case 405:
    case 501:
        return "UNIMPLEMENTED";
    case 413:
        return "INVALID_ARGUMENT";
    case 429:
        return "RESOURCE_EXHAUSTED";
    case 503:
        return "UNAVAILABLE";
    case 504:
        return "DEADLINE_EXCEEDED";
    default:
        return "INTERNAL";
    }
}

void xq_vertex_error_json(int http, const char *msg, xq_buf_t *out) {
    xq_buf_appendf(out, "{\"error\":{\"code\":%d,\"message\":", http);
    xq_json_append_str(out, msg, strlen(msg));
    xq_buf_append_str(out, ",\"status\":");
    xq_json_append_str(out, xq_vertex_status_name(http), strlen(xq_vertex_status_name(http)));
    xq_buf_append_str(out, "}}");
}

xq_err_t xq_vertex_predict(const xq_spec_t *spec,
                           xq_model_t *model,
                           const msgpack_object *insts,
                           size_t n,
                           msgpack_packer *preds,
                           xq_error_t *err) {
    xq_layout_t **ls = xq_calloc(n ? n : 1, sizeof(*ls));
    float **data = NULL, *out = NULL;
    const xq_tensor_desc_t *od = xq_model_output(model);
    xq_err_t rc = XQ_OK;
    size_t tcnt = 0;

    for (size_t i = 0; i < n && rc == XQ_OK; i++) {
        char field[40];

        if ((rc = xq_layout_build(spec, model, &insts[i], i, &ls[i], err)) != XQ_OK)
            break;
        snprintf(field, sizeof(field), "instances[%zu]", i);
        if (i && !xq_layout_compatible(ls[0], ls[i]))
            rc = xq_error_set(err, XQ_EINVAL, field, "its tensors differ from instance 0's");
    }
    if (rc != XQ_OK || !preds || !n)
        goto out;
    tcnt = ls[0]->tensor_cnt;
    data = xq_calloc(tcnt, sizeof(*data));
    for (size_t t = 0; t < tcnt; t++) {
        data[t] = xq_malloc(n * ls[0]->elem_cnt[t] * sizeof(float));
        for (size_t i = 0; i < n; i++)
            memcpy(data[t] + i * ls[0]->elem_cnt[t], ls[i]->x + ls[i]->tensor_off[t],
                   ls[0]->elem_cnt[t] * sizeof(float));
    }
    out = xq_malloc(n * od->elem_cnt * sizeof(float));
    {
        xq_batch_t b = {.rows = n,
                        .tensor_cnt = tcnt,
                        .names = ls[0]->tensor_names,
                        .elem_cnt = ls[0]->elem_cnt,
                        .data = (const float *const *)data,
                        .out_cnt = od->elem_cnt,
                        .out = out};

        if ((rc = xq_model_eval(model, &b, err)) != XQ_OK)
            goto out;
    }
    msgpack_pack_array(preds, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        const float *row = out + i * od->elem_cnt;

        if (od->ndim == 0) {
            msgpack_pack_float(preds, row[0]);
            continue;
        }
        /* nested as the output's shape */
        for (size_t k = 0; k < od->elem_cnt; k++) {
            size_t stride = od->elem_cnt;

            for (size_t d = 0; d < od->ndim; d++) {
                if (k % stride == 0)
                    msgpack_pack_array(preds, (uint32_t)od->dims[d]);
                stride /= od->dims[d];
            }
            msgpack_pack_float(preds, row[k]);
        }
    }
out:
    for (size_t t = 0; data && t < tcnt; t++)
        xq_free(data[t]);
    xq_free(data);
    xq_free(out);
    for (size_t i = 0; i < n; i++)
        xq_layout_destroy(ls[i]);
    xq_free(ls);
    return rc;
}
