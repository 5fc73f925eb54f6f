/* cmd_gateway.c -- `explainq gateway`: Vertex AI's REST prediction API (:explain, :predict) over
 * the Kafka workers. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "cli.h"
#include "clock.h"
#include "gwconf.h"
#include "gwqueue.h"
#include "httpd.h"
#include "job.h"
#include "json.h"
#include "kmodel.h"
#include "layout.h"
#include "log.h"
#include "mem.h"
#include "mp.h"
#include "redis.h"
#include "signals.h"
#include "vertex.h"

static const char gateway_usage[] =
    "usage: explainq gateway -c GATEWAY.json [-b BROKERS] [-X kafka-prop=value]\n"
    "\n"
    "Serves Vertex AI's REST prediction API on HTTP/1.1:\n"
    "  POST /v1/projects/P/locations/L/endpoints/E:explain   (and v1beta1)\n"
    "  POST /v1/projects/P/locations/L/endpoints/E:predict\n"
    "  GET  /v1/projects/P/locations/L/endpoints/E           (what the SDK's Endpoint() reads)\n"
    "  GET  /healthz, /readyz\n"
    "Each :explain request becomes one job (lowLatency) whose result the gateway\n"
    "reads from its result topic; predictions come from the model's runners. The\n"
    "config maps endpoints to models and specs (README \"The Vertex front door\").\n";

/* Milliseconds of CLOCK_MONOTONIC. */

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

    nanosleep(&ts, NULL);
}

/* An endpoint's model as its runners serve it: for predictions and checking instances. */
typedef struct ep_model {
    pthread_mutex_t mu; /* one request at a time (kmodel.h) */
    xq_model_t *model;  /* opened on first use */
} ep_model_t;

typedef struct gateway {
    xq_gw_conf_t *conf;
    ep_model_t *models; /* one per conf endpoint */
    xq_gwq_t *q;
    atomic_bool ready, draining;
    atomic_int inflight; /* :explain/:predict requests being served */
    atomic_ullong seq;
    char prefix[96];
    const char *const *props;
    size_t prop_cnt;
} gateway_t;

/* ==== Requests ==== */

/* What a request is about, parsed from its path. */
typedef struct route {
    char project[160], location[160], endpoint[160];
    char verb[16]; /* "explain", "predict", or "" (the endpoint itself) */
} route_t;

/* /v1/projects/P/locations/L/endpoints/E[:verb] (or v1beta1); false for anything else. */
static bool parse_route(const char *path, route_t *r) {
    char seg[6][160];
    const char *p = path;
    size_t n = 0;
    char *colon;

    if (!strncmp(p, "/v1/", 4))
        p += 4;
    else if (!strncmp(p, "/v1beta1/", 9))
        p += 9;
    else
        return false;
    while (*p && n < 6) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);

        if (!len || len >= sizeof(seg[0]))
            return false;
        memcpy(seg[n], p, len);
        seg[n++][len] = '\0';
        p += len + (slash != NULL);
        if (slash && !*p)
            return false;
    }
    if (*p || n != 6 || strcmp(seg[0], "projects") || strcmp(seg[2], "locations") ||
        strcmp(seg[4], "endpoints"))
        return false;
    r->verb[0] = '\0';
    if ((colon = strchr(seg[5], ':'))) {
        *colon = '\0';
        snprintf(r->verb, sizeof(r->verb), "%s", colon + 1);
    }
    snprintf(r->project, sizeof(r->project), "%s", seg[1]);
    snprintf(r->location, sizeof(r->location), "%s", seg[3]);
    snprintf(r->endpoint, sizeof(r->endpoint), "%s", seg[5]);
    return seg[5][0] != '\0';
}

/* The request being answered: its parsed body, and the error that ends it. */
typedef struct call {
    msgpack_unpacked body;
    xq_buf_t body_mp;
    const msgpack_object *instances;
    const msgpack_object *override;
    char deployed[128];
    int status;
    char msg[600];
} call_t;

static int fail(call_t *c, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(call_t *c, int status, const char *fmt, ...) {
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
    va_end(ap);
    c->status = status;
    return status;
}

/* Reads {"instances", "parameters", "explanationSpecOverride", "deployedModelId"}. */
static int parse_body(gateway_t *g, const xq_http_req_t *req, bool explain, call_t *c) {
    xq_error_t err;
    const msgpack_object *b, *v;

    if (xq_json_to_msgpack((const char *)req->body, req->body_len, &c->body_mp, &err) != XQ_OK)
        return fail(c, 400, "Invalid JSON payload received. %s", err.msg);
    xq_mp_unpack_one(c->body_mp.data, c->body_mp.len, &c->body);
    b = &c->body.data;
    if (b->type != MSGPACK_OBJECT_MAP)
        return fail(c, 400, "Invalid JSON payload received. The request must be an object.");
    for (uint32_t i = 0; i < b->via.map.size; i++) {
        const msgpack_object *k = &b->via.map.ptr[i].key;

        if (!xq_mp_str_eq(k, "instances") && !xq_mp_str_eq(k, "parameters") &&
            !xq_mp_str_eq(k, "deployedModelId") && !xq_mp_str_eq(k, "deployed_model_id") &&
            !(explain && (xq_mp_str_eq(k, "explanationSpecOverride") ||
                          xq_mp_str_eq(k, "explanation_spec_override"))))
            return fail(c, 400, "Invalid JSON payload received. Unknown name \"%.*s\".",
                        k->type == MSGPACK_OBJECT_STR ? (int)k->via.str.size : 1,
                        k->type == MSGPACK_OBJECT_STR ? k->via.str.ptr : "?");
    }
    c->instances = xq_mp_map_get(b, "instances");
    if (!c->instances || c->instances->type != MSGPACK_OBJECT_ARRAY ||
        !c->instances->via.array.size)
        return fail(c, 400, "instances: must be a non-empty list");
    if (c->instances->via.array.size > g->conf->max_instances)
        return fail(c, 400, "instances: %u instances; at most %zu per request",
                    c->instances->via.array.size, g->conf->max_instances);
    if ((v = xq_mp_map_get(b, "parameters")) && v->type != MSGPACK_OBJECT_NIL &&
        !(v->type == MSGPACK_OBJECT_MAP && !v->via.map.size))
        return fail(c, 400,
                    "parameters: explainq models take no prediction parameters; leave them out");
    if (!(v = xq_mp_map_get(b, "deployedModelId")))
        v = xq_mp_map_get(b, "deployed_model_id");
    if (v && v->type != MSGPACK_OBJECT_NIL &&
        (v->type != MSGPACK_OBJECT_STR || v->via.str.size >= sizeof(c->deployed) ||
         memchr(v->via.str.ptr, '\0', v->via.str.size)))
        return fail(c, 400, "deployedModelId: must be a string");
    if (v && v->type == MSGPACK_OBJECT_STR) {
        memcpy(c->deployed, v->via.str.ptr, v->via.str.size);
        c->deployed[v->via.str.size] = '\0';
    }
    if (!(c->override = xq_mp_map_get(b, "explanationSpecOverride")))
        c->override = xq_mp_map_get(b, "explanation_spec_override");
    if (c->override && c->override->type == MSGPACK_OBJECT_NIL)
        c->override = NULL;
    return 0;
}

/* The endpoint's model through its runners, opened on first use; its mutex is held on success. */
static int lock_model(gateway_t *g, const xq_gw_endpoint_t *e, ep_model_t *m, call_t *c) {
    xq_kmodel_opts_t o = {.props = g->props,
                          .prop_cnt = g->prop_cnt,
                          .reply_topic = g->conf->replies_topic,
                          .timeout_ms =
                              g->conf->timeout_ms < 5000 ? (int)g->conf->timeout_ms : 5000,
                          .retries = 1};
    xq_error_t err;

    pthread_mutex_lock(&m->mu);
    if (!m->model && xq_kmodel_open(e->model, &o, &m->model, &err) != XQ_OK) {
        pthread_mutex_unlock(&m->mu);
        return fail(c, err.code == XQ_ETIMEOUT ? 503 : xq_vertex_http_status(err.code), "%s",
                    err.msg);
    }
    return 0;
}

/*
 * Maps every instance through @p spec and the model (a bad instance is a 400 naming it) and,
 * when @p preds is not NULL, runs them forward and packs one prediction each into it.
 */
static int predict(gateway_t *g,
                   const xq_gw_endpoint_t *e,
                   ep_model_t *m,
                   const xq_spec_t *spec,
                   call_t *c,
                   msgpack_packer *preds) {
    xq_error_t err;
    xq_err_t rc;

    if (lock_model(g, e, m, c))
        return c->status;
    rc = xq_vertex_predict(spec, m->model, c->instances->via.array.ptr,
                           c->instances->via.array.size, preds, &err);
    pthread_mutex_unlock(&m->mu);
    if (rc == XQ_OK)
        return 0;
    if (err.code == XQ_ETIMEOUT)
        return fail(c, 503, "%s", err.msg);
    return fail(c, xq_vertex_http_status(err.code), "%s%s%s", err.field, err.field[0] ? ": " : "",
                err.msg);
}

/* The HTTP status of a result's error code (the wire names of err.h). */
static int wire_status(const msgpack_object *code) {
    static const char *const bad[] = {"invalid_argument", "invalid_spec", "undecodable",
                                      "limit_exceeded"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (xq_mp_str_eq(code, bad[i]))
            return 400;
    }
    if (xq_mp_str_eq(code, "not_found"))
        return 404;
    if (xq_mp_str_eq(code, "timeout"))
        return 504;
    return 500;
}

/* examplesOverride of an explanationSpecOverride: neighborCount, crowdingCount. */
static int examples_override(call_t *c, xq_job_view_t *v) {
    const msgpack_object *eo = c->override ? xq_mp_map_get(c->override, "examplesOverride") : NULL;
    const char *names[] = {"neighborCount", "crowdingCount"};
    uint32_t *dst[] = {&v->neighbor_count, &v->crowding_count};

    if (!eo)
        return 0;
    for (int i = 0; i < 2; i++) {
        const msgpack_object *n = xq_mp_map_get(eo, names[i]);

        if (!n)
            continue;
        if (n->type != MSGPACK_OBJECT_POSITIVE_INTEGER || n->via.u64 < 1 || n->via.u64 > 10000)
            return fail(c, 400,
                        "explanationSpecOverride.examplesOverride.%s: must be in [1, 10000]",
                        names[i]);
        *dst[i] = (uint32_t)n->via.u64;
    }
    return 0;
}

/* Packs the instances of the request back to back, as a job carries them. */
static void pack_instances(const call_t *c, xq_buf_t *out) {
    msgpack_packer pk;

    xq_mp_packer_init(&pk, out);
    for (uint32_t i = 0; i < c->instances->via.array.size; i++)
        msgpack_pack_object(&pk, c->instances->via.array.ptr[i]);
}

/* The explanations of result @p r (or its error, as the call's failure) into @p pk. */
static int take_result(call_t *c, const xq_buf_t *r, msgpack_packer *pk) {
    msgpack_unpacked u;
    const msgpack_object *e, *ex;
    int rc = 0;

    msgpack_unpacked_init(&u);
    if (!xq_mp_unpack_one(r->data, r->len, &u) || u.data.type != MSGPACK_OBJECT_MAP) {
        rc = fail(c, 500, "the worker's result cannot be decoded");
    } else if ((e = xq_mp_map_get(&u.data, "error"))) {
        const msgpack_object *f = xq_mp_map_get(e, "field"), *m = xq_mp_map_get(e, "message");
        bool hf = f && f->type == MSGPACK_OBJECT_STR && f->via.str.size;

        rc = fail(c, wire_status(xq_mp_map_get(e, "code")), "%.*s%s%.*s",
                  hf ? (int)f->via.str.size : 0, hf ? f->via.str.ptr : "", hf ? ": " : "",
                  m && m->type == MSGPACK_OBJECT_STR ? (int)m->via.str.size : 5,
                  m && m->type == MSGPACK_OBJECT_STR ? m->via.str.ptr : "error");
    } else if (!(ex = xq_mp_map_get(&u.data, "explanations")) || ex->type != MSGPACK_OBJECT_ARRAY ||
               ex->via.array.size != c->instances->via.array.size) {
        rc = fail(c, 500, "the worker's result has no explanation per instance");
    } else {
        /* an instance that failed alone has {"error"} in its place: Vertex fails the request */
        for (uint32_t i = 0; i < ex->via.array.size && !rc; i++) {
            const msgpack_object *ie = xq_mp_map_get(&ex->via.array.ptr[i], "error"), *m;

            if (!ie)
                continue;
            m = xq_mp_map_get(ie, "message");
            rc = fail(c, wire_status(xq_mp_map_get(ie, "code")), "instances[%u]: %.*s", i,
                      m && m->type == MSGPACK_OBJECT_STR ? (int)m->via.str.size : 5,
                      m && m->type == MSGPACK_OBJECT_STR ? m->via.str.ptr : "error");
        }
        if (!rc) {
            xq_mp_pack_str(pk, "explanations");
            msgpack_pack_object(pk, *ex);
        }
    }
    msgpack_unpacked_destroy(&u);
    return rc;
}

/* POST ...:explain (and :predict when @p explain is false). */
static int serve(gateway_t *g,
                 const route_t *rt,
                 const xq_http_req_t *req,
                 bool explain,
                 call_t *c,
                 xq_buf_t *out) {
    xq_gw_endpoint_t *e;
    ep_model_t *m;
    xq_spec_t *ospec = NULL;
    const xq_spec_t *spec;
    xq_buf_t preds, insts, resp, result;
    msgpack_packer pp, rp;
    xq_gwq_ticket_t *ticket;
    char id[XQ_JOB_ID_SIZE];
    xq_job_view_t v = {0};
    long long deadline = xq_now_ms() + g->conf->timeout_ms;
    int rc;

    xq_buf_init(&preds);
    xq_buf_init(&insts);
    xq_buf_init(&resp);
    xq_buf_init(&result);
    if ((rc = parse_body(g, req, explain, c)))
        goto out;
    if (!(e = xq_gw_conf_find(g->conf, rt->endpoint, c->deployed))) {
        rc = c->deployed[0] && xq_gw_conf_find(g->conf, rt->endpoint, NULL)
                 ? fail(c, 404, "deployedModelId %s is not deployed on endpoint %s", c->deployed,
                        rt->endpoint)
                 : fail(c, 404, "Endpoint `projects/%s/locations/%s/endpoints/%s` not found.",
                        rt->project, rt->location, rt->endpoint);
        goto out;
    }
    m = &g->models[e - g->conf->endpoints];
    if (!e->spec) {
        rc = fail(c, 503, "the spec of endpoint %s is not loaded (specId %s)", e->endpoint,
                  e->spec_id);
        goto out;
    }
    spec = e->spec;
    if (explain && c->override) {
        xq_errlist_t errs;

        xq_errlist_init(&errs);
        if (xq_vertex_spec_override(e->spec, c->override, &ospec, &errs) != XQ_OK)
            rc = fail(c, 400, "%s: %s", errs.items[0].field, errs.items[0].msg);
        xq_errlist_fini(&errs);
        if (rc || (rc = examples_override(c, &v)))
            goto out;
        spec = ospec;
    }
    xq_mp_packer_init(&rp, &resp);
    msgpack_pack_map(&rp, explain ? 3 : 2);
    if (!explain) {
        xq_mp_packer_init(&pp, &preds);
        if ((rc = predict(g, e, m, spec, c, &pp)))
            goto out;
        xq_mp_pack_str(&rp, "predictions");
        xq_buf_append(&resp, preds.data, preds.len);
    } else {
        /* bad instances are answered here, before a job is made */
        if ((rc = predict(g, e, m, spec, c, NULL)))
            goto out;
        snprintf(id, sizeof(id), "%s-%llu", g->prefix,
                 (unsigned long long)atomic_fetch_add(&g->seq, 1));
        pack_instances(c, &insts);
        v.id = id;
        v.model = e->model;
        v.spec = spec->canonical;
        v.spec_len = spec->canonical_len;
        v.instances = insts.data;
        v.instances_len = insts.len;
        v.instance_cnt = c->instances->via.array.size;
        v.has_seed = e->has_seed;
        v.seed = e->seed;
        v.output_topic = g->conf->result_topic;
        v.low_latency = true;
        ticket = xq_gwq_publish(g->q, &v);
        xq_mp_packer_init(&pp, &preds);
        rc = predict(g, e, m, spec, c, &pp); /* while the workers explain */
        if ((c->status = xq_gwq_wait(g->q, ticket, deadline, &result, c->msg, sizeof(c->msg)))) {
            rc = c->status;
            goto out;
        }
        if (rc || (rc = take_result(c, &result, &rp)))
            goto out;
        xq_mp_pack_str(&rp, "predictions");
        xq_buf_append(&resp, preds.data, preds.len);
    }
    xq_mp_pack_str(&rp, "deployedModelId");
    xq_mp_pack_str(&rp, e->deployed_id);
    {
        msgpack_unpacked u;
        xq_error_t err;

        msgpack_unpacked_init(&u);
        xq_mp_unpack_one(resp.data, resp.len, &u);
        if (xq_json_from_msgpack(&u.data, 0, out, &err) != XQ_OK)
            rc = fail(c, 500, "the answer cannot be written as JSON: %s", err.msg);
        msgpack_unpacked_destroy(&u);
    }
out:
    xq_buf_fini(&result);
    xq_spec_destroy(ospec);
    xq_buf_fini(&preds);
    xq_buf_fini(&insts);
    xq_buf_fini(&resp);
    return rc;
}

/* GET .../endpoints/E: the Endpoint resource, as the SDK's Endpoint() reads it. */
static int endpoint_resource(gateway_t *g, const route_t *rt, call_t *c, xq_buf_t *out) {
    size_t n = 0;

    xq_buf_append_str(out, "{\"name\":");
    {
        char name[512];

        snprintf(name, sizeof(name), "projects/%s/locations/%s/endpoints/%s", rt->project,
                 rt->location, rt->endpoint);
        xq_json_append_str(out, name, strlen(name));
    }
    xq_buf_append_str(out, ",\"displayName\":");
    xq_json_append_str(out, rt->endpoint, strlen(rt->endpoint));
    xq_buf_append_str(out, ",\"deployedModels\":[");
    for (size_t k = 0; k < g->conf->endpoint_cnt; k++) {
        const xq_gw_endpoint_t *e = &g->conf->endpoints[k];
        char model[512];

        if (strcmp(e->endpoint, rt->endpoint))
            continue;
        snprintf(model, sizeof(model), "projects/%s/locations/%s/models/%s", rt->project,
                 rt->location, e->model);
        xq_buf_append_str(out, n++ ? ",{\"id\":" : "{\"id\":");
        xq_json_append_str(out, e->deployed_id, strlen(e->deployed_id));
        xq_buf_append_str(out, ",\"model\":");
        xq_json_append_str(out, model, strlen(model));
        xq_buf_append_str(out, ",\"displayName\":");
        xq_json_append_str(out, e->display_name, strlen(e->display_name));
        xq_buf_append_str(out, "}");
    }
    xq_buf_append_str(out, "]}");
    if (!n) {
        out->len = 0;
        return fail(c, 404, "Endpoint `projects/%s/locations/%s/endpoints/%s` not found.",
                    rt->project, rt->location, rt->endpoint);
    }
    return 0;
}

/*
 * Does the request carry one of the accepted bearer tokens (authTokensFile)?
 * Every token is compared in full, in time that does not depend on where a
 * guess goes wrong.
 */
static bool authorized(const gateway_t *g, const xq_http_req_t *req) {
    const char *h = xq_http_req_header(req, "Authorization");
    unsigned ok = 0;
    size_t len;

    if (!g->conf->token_cnt)
        return true;
    if (!h || strncasecmp(h, "Bearer ", 7))
        return false;
    h += 7;
    len = strnlen(h, XQ_GW_TOKEN_MAX + 1);
    for (size_t k = 0; k < g->conf->token_cnt; k++) {
        const char *t = g->conf->tokens[k];
        size_t tl = strlen(t);
        unsigned diff = (unsigned)(tl ^ len);

        for (size_t i = 0; i < tl; i++)
            diff |= (unsigned char)t[i] ^ (unsigned char)(i < len ? h[i] : 0);
        ok |= diff == 0;
    }
    return ok != 0;
}

static void handle(void *opaque, const xq_http_req_t *req, xq_http_resp_t *resp) {
    gateway_t *g = opaque;
    call_t c;
    route_t rt;
    bool get = !strcmp(req->method, "GET"), post = !strcmp(req->method, "POST");
    long long start = xq_now_ms();

    memset(&c, 0, sizeof(c));
    msgpack_unpacked_init(&c.body);
    xq_buf_init(&c.body_mp);
    if (get && !strcmp(req->path, "/healthz")) {
        xq_buf_append_str(&resp->body, "{\"status\":\"ok\"}");
    } else if (get && !strcmp(req->path, "/readyz")) {
        if (!atomic_load(&g->ready) || atomic_load(&g->draining))
            fail(&c, 503, "not ready: the result topic is not assigned yet, or shutting down");
        else
            xq_buf_append_str(&resp->body, "{\"status\":\"ready\"}");
    } else if (!authorized(g, req)) {
        fail(&c, 401,
             "a bearer token the gateway accepts is required (Authorization: Bearer "
             "TOKEN; the tokens are in the config's authTokensFile)");
    } else if (!parse_route(req->path, &rt)) {
        fail(&c, 404, "%s is not a path of this API", req->path);
    } else if (get && !rt.verb[0]) {
        endpoint_resource(g, &rt, &c, &resp->body);
    } else if (post && (!strcmp(rt.verb, "explain") || !strcmp(rt.verb, "predict"))) {
        atomic_fetch_add(&g->inflight, 1);
        if (atomic_load(&g->draining))
            fail(&c, 503, "the gateway is shutting down; send the request again");
        else
            serve(g, &rt, req, !strcmp(rt.verb, "explain"), &c, &resp->body);
        atomic_fetch_sub(&g->inflight, 1);
    } else {
        fail(&c, get || post ? 404 : 405, "%s %s is not a method of this API", req->method,
             req->path);
    }
    if (c.status) {
        resp->body.len = 0;
        xq_vertex_error_json(c.status, c.msg, &resp->body);
        resp->status = c.status;
        xq_log(c.status >= 500 ? XQ_LOG_WARN : XQ_LOG_INFO, "gateway", "%s %s: %d %s (%lld ms)",
               req->method, req->path, c.status, c.msg, xq_now_ms() - start);
    }
    msgpack_unpacked_destroy(&c.body);
    xq_buf_fini(&c.body_mp);
}

/* ==== Setting up ==== */

static int parse_args(int argc,
                      char **argv,
                      const char **conf,
                      const char **props,
                      size_t *n,
                      char *bs,
                      size_t bs_size) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(gateway_usage, stdout);
            return 0;
        }
        if (!v)
            break;
        i++;
        if (!strcmp(a, "-c"))
            *conf = v;
        else if (!strcmp(a, "-b"))
            snprintf(bs, bs_size, "bootstrap.servers=%s", v);
        else if (!strcmp(a, "-X") && strchr(v, '=') && *n < 60)
            props[(*n)++] = v;
        else
            break;
        if (i == argc - 1 && *conf)
            return 1;
    }
    if (*conf && argc % 2 == 1)
        return 1;
    fputs(gateway_usage, stderr);
    return -1;
}

/* Specs named by specId, from Redis. */
static bool fetch_specs(gateway_t *g) {
    xq_redis_t *r = NULL;
    xq_error_t err;
    bool ok = true;

    for (size_t k = 0; k < g->conf->endpoint_cnt && ok; k++) {
        xq_gw_endpoint_t *e = &g->conf->endpoints[k];

        if (!e->spec_id)
            continue;
        if (!r && g->conf->redis[0])
            r = xq_redis_new(g->conf->redis, 2000, &err);
        if (!r || xq_redis_get_spec(r, e->spec_id, &e->spec, &err) != XQ_OK) {
            fprintf(stderr, "explainq gateway: endpoints[%zu]: specId %s: %s\n", k, e->spec_id,
                    g->conf->redis[0] ? err.msg : "needs \"redis\" in the config");
            ok = false;
        }
    }
    xq_redis_destroy(r);
    return ok;
}

int xq_cmd_gateway(int argc, char **argv) {
    const char *conf_path = NULL, *props[72];
    char bs[512] = "bootstrap.servers=127.0.0.1:9092", host[64];
    size_t n = 1;
    gateway_t g;
    xq_errlist_t errs;
    xq_httpd_t *h = NULL;
    xq_error_t err;
    int rc;

    memset(&g, 0, sizeof(g));
    props[0] = bs;
    if ((rc = parse_args(argc, argv, &conf_path, props, &n, bs, sizeof(bs))) <= 0)
        return rc == 0 ? XQ_EXIT_OK : XQ_EXIT_USAGE;
    xq_errlist_init(&errs);
    if (xq_gw_conf_load(conf_path, &g.conf, &errs) != XQ_OK) {
        fprintf(stderr, "explainq gateway: %s:\n", conf_path);
        xq_cli_print_errors(&errs);
        xq_errlist_fini(&errs);
        return XQ_EXIT_USAGE;
    }
    xq_errlist_fini(&errs);
    rc = XQ_EXIT_RUNTIME;
    g.models = xq_calloc(g.conf->endpoint_cnt, sizeof(*g.models));
    for (size_t k = 0; k < g.conf->endpoint_cnt; k++)
        pthread_mutex_init(&g.models[k].mu, NULL);
    g.props = props;
    g.prop_cnt = n;
    gethostname(host, sizeof(host));
    host[sizeof(host) - 1] = '\0';
    snprintf(g.prefix, sizeof(g.prefix), "gw-%.40s-%d-%lld", host, (int)getpid(),
             (long long)time(NULL));
    if (!fetch_specs(&g)) {
        rc = XQ_EXIT_USAGE;
        goto out;
    }
    {
        xq_gwq_opts_t qo = {.props = props,
                            .prop_cnt = n,
                            .jobs_topic = g.conf->jobs_topic,
                            .result_topic = g.conf->result_topic,
                            .result_partitions = g.conf->result_partitions,
                            .timeout_ms = g.conf->timeout_ms,
                            .redis = g.conf->redis};

        if (!(g.q = xq_gwq_new(&qo, &err))) {
            fprintf(stderr, "explainq gateway: %s%s%s\n", err.field, err.field[0] ? ": " : "",
                    err.msg);
            goto out;
        }
    }
    {
        xq_httpd_opts_t ho = {
            .host = g.conf->host, .port = g.conf->port, .max_body = g.conf->max_body};

        if (!(h = xq_httpd_start(&ho, handle, &g, &err))) {
            fprintf(stderr, "explainq gateway: listen %s:%d: %s\n", g.conf->host, g.conf->port,
                    err.msg);
            goto out;
        }
    }
    atomic_store(&g.ready, true);
    xq_signals_install();
    xq_log(XQ_LOG_INFO, "gateway", "listening on http://%s:%d, results on %s, %s", g.conf->host,
           xq_httpd_port(h), g.conf->result_topic,
           g.conf->token_cnt ? "bearer tokens required" : "no authentication");
    if (!g.conf->token_cnt && strcmp(g.conf->host, "127.0.0.1") && strcmp(g.conf->host, "::1") &&
        strcmp(g.conf->host, "localhost"))
        xq_log(XQ_LOG_WARN, "gateway",
               "%s is not loopback and no authTokensFile is set: anyone who reaches it can "
               "submit jobs (or put an authenticating proxy in front)",
               g.conf->host);
    printf("listening on %s:%d\n", g.conf->host, xq_httpd_port(h));
    fflush(stdout);
    while (xq_run_flag)
        sleep_ms(100);
    /* new requests get 503 at once; those in flight get their answers (or their deadline),
     * and only then do the connections close */
    atomic_store(&g.draining, true);
    xq_log(XQ_LOG_INFO, "gateway", "stopping: answering the %d requests in flight",
           atomic_load(&g.inflight));
    for (long long until = xq_now_ms() + g.conf->timeout_ms + 2000;
         atomic_load(&g.inflight) > 0 && xq_now_ms() < until;)
        sleep_ms(10);
    sleep_ms(50); /* the last answers leave their threads */
    rc = XQ_EXIT_OK;
out:
    xq_httpd_stop(h);
    xq_gwq_destroy(g.q);
    for (size_t k = 0; g.models && k < g.conf->endpoint_cnt; k++) {
        xq_model_destroy(g.models[k].model);
        pthread_mutex_destroy(&g.models[k].mu);
    }
    xq_free(g.models);
    xq_gw_conf_destroy(g.conf);
    return rc;
}
