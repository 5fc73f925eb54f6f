/* gwconf.c -- the gateway's config file (see gwconf.h). */
#include "gwconf.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "mem.h"
#include "mp.h"
#include "names.h"
#include "vertex.h"

#define MAX_CONF_BYTES (1u << 20)
#define MAX_SPEC_BYTES (64u << 20)

/* Reads all of @p path (at most @p max bytes) into @p out. */
static bool read_file(const char *path, size_t max, xq_buf_t *out, char *why, size_t why_size) {
    FILE *f = fopen(path, "rb");
    size_t n;

    if (!f) {
        snprintf(why, why_size, "cannot read %s: %s", path, strerror(errno));
        return false;
    }
    do {
        xq_buf_reserve(out, 65536);
        n = fread(out->data + out->len, 1, 65536, f);
        out->len += n;
    } while (n > 0 && out->len <= max);
    if (ferror(f) || out->len > max) {
        snprintf(why, why_size, "cannot read %s: %s", path,
                 ferror(f) ? strerror(errno) : "too large");
        fclose(f);
        return false;
    }
    fclose(f);
    return true;
}

/* A string member, copied into @p dst (NUL-terminated, @p size bytes); false if not a string. */
static bool str_into(const msgpack_object *v, char *dst, size_t size) {
    if (v->type != MSGPACK_OBJECT_STR || !v->via.str.size || v->via.str.size >= size ||
        memchr(v->via.str.ptr, '\0', v->via.str.size))
        return false;
    memcpy(dst, v->via.str.ptr, v->via.str.size);
    dst[v->via.str.size] = '\0';
    return true;
}

static char *str_dup(const msgpack_object *v) {
    char buf[1024];

    return str_into(v, buf, sizeof(buf)) ? xq_strdup(buf) : NULL;
}

static bool num_in(const msgpack_object *v, double lo, double hi, double *out) {
    return xq_mp_number(v, out) && *out >= lo && *out <= hi && *out == floor(*out);
}

/* @p rel relative to the directory of @p base (unless absolute). */
static void resolve(const char *base, const char *rel, char *out, size_t size) {
    const char *slash = strrchr(base, '/');

    if (rel[0] == '/' || !slash)
        snprintf(out, size, "%s", rel);
    else
        snprintf(out, size, "%.*s/%s", (int)(slash - base), base, rel);
}

/* Loads the spec pieces of endpoint @p k from files. */
static void load_spec(
    const char *path, const msgpack_object *o, size_t k, xq_gw_endpoint_t *e, xq_errlist_t *errs) {
    static const char *const keys[] = {"spec", "metadata", "parameters"};
    xq_buf_t bufs[3];
    bool have[3] = {false, false, false};
    char field[64], why[512], full[1024];
    const msgpack_object *id = xq_mp_map_get(o, "specId");
    xq_errlist_t serrs;

    for (int i = 0; i < 3; i++)
        xq_buf_init(&bufs[i]);
    xq_errlist_init(&serrs);
    for (int i = 0; i < 3; i++) {
        const msgpack_object *v = xq_mp_map_get(o, keys[i]);
        char rel[900];

        if (!v)
            continue;
        snprintf(field, sizeof(field), "endpoints[%zu].%s", k, keys[i]);
        if (!str_into(v, rel, sizeof(rel))) {
            xq_errlist_add(errs, XQ_EINVAL, field, "must be a file name");
            goto out;
        }
        resolve(path, rel, full, sizeof(full));
        if (!read_file(full, MAX_SPEC_BYTES, &bufs[i], why, sizeof(why))) {
            xq_errlist_add(errs, XQ_EINVAL, field, "%s", why);
            goto out;
        }
        have[i] = true;
    }
    snprintf(field, sizeof(field), "endpoints[%zu]", k);
    if (id) {
        if (have[0] || have[1] || have[2] || !(e->spec_id = str_dup(id)))
            xq_errlist_add(errs, XQ_EINVAL, field,
                           "specId must be a string, and without spec, metadata or parameters");
        goto out;
    }
    if (!have[0] && !have[2]) {
        xq_errlist_add(errs, XQ_EINVAL, field,
                       "needs a spec: \"spec\" (a file), \"metadata\" and \"parameters\", or "
                       "\"specId\"");
        goto out;
    }
    if (xq_vertex_spec_parse(
            have[0] ? bufs[0].data : NULL, bufs[0].len, have[1] ? bufs[1].data : NULL, bufs[1].len,
            have[2] ? bufs[2].data : NULL, bufs[2].len, &e->spec, &serrs) != XQ_OK) {
        for (size_t i = 0; i < serrs.cnt; i++)
            xq_errlist_add(errs, serrs.items[i].code, field, "spec: %s: %s", serrs.items[i].field,
                           serrs.items[i].msg);
    }
out:
    xq_errlist_fini(&serrs);
    for (int i = 0; i < 3; i++)
        xq_buf_fini(&bufs[i]);
}

static void load_endpoint(
    const char *path, const msgpack_object *o, size_t k, xq_gw_endpoint_t *e, xq_errlist_t *errs) {
    static const char *const known[] = {"endpoint", "deployedModelId", "model",    "displayName",
                                        "spec",     "specId",          "metadata", "parameters",
                                        "seed"};
    const msgpack_object *v;
    char field[64];
    double d;

    snprintf(field, sizeof(field), "endpoints[%zu]", k);
    if (o->type != MSGPACK_OBJECT_MAP) {
        xq_errlist_add(errs, XQ_EINVAL, field, "must be an object");
        return;
    }
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        bool ok = false;

        for (size_t n = 0; n < sizeof(known) / sizeof(known[0]); n++)
            ok |= xq_mp_str_eq(&o->via.map.ptr[i].key, known[n]);
        if (!ok)
            xq_errlist_add(errs, XQ_EINVAL, field, "unknown field %.*s",
                           (int)o->via.map.ptr[i].key.via.str.size,
                           o->via.map.ptr[i].key.via.str.ptr);
    }
    if (!(v = xq_mp_map_get(o, "endpoint")) || !(e->endpoint = str_dup(v)) ||
        strchr(e->endpoint, '/'))
        xq_errlist_add(errs, XQ_EINVAL, field, "endpoint must be an endpoint id (no slashes)");
    if (!(v = xq_mp_map_get(o, "model")) || !(e->model = str_dup(v)))
        xq_errlist_add(errs, XQ_EINVAL, field, "model must be a model name");
    e->deployed_id = (v = xq_mp_map_get(o, "deployedModelId")) ? str_dup(v) : xq_strdup("1");
    if (!e->deployed_id)
        xq_errlist_add(errs, XQ_EINVAL, field, "deployedModelId must be a string");
    if ((v = xq_mp_map_get(o, "displayName")))
        e->display_name = str_dup(v);
    else if (e->model)
        e->display_name = xq_strdup(e->model);
    if ((v = xq_mp_map_get(o, "seed"))) {
        if (!num_in(v, 0, 9007199254740992.0, &d))
            xq_errlist_add(errs, XQ_EINVAL, field, "seed must be an integer >= 0");
        e->has_seed = true;
        e->seed = (uint64_t)d;
    }
    load_spec(path, o, k, e, errs);
}

/*
 * The bearer tokens of authTokensFile: one per line, blanks around them and
 * '#' comments ignored. A file that names none is an error, not an open door.
 */
static void
load_tokens(const char *path, const msgpack_object *v, xq_gw_conf_t *c, xq_errlist_t *errs) {
    char rel[512], full[1024], why[512];
    xq_buf_t text;

    if (!str_into(v, rel, sizeof(rel)) || !rel[0]) {
        xq_errlist_add(errs, XQ_EINVAL, "authTokensFile", "must be a file path");
        return;
    }
    resolve(path, rel, full, sizeof(full));
    xq_buf_init(&text);
    if (!read_file(full, 1 << 20, &text, why, sizeof(why))) {
        xq_errlist_add(errs, XQ_EINVAL, "authTokensFile", "%s", why);
        goto out;
    }
    for (size_t at = 0, line = 1; at < text.len; line++) {
        const char *p = (const char *)text.data + at, *nl = memchr(p, '\n', text.len - at);
        size_t len = nl ? (size_t)(nl - p) : text.len - at, b = 0, e;

        at += len + (nl != NULL);
        if (memchr(p, '#', len))
            len = (size_t)((const char *)memchr(p, '#', len) - p);
        while (b < len && isspace((unsigned char)p[b]))
            b++;
        for (e = len; e > b && isspace((unsigned char)p[e - 1]);)
            e--;
        if (e == b)
            continue;
        if (e - b > XQ_GW_TOKEN_MAX || memchr(p + b, ' ', e - b) || memchr(p + b, '\t', e - b)) {
            xq_errlist_add(errs, XQ_EINVAL, "authTokensFile",
                           "%s line %zu: a token is one word of at most %d bytes", full, line,
                           XQ_GW_TOKEN_MAX);
            goto out;
        }
        c->tokens = xq_reallocarray(c->tokens, c->token_cnt + 1, sizeof(*c->tokens));
        c->tokens[c->token_cnt++] = xq_strndup(p + b, e - b);
    }
    if (!c->token_cnt)
        xq_errlist_add(errs, XQ_EINVAL, "authTokensFile",
                       "%s lists no token (leave authTokensFile out to serve every caller)", full);
out:
    xq_buf_fini(&text);
}

/* The top-level settings but endpoints. */
static void load_settings(const msgpack_object *o, xq_gw_conf_t *c, xq_errlist_t *errs) {
    const msgpack_object *v;
    double d;

    if ((v = xq_mp_map_get(o, "listen"))) {
        char buf[128], *colon, *end;
        long port;

        if (!str_into(v, buf, sizeof(buf)) || !(colon = strrchr(buf, ':')) ||
            colon - buf >= (long)sizeof(c->host) ||
            (errno = 0, port = strtol(colon + 1, &end, 10),
             errno || *end || port < 0 || port > 65535)) {
            xq_errlist_add(errs, XQ_EINVAL, "listen", "must be \"HOST:PORT\"");
        } else {
            *colon = '\0';
            memcpy(c->host, buf, (size_t)(colon - buf) + 1);
            c->port = (int)port;
        }
    }
    if ((v = xq_mp_map_get(o, "jobsTopic")) && !str_into(v, c->jobs_topic, sizeof(c->jobs_topic)))
        xq_errlist_add(errs, XQ_EINVAL, "jobsTopic", "must be a topic name");
    if ((v = xq_mp_map_get(o, "resultTopic")) &&
        !str_into(v, c->result_topic, sizeof(c->result_topic)))
        xq_errlist_add(errs, XQ_EINVAL, "resultTopic", "must be a topic name");
    if ((v = xq_mp_map_get(o, "repliesTopic")) &&
        !str_into(v, c->replies_topic, sizeof(c->replies_topic)))
        xq_errlist_add(errs, XQ_EINVAL, "repliesTopic", "must be a topic name");
    if ((v = xq_mp_map_get(o, "redis")) && v->type == MSGPACK_OBJECT_STR && !v->via.str.size)
        c->redis[0] = '\0';
    else if (v && !str_into(v, c->redis, sizeof(c->redis)))
        xq_errlist_add(errs, XQ_EINVAL, "redis", "must be \"HOST:PORT\" or \"\"");
    if ((v = xq_mp_map_get(o, "resultPartitions"))) {
        if (!num_in(v, 1, 1000, &d))
            xq_errlist_add(errs, XQ_EINVAL, "resultPartitions", "must be in [1, 1000]");
        c->result_partitions = (int)d;
    }
    if ((v = xq_mp_map_get(o, "timeoutMs"))) {
        if (!num_in(v, 1, 3600000, &d))
            xq_errlist_add(errs, XQ_EINVAL, "timeoutMs", "must be in [1, 3600000]");
        c->timeout_ms = (long)d;
    }
    if ((v = xq_mp_map_get(o, "maxBodyBytes"))) {
        if (!num_in(v, 1024, 1 << 30, &d))
            xq_errlist_add(errs, XQ_EINVAL, "maxBodyBytes", "must be in [1024, 2^30]");
        c->max_body = (size_t)d;
    }
    if ((v = xq_mp_map_get(o, "maxInstances"))) {
        if (!num_in(v, 1, 1000000, &d))
            xq_errlist_add(errs, XQ_EINVAL, "maxInstances", "must be in [1, 1000000]");
        c->max_instances = (size_t)d;
    }
}

xq_err_t xq_gw_conf_load(const char *path, xq_gw_conf_t **out, xq_errlist_t *errs) {
    static const char *const known[] = {"listen",           "jobsTopic",     "resultTopic",
                                        "resultPartitions", "timeoutMs",     "maxBodyBytes",
                                        "maxInstances",     "redis",         "endpoints",
                                        "repliesTopic",     "authTokensFile"};
    xq_gw_conf_t *c = xq_calloc(1, sizeof(*c));
    const msgpack_object *eps;
    msgpack_unpacked u;
    xq_buf_t text, mp;
    char why[512];
    xq_error_t err;
    xq_err_t rc = XQ_EINVAL;

    msgpack_unpacked_init(&u);
    xq_buf_init(&text);
    xq_buf_init(&mp);
    snprintf(c->host, sizeof(c->host), "127.0.0.1");
    c->port = 8080;
    snprintf(c->jobs_topic, sizeof(c->jobs_topic), "%s", XQ_TOPIC_JOBS);
    snprintf(c->result_topic, sizeof(c->result_topic), "%s", XQ_TOPIC_RESULTS_GATEWAY);
    snprintf(c->replies_topic, sizeof(c->replies_topic), "%s", XQ_TOPIC_REPLIES);
    c->result_partitions = 4;
    c->timeout_ms = 30000;
    c->max_body = 10u << 20;
    c->max_instances = 1000;
    if (!read_file(path, MAX_CONF_BYTES, &text, why, sizeof(why))) {
        xq_errlist_add(errs, XQ_EINVAL, "", "%s", why);
        goto out;
    }
    if (xq_json_to_msgpack((const char *)text.data, text.len, &mp, &err) != XQ_OK) {
        xq_errlist_add(errs, XQ_EDECODE, "", "%s", err.msg);
        goto out;
    }
    xq_mp_unpack_one(mp.data, mp.len, &u);
    if (u.data.type != MSGPACK_OBJECT_MAP) {
        xq_errlist_add(errs, XQ_EINVAL, "", "the config must be a JSON object");
        goto out;
    }
    for (uint32_t i = 0; i < u.data.via.map.size; i++) {
        bool ok = false;

        for (size_t n = 0; n < sizeof(known) / sizeof(known[0]); n++)
            ok |= xq_mp_str_eq(&u.data.via.map.ptr[i].key, known[n]);
        if (!ok)
            xq_errlist_add(errs, XQ_EINVAL, "", "unknown field %.*s",
                           (int)u.data.via.map.ptr[i].key.via.str.size,
                           u.data.via.map.ptr[i].key.via.str.ptr);
    }
    load_settings(&u.data, c, errs);
    if ((eps = xq_mp_map_get(&u.data, "authTokensFile")))
        load_tokens(path, eps, c, errs);
    if (!(eps = xq_mp_map_get(&u.data, "endpoints")) || eps->type != MSGPACK_OBJECT_ARRAY ||
        !eps->via.array.size || eps->via.array.size > 1000) {
        xq_errlist_add(errs, XQ_EINVAL, "endpoints", "must list 1 to 1000 endpoints");
        goto out;
    }
    c->endpoints = xq_calloc(eps->via.array.size, sizeof(*c->endpoints));
    c->endpoint_cnt = eps->via.array.size;
    for (size_t k = 0; k < c->endpoint_cnt; k++)
        load_endpoint(path, &eps->via.array.ptr[k], k, &c->endpoints[k], errs);
    for (size_t a = 0; a < c->endpoint_cnt; a++) {
        for (size_t b = 0; b < a; b++) {
            const xq_gw_endpoint_t *x = &c->endpoints[a], *y = &c->endpoints[b];

            if (x->endpoint && y->endpoint && x->deployed_id && y->deployed_id &&
                !strcmp(x->endpoint, y->endpoint) && !strcmp(x->deployed_id, y->deployed_id))
                xq_errlist_add(errs, XQ_EINVAL, "endpoints",
                               "endpoint %s lists deployedModelId %s twice", x->endpoint,
                               x->deployed_id);
        }
    }
    if (errs->cnt == 0) {
        *out = c;
        c = NULL;
        rc = XQ_OK;
    }
out:
    xq_gw_conf_destroy(c);
    msgpack_unpacked_destroy(&u);
    xq_buf_fini(&text);
    xq_buf_fini(&mp);
    return rc;
}

xq_gw_endpoint_t *
xq_gw_conf_find(const xq_gw_conf_t *c, const char *endpoint, const char *deployed_id) {
    for (size_t k = 0; k < c->endpoint_cnt; k++) {
        xq_gw_endpoint_t *e = &c->endpoints[k];

        if (!strcmp(e->endpoint, endpoint) &&
            (!deployed_id || !deployed_id[0] || !strcmp(e->deployed_id, deployed_id)))
            return e;
    }
    return NULL;
}

void xq_gw_conf_destroy(xq_gw_conf_t *c) {
    if (!c)
        return;
    for (size_t k = 0; k < c->endpoint_cnt; k++) {
        xq_gw_endpoint_t *e = &c->endpoints[k];

        xq_free(e->endpoint);
        xq_free(e->deployed_id);
        xq_free(e->model);
        xq_free(e->display_name);
        xq_free(e->spec_id);
        xq_spec_destroy(e->spec);
    }
    xq_free(c->endpoints);
    for (size_t k = 0; k < c->token_cnt; k++)
        xq_free(c->tokens[k]);
    xq_free(c->tokens);
    xq_free(c);
}
