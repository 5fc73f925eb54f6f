/* batchjob.c -- Vertex AI's BatchPredictionJob as a local file (see batchjob.h). */
#include "batchjob.h"

#include <stdio.h>
#include <string.h>

#include "json.h"
#include "mp.h"

#define MAX_URIS   10000
#define MAX_FIELDS 10000

static char *dup_str(const msgpack_object *v) {
    if (!v || v->type != MSGPACK_OBJECT_STR || memchr(v->via.str.ptr, '\0', v->via.str.size))
        return NULL;
    return xq_strndup(v->via.str.ptr, v->via.str.size);
}

/* A local path from a URI or path @p uri (NULL with @p why for gs:// and the like). */
static char *local_path(const char *uri, const char *base, const char **why) {
    char buf[4096];

    if (!strncmp(uri, "gs://", 5)) {
        *why = "gs:// is not supported here; copy the files and give a local path or file:// URI";
        return NULL;
    }
    if (!strncmp(uri, "file://", 7))
        uri += 7;
    else if (strstr(uri, "://")) {
        *why = "only local paths and file:// URIs are supported";
        return NULL;
    }
    if (!uri[0]) {
        *why = "is empty";
        return NULL;
    }
    if (uri[0] == '/' || !base || !base[0])
        snprintf(buf, sizeof(buf), "%s", uri);
    else
        snprintf(buf, sizeof(buf), "%s/%s", base, uri);
    return xq_strdup(buf);
}

/* An array of field names at @p v into @p *out. */
static void
names(const msgpack_object *v, const char *field, char ***out, size_t *cnt, xq_errlist_t *errs) {
    if (!v)
        return;
    if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size > MAX_FIELDS) {
        xq_errlist_add(errs, XQ_EINVAL, field, "must be a list of field names");
        return;
    }
    *out = xq_calloc(v->via.array.size ? v->via.array.size : 1, sizeof(char *));
    for (uint32_t i = 0; i < v->via.array.size; i++) {
        if (!((*out)[*cnt] = dup_str(&v->via.array.ptr[i]))) {
            xq_errlist_add(errs, XQ_EINVAL, field, "element %u is not a string", i);
            return;
        }
        (*cnt)++;
    }
}

static void
parse_input(const msgpack_object *root, const char *base, xq_bj_t *j, xq_errlist_t *errs) {
    const msgpack_object *ic = xq_mp_map_get(root, "inputConfig"), *fmt, *gcs, *uris;

    if (!ic || ic->type != MSGPACK_OBJECT_MAP) {
        xq_errlist_add(errs, XQ_EINVAL, "inputConfig", "is required");
        return;
    }
    fmt = xq_mp_map_get(ic, "instancesFormat");
    if (fmt && xq_mp_str_eq(fmt, "csv"))
        j->csv = true;
    else if (!fmt || !xq_mp_str_eq(fmt, "jsonl"))
        xq_errlist_add(errs, XQ_EINVAL, "inputConfig.instancesFormat",
                       "must be \"jsonl\" or \"csv\" (others are not supported here)");
    if (xq_mp_map_get(ic, "bigquerySource"))
        xq_errlist_add(errs, XQ_EINVAL, "inputConfig.bigquerySource",
                       "BigQuery is not supported here; export to JSONL or CSV files");
    gcs = xq_mp_map_get(ic, "gcsSource");
    uris = gcs ? xq_mp_map_get(gcs, "uris") : NULL;
    if (!uris || uris->type != MSGPACK_OBJECT_ARRAY || !uris->via.array.size ||
        uris->via.array.size > MAX_URIS) {
        xq_errlist_add(errs, XQ_EINVAL, "inputConfig.gcsSource.uris",
                       "must list the input files (local paths or file:// URIs)");
        return;
    }
    j->paths = xq_calloc(uris->via.array.size, sizeof(char *));
    for (uint32_t i = 0; i < uris->via.array.size; i++) {
        char *u = dup_str(&uris->via.array.ptr[i]), field[64];
        const char *why = "must be a string";

        snprintf(field, sizeof(field), "inputConfig.gcsSource.uris[%u]", i);
        if (!u || !(j->paths[j->path_cnt] = local_path(u, base, &why)))
            xq_errlist_add(errs, XQ_EINVAL, field, "%s", why);
        else
            j->path_cnt++;
        xq_free(u);
    }
}

static void parse_instance_config(const msgpack_object *root, xq_bj_t *j, xq_errlist_t *errs) {
    const msgpack_object *c = xq_mp_map_get(root, "instanceConfig"), *t, *k;

    if (!c)
        return;
    if (c->type != MSGPACK_OBJECT_MAP) {
        xq_errlist_add(errs, XQ_EINVAL, "instanceConfig", "must be an object");
        return;
    }
    if ((t = xq_mp_map_get(c, "instanceType"))) {
        if (xq_mp_str_eq(t, "object"))
            j->type = XQ_BJ_OBJECT;
        else if (xq_mp_str_eq(t, "array"))
            j->type = XQ_BJ_ARRAY;
        else
            xq_errlist_add(errs, XQ_EINVAL, "instanceConfig.instanceType",
                           "must be \"object\" or \"array\"");
    }
    if ((k = xq_mp_map_get(c, "keyField")) && !(j->key_field = dup_str(k)))
        xq_errlist_add(errs, XQ_EINVAL, "instanceConfig.keyField", "must be a field name");
    names(xq_mp_map_get(c, "includedFields"), "instanceConfig.includedFields", &j->included,
          &j->included_cnt, errs);
    names(xq_mp_map_get(c, "excludedFields"), "instanceConfig.excludedFields", &j->excluded,
          &j->excluded_cnt, errs);
    if (j->included_cnt && j->excluded_cnt)
        xq_errlist_add(errs, XQ_EINVAL, "instanceConfig",
                       "includedFields and excludedFields cannot both be given");
}

static void
parse_output(const msgpack_object *root, const char *base, xq_bj_t *j, xq_errlist_t *errs) {
    const msgpack_object *oc = xq_mp_map_get(root, "outputConfig"), *fmt, *gcs, *pre;
    const char *why = "must be a local folder or file:// URI";
    char *p;

    if (!oc || oc->type != MSGPACK_OBJECT_MAP) {
        xq_errlist_add(errs, XQ_EINVAL, "outputConfig", "is required");
        return;
    }
    if ((fmt = xq_mp_map_get(oc, "predictionsFormat")) && !xq_mp_str_eq(fmt, "jsonl"))
        xq_errlist_add(errs, XQ_EINVAL, "outputConfig.predictionsFormat",
                       "must be \"jsonl\" (others are not supported here)");
    if (xq_mp_map_get(oc, "bigqueryDestination"))
        xq_errlist_add(errs, XQ_EINVAL, "outputConfig.bigqueryDestination",
                       "BigQuery is not supported here; give gcsDestination as a local folder");
    gcs = xq_mp_map_get(oc, "gcsDestination");
    pre = gcs ? xq_mp_map_get(gcs, "outputUriPrefix") : NULL;
    if (!(p = dup_str(pre)) || !(j->out_dir = local_path(p, base, &why)))
        xq_errlist_add(errs, XQ_EINVAL, "outputConfig.gcsDestination.outputUriPrefix", "%s", why);
    xq_free(p);
}

/* generateExplanation and explanationSpec's halves. */
static void parse_explanation(const msgpack_object *root, xq_bj_t *j, xq_errlist_t *errs) {
    const msgpack_object *g = xq_mp_map_get(root, "generateExplanation"),
                         *s = xq_mp_map_get(root, "explanationSpec"), *h;
    msgpack_packer pk;

    j->explain = g && g->type == MSGPACK_OBJECT_BOOLEAN && g->via.boolean;
    if (g && g->type != MSGPACK_OBJECT_BOOLEAN)
        xq_errlist_add(errs, XQ_EINVAL, "generateExplanation", "must be true or false");
    if (!s)
        return;
    if (s->type != MSGPACK_OBJECT_MAP || !j->explain) {
        xq_errlist_add(errs, XQ_EINVAL, "explanationSpec",
                       "must be an object, and only with generateExplanation: true");
        return;
    }
    if ((h = xq_mp_map_get(s, "metadata"))) {
        xq_mp_packer_init(&pk, &j->spec_meta);
        msgpack_pack_object(&pk, *h);
    }
    if ((h = xq_mp_map_get(s, "parameters"))) {
        xq_mp_packer_init(&pk, &j->spec_params);
        msgpack_pack_object(&pk, *h);
    }
}

xq_err_t
xq_bj_parse(const char *text, size_t len, const char *base_dir, xq_bj_t **out, xq_errlist_t *errs) {
    xq_bj_t *j = xq_calloc(1, sizeof(*j));
    msgpack_unpacked u;
    const msgpack_object *m;
    xq_error_t err;
    xq_buf_t mp;
    xq_err_t rc = XQ_EINVAL;
    const char *slash;

    msgpack_unpacked_init(&u);
    xq_buf_init(&mp);
    xq_buf_init(&j->spec_meta);
    xq_buf_init(&j->spec_params);
    if (xq_json_to_msgpack(text, len, &mp, &err) != XQ_OK) {
        xq_errlist_add(errs, XQ_EDECODE, "", "%s", err.msg);
        goto out;
    }
    xq_mp_unpack_one(mp.data, mp.len, &u);
    if (u.data.type != MSGPACK_OBJECT_MAP) {
        xq_errlist_add(errs, XQ_EINVAL, "", "a BatchPredictionJob is a JSON object");
        goto out;
    }
    j->display_name = dup_str(xq_mp_map_get(&u.data, "displayName"));
    if (!j->display_name)
        j->display_name = xq_strdup("");
    m = xq_mp_map_get(&u.data, "model");
    if ((j->model = dup_str(m)) && (slash = strrchr(j->model, '/'))) {
        char *last = xq_strdup(slash + 1);

        xq_free(j->model);
        j->model = last;
    }
    parse_input(&u.data, base_dir, j, errs);
    parse_instance_config(&u.data, j, errs);
    parse_output(&u.data, base_dir, j, errs);
    parse_explanation(&u.data, j, errs);
    if (errs->cnt == 0) {
        *out = j;
        j = NULL;
        rc = XQ_OK;
    }
out:
    xq_bj_destroy(j);
    msgpack_unpacked_destroy(&u);
    xq_buf_fini(&mp);
    return rc;
}

void xq_bj_destroy(xq_bj_t *j) {
    if (!j)
        return;
    for (size_t i = 0; i < j->path_cnt; i++)
        xq_free(j->paths[i]);
    for (size_t i = 0; i < j->included_cnt; i++)
        xq_free(j->included[i]);
    for (size_t i = 0; i < j->excluded_cnt; i++)
        xq_free(j->excluded[i]);
    xq_free(j->paths);
    xq_free(j->included);
    xq_free(j->excluded);
    xq_free(j->display_name);
    xq_free(j->model);
    xq_free(j->key_field);
    xq_free(j->out_dir);
    xq_buf_fini(&j->spec_meta);
    xq_buf_fini(&j->spec_params);
    xq_free(j);
}

static bool listed(char *const *list, size_t n, const msgpack_object *k) {
    for (size_t i = 0; i < n; i++) {
        if (xq_mp_str_eq(k, list[i]))
            return true;
    }
    return false;
}

xq_err_t xq_bj_apply(
    const xq_bj_t *j, const msgpack_object *in, xq_buf_t *inst, xq_buf_t *key, xq_error_t *err) {
    bool array = j->type == XQ_BJ_ARRAY || (j->type == XQ_BJ_AS_IS && j->csv);
    msgpack_packer pk, kp;
    uint32_t n = 0;

    xq_mp_packer_init(&pk, inst);
    if (in->type != MSGPACK_OBJECT_MAP) {
        if (j->key_field || j->included_cnt || j->excluded_cnt || j->type == XQ_BJ_OBJECT)
            return xq_error_set(err, XQ_EINVAL, "instanceConfig",
                                "the instance is not an object, so keyField, includedFields, "
                                "excludedFields and instanceType object do not apply");
        msgpack_pack_object(&pk, *in);
        return XQ_OK;
    }
    if (j->key_field) {
        const msgpack_object *k = xq_mp_map_get(in, j->key_field);

        if (!k)
            return xq_error_set(err, XQ_EINVAL, "instanceConfig.keyField",
                                "the instance has no field %s", j->key_field);
        xq_mp_packer_init(&kp, key);
        msgpack_pack_object(&kp, *k);
    }
    if (j->included_cnt) {
        for (size_t i = 0; i < j->included_cnt; i++) {
            if (!xq_mp_map_get(in, j->included[i]))
                return xq_error_set(err, XQ_EINVAL, "instanceConfig.includedFields",
                                    "the instance has no field %s", j->included[i]);
        }
        if (array)
            msgpack_pack_array(&pk, (uint32_t)j->included_cnt);
        else
            msgpack_pack_map(&pk, (uint32_t)j->included_cnt);
        for (size_t i = 0; i < j->included_cnt; i++) {
            if (!array)
                xq_mp_pack_str(&pk, j->included[i]);
            msgpack_pack_object(&pk, *xq_mp_map_get(in, j->included[i]));
        }
        return XQ_OK;
    }
    for (int pass = 0; pass < 2; pass++) {
        if (pass && array)
            msgpack_pack_array(&pk, n);
        else if (pass)
            msgpack_pack_map(&pk, n);
        for (uint32_t i = 0; i < in->via.map.size; i++) {
            const msgpack_object_kv *kv = &in->via.map.ptr[i];

            if ((j->key_field && xq_mp_str_eq(&kv->key, j->key_field)) ||
                listed(j->excluded, j->excluded_cnt, &kv->key))
                continue;
            if (!pass) {
                n++;
                continue;
            }
            if (!array)
                msgpack_pack_object(&pk, kv->key);
            msgpack_pack_object(&pk, kv->val);
        }
    }
    return XQ_OK;
}
