/* metrics.c -- counters, gauges and histograms with labels; Prometheus text; probes. */
#include "metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "log.h"

typedef struct series {
    char *lv[XQ_METRICS_MAX_LABELS]; /* label values (owned) */
    double value;                    /* a counter's or gauge's value; a histogram's sum */
    uint64_t count;                  /* a histogram's count */
    uint64_t *per_bucket;            /* observations per bucket, not cumulative (owned) */
} series_t;

typedef struct family {
    xq_metric_kind_t kind;
    char *name, *help;
    char *label[XQ_METRICS_MAX_LABELS];
    size_t nlabels;
    double *buckets;
    size_t nbuckets;
    series_t *series;
    size_t cnt, cap;
} family_t;

struct xq_metrics {
    pthread_mutex_t mu;
    family_t *fam;
    size_t cnt, cap;
    uint64_t dropped; /* updates past XQ_METRICS_MAX_SERIES */
    bool ready;
    char why[256];
};

xq_metrics_t *xq_metrics_new(void) {
    xq_metrics_t *m = xq_calloc(1, sizeof(*m));

    pthread_mutex_init(&m->mu, NULL);
    snprintf(m->why, sizeof(m->why), "starting");
    return m;
}

static void series_fini(series_t *s) {
    for (size_t k = 0; k < XQ_METRICS_MAX_LABELS; k++)
        xq_free(s->lv[k]);
    xq_free(s->per_bucket);
}

void xq_metrics_destroy(xq_metrics_t *m) {
    if (!m)
        return;
    for (size_t i = 0; i < m->cnt; i++) {
        family_t *f = &m->fam[i];

        for (size_t j = 0; j < f->cnt; j++)
            series_fini(&f->series[j]);
        for (size_t k = 0; k < f->nlabels; k++)
            xq_free(f->label[k]);
        xq_free(f->series);
        xq_free(f->buckets);
        xq_free(f->name);
        xq_free(f->help);
    }
    xq_free(m->fam);
    pthread_mutex_destroy(&m->mu);
    xq_free(m);
}

static bool valid_name(const char *s, bool label) {
    if (!s || !*s || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++) {
        char c = *s;

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || (c == ':' && !label)))
            return false;
    }
    return true;
}

static family_t *find(const xq_metrics_t *m, const char *name) {
    for (size_t i = 0; i < m->cnt; i++) {
        if (strcmp(m->fam[i].name, name) == 0)
            return &m->fam[i];
    }
    return NULL;
}

/* Splits "a,b" into f->label[]; false when a name is invalid or there are too many. */
static bool split_labels(family_t *f, const char *labels) {
    const char *p = labels;

    while (p && *p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);

        if (f->nlabels == XQ_METRICS_MAX_LABELS)
            return false;
        f->label[f->nlabels++] = xq_strndup(p, len);
        if (!valid_name(f->label[f->nlabels - 1], true) || !strcmp(f->label[f->nlabels - 1], "le"))
            return false;
        p = comma ? comma + 1 : NULL;
    }
    return true;
}

static series_t *series_of(xq_metrics_t *m, family_t *f, const char *l1, const char *l2);

xq_err_t xq_metrics_declare(xq_metrics_t *m,
                            xq_metric_kind_t kind,
                            const char *name,
                            const char *help,
                            const char *labels,
                            const double *buckets,
                            size_t nbuckets,
                            xq_error_t *err) {
    family_t f;
    xq_err_t rc = XQ_OK;

    memset(&f, 0, sizeof(f));
    if (!valid_name(name, false))
        return xq_error_set(err, XQ_EINVAL, "name", "\"%s\" is not a metric name",
                            name ? name : "");
    if (kind == XQ_METRIC_HISTOGRAM && (nbuckets < 1 || nbuckets > XQ_METRICS_MAX_BUCKETS))
        return xq_error_set(err, XQ_EINVAL, name, "a histogram needs 1 to %d buckets",
                            XQ_METRICS_MAX_BUCKETS);
    for (size_t i = 0; kind == XQ_METRIC_HISTOGRAM && i < nbuckets; i++) {
        if (!isfinite(buckets[i]) || (i && buckets[i] <= buckets[i - 1]))
            return xq_error_set(err, XQ_EINVAL, name,
                                "bucket bounds must be finite and strictly increasing");
    }
    pthread_mutex_lock(&m->mu);
    if (find(m, name)) {
        rc = xq_error_set(err, XQ_EINVAL, name, "declared twice");
        goto out;
    }
    f.kind = kind;
    if (!split_labels(&f, labels)) {
        rc = xq_error_set(err, XQ_EINVAL, name, "labels \"%s\": at most %d valid names, not le",
                          labels, XQ_METRICS_MAX_LABELS);
        for (size_t k = 0; k < f.nlabels; k++)
            xq_free(f.label[k]);
        goto out;
    }
    f.name = xq_strdup(name);
    f.help = xq_strdup(help ? help : "");
    if (kind == XQ_METRIC_HISTOGRAM) {
        f.nbuckets = nbuckets;
        f.buckets = xq_calloc(nbuckets, sizeof(double));
        memcpy(f.buckets, buckets, nbuckets * sizeof(double));
    }
    if (m->cnt == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 16;
        m->fam = xq_reallocarray(m->fam, m->cap, sizeof(*m->fam));
    }
    m->fam[m->cnt++] = f;
    if (!f.nlabels)
        series_of(m, &m->fam[m->cnt - 1], NULL, NULL); /* 0 from the start, not absent */
out:
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static bool same(const char *a, const char *b) {
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The series of @p f for (l1, l2), created when new; NULL past the cap. Under the mutex. */
static series_t *series_of(xq_metrics_t *m, family_t *f, const char *l1, const char *l2) {
    const char *lv[XQ_METRICS_MAX_LABELS] = {f->nlabels > 0 ? (l1 ? l1 : "") : NULL,
                                             f->nlabels > 1 ? (l2 ? l2 : "") : NULL};
    series_t *s;

    for (size_t i = 0; i < f->cnt; i++) {
        if (same(f->series[i].lv[0], lv[0]) && same(f->series[i].lv[1], lv[1]))
            return &f->series[i];
    }
    if (f->cnt == XQ_METRICS_MAX_SERIES) {
        m->dropped++;
        return NULL;
    }
    if (f->cnt == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 8;
        f->series = xq_reallocarray(f->series, f->cap, sizeof(*f->series));
    }
    s = &f->series[f->cnt++];
    memset(s, 0, sizeof(*s));
    for (size_t k = 0; k < f->nlabels; k++)
        s->lv[k] = xq_strdup(lv[k]);
    if (f->kind == XQ_METRIC_HISTOGRAM)
        s->per_bucket = xq_calloc(f->nbuckets, sizeof(uint64_t));
    return s;
}

typedef enum op {
    OP_ADD,
    OP_SET,
    OP_OBSERVE
} op_t;

static void
update(xq_metrics_t *m, op_t op, const char *name, const char *l1, const char *l2, double v) {
    family_t *f;
    series_t *s;

    pthread_mutex_lock(&m->mu);
    f = find(m, name);
    XQ_ASSERT(f != NULL);
    XQ_ASSERT(op == OP_OBSERVE
                  ? f->kind == XQ_METRIC_HISTOGRAM
                  : f->kind != XQ_METRIC_HISTOGRAM && (op == OP_ADD || f->kind == XQ_METRIC_GAUGE));
    if ((s = series_of(m, f, l1, l2))) {
        if (op == OP_ADD)
            s->value += f->kind == XQ_METRIC_COUNTER && v < 0 ? 0 : v;
        else if (op == OP_SET)
            s->value = v;
        else {
            size_t b = 0;

            while (b < f->nbuckets && !(v <= f->buckets[b]))
                b++;
            if (b < f->nbuckets)
                s->per_bucket[b]++;
            s->value += v;
            s->count++;
        }
    }
    pthread_mutex_unlock(&m->mu);
}

void xq_metrics_add(xq_metrics_t *m, const char *name, const char *l1, const char *l2, double v) {
    update(m, OP_ADD, name, l1, l2, v);
}

void xq_metrics_set(xq_metrics_t *m, const char *name, const char *l1, const char *l2, double v) {
    update(m, OP_SET, name, l1, l2, v);
}

void xq_metrics_observe(
    xq_metrics_t *m, const char *name, const char *l1, const char *l2, double v) {
    update(m, OP_OBSERVE, name, l1, l2, v);
}

void xq_metrics_clear(xq_metrics_t *m, const char *name) {
    family_t *f;

    pthread_mutex_lock(&m->mu);
    f = find(m, name);
    XQ_ASSERT(f != NULL);
    for (size_t i = 0; i < f->cnt; i++)
        series_fini(&f->series[i]);
    f->cnt = 0;
    pthread_mutex_unlock(&m->mu);
}

void xq_metrics_move(xq_metrics_t *dst, xq_metrics_t *src) {
    pthread_mutex_lock(&src->mu);
    pthread_mutex_lock(&dst->mu);
    for (size_t i = 0; i < src->cnt; i++) {
        family_t *sf = &src->fam[i], *df = find(dst, sf->name);

        if (sf->kind == XQ_METRIC_GAUGE)
            continue;
        XQ_ASSERT(df && df->kind == sf->kind && df->nbuckets == sf->nbuckets);
        for (size_t j = 0; j < sf->cnt; j++) {
            series_t *ss = &sf->series[j], *ds;

            if (!ss->value && !ss->count)
                continue;
            if ((ds = series_of(dst, df, ss->lv[0], ss->lv[1]))) {
                ds->value += ss->value;
                ds->count += ss->count;
                for (size_t b = 0; b < sf->nbuckets; b++)
                    ds->per_bucket[b] += ss->per_bucket[b];
            }
            ss->value = 0;
            ss->count = 0;
            if (ss->per_bucket)
                memset(ss->per_bucket, 0, sf->nbuckets * sizeof(uint64_t));
        }
    }
    pthread_mutex_unlock(&dst->mu);
    pthread_mutex_unlock(&src->mu);
}

void xq_metrics_zero(xq_metrics_t *m) {
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->cnt; i++) {
        for (size_t j = 0; j < m->fam[i].cnt; j++) {
            series_t *s = &m->fam[i].series[j];

            s->value = 0;
            s->count = 0;
            if (s->per_bucket)
                memset(s->per_bucket, 0, m->fam[i].nbuckets * sizeof(uint64_t));
        }
    }
    pthread_mutex_unlock(&m->mu);
}

double xq_metrics_get(xq_metrics_t *m, const char *name, const char *l1, const char *l2) {
    double v = 0;
    family_t *f;

    pthread_mutex_lock(&m->mu);
    if ((f = find(m, name))) {
        const char *lv[XQ_METRICS_MAX_LABELS] = {f->nlabels > 0 ? (l1 ? l1 : "") : NULL,
                                                 f->nlabels > 1 ? (l2 ? l2 : "") : NULL};

        for (size_t i = 0; i < f->cnt; i++) {
            if (same(f->series[i].lv[0], lv[0]) && same(f->series[i].lv[1], lv[1]))
                v = f->kind == XQ_METRIC_HISTOGRAM ? (double)f->series[i].count
                                                   : f->series[i].value;
        }
    }
    pthread_mutex_unlock(&m->mu);
    return v;
}

/* Appends @p s escaped: backslash and newline always, the double quote in label values. */
static void append_escaped(xq_buf_t *out, const char *s, bool quote) {
    for (; *s; s++) {
        if (*s == '\\')
            xq_buf_append_str(out, "\\\\");
        else if (*s == '\n')
            xq_buf_append_str(out, "\\n");
        else if (*s == '"' && quote)
            xq_buf_append_str(out, "\\\"");
        else
            xq_buf_append(out, s, 1);
    }
}

/* The shortest of %.15g / %.17g that reads back as @p v ("0.1", not "0.10000000000000001"). */
static void format_num(char *buf, size_t cap, double v) {
    if (isnan(v)) {
        snprintf(buf, cap, "NaN");
    } else if (isinf(v)) {
        snprintf(buf, cap, "%s", v > 0 ? "+Inf" : "-Inf");
    } else {
        snprintf(buf, cap, "%.15g", v);
        if (strtod(buf, NULL) != v)
            snprintf(buf, cap, "%.17g", v);
    }
}

static void append_num(xq_buf_t *out, double v) {
    char buf[40];

    format_num(buf, sizeof(buf), v);
    xq_buf_append_str(out, buf);
}

/* name{l1="v1",l2="v2"[,le="bound"]} */
static void append_series_name(
    xq_buf_t *out, const family_t *f, const series_t *s, const char *suffix, const char *le) {
    xq_buf_append_str(out, f->name);
    xq_buf_append_str(out, suffix);
    if (!f->nlabels && !le)
        return;
    xq_buf_append_str(out, "{");
    for (size_t k = 0; k < f->nlabels; k++) {
        xq_buf_appendf(out, "%s%s=\"", k ? "," : "", f->label[k]);
        append_escaped(out, s->lv[k], true);
        xq_buf_append_str(out, "\"");
    }
    if (le)
        xq_buf_appendf(out, "%sle=\"%s\"", f->nlabels ? "," : "", le);
    xq_buf_append_str(out, "}");
}

static void render_histogram(xq_buf_t *out, const family_t *f, const series_t *s) {
    uint64_t cum = 0;
    char le[40];

    for (size_t b = 0; b < f->nbuckets; b++) {
        cum += s->per_bucket[b];
        format_num(le, sizeof(le), f->buckets[b]);
        append_series_name(out, f, s, "_bucket", le);
        xq_buf_appendf(out, " %llu\n", (unsigned long long)cum);
    }
    append_series_name(out, f, s, "_bucket", "+Inf");
    xq_buf_appendf(out, " %llu\n", (unsigned long long)s->count);
    append_series_name(out, f, s, "_sum", NULL);
    xq_buf_append_str(out, " ");
    append_num(out, s->value);
    xq_buf_append_str(out, "\n");
    append_series_name(out, f, s, "_count", NULL);
    xq_buf_appendf(out, " %llu\n", (unsigned long long)s->count);
}

void xq_metrics_render(xq_metrics_t *m, xq_buf_t *out) {
    static const char *const kinds[] = {"counter", "gauge", "histogram"};

    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->cnt; i++) {
        const family_t *f = &m->fam[i];

        xq_buf_appendf(out, "# HELP %s ", f->name);
        append_escaped(out, f->help, false);
        xq_buf_appendf(out, "\n# TYPE %s %s\n", f->name, kinds[f->kind]);
        for (size_t j = 0; j < f->cnt; j++) {
            if (f->kind == XQ_METRIC_HISTOGRAM) {
                render_histogram(out, f, &f->series[j]);
                continue;
            }
            append_series_name(out, f, &f->series[j], "", NULL);
            xq_buf_append_str(out, " ");
            append_num(out, f->series[j].value);
            xq_buf_append_str(out, "\n");
        }
    }
    xq_buf_appendf(out,
                   "# HELP explainq_metrics_dropped_updates_total updates of series past the "
                   "per-family limit\n# TYPE explainq_metrics_dropped_updates_total counter\n"
                   "explainq_metrics_dropped_updates_total %llu\n",
                   (unsigned long long)m->dropped);
    pthread_mutex_unlock(&m->mu);
}

void xq_metrics_set_ready(xq_metrics_t *m, bool ready, const char *why) {
    pthread_mutex_lock(&m->mu);
    m->ready = ready;
    snprintf(m->why, sizeof(m->why), "%s", why ? why : "");
    pthread_mutex_unlock(&m->mu);
}

/* ==== The server ==== */

struct xq_metrics_server {
    xq_httpd_t *httpd;
};

static void handle(void *opaque, const xq_http_req_t *req, xq_http_resp_t *resp) {
    xq_metrics_t *m = opaque;

    resp->content_type = "text/plain; charset=utf-8";
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        resp->status = 405;
        xq_buf_append_str(&resp->body, "only GET\n");
    } else if (strcmp(req->path, "/metrics") == 0) {
        resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
        xq_metrics_render(m, &resp->body);
    } else if (strcmp(req->path, "/healthz") == 0) {
        xq_buf_append_str(&resp->body, "ok\n");
    } else if (strcmp(req->path, "/readyz") == 0) {
        pthread_mutex_lock(&m->mu);
        resp->status = m->ready ? 200 : 503;
        xq_buf_appendf(&resp->body, "%s\n", m->ready ? "ready" : m->why);
        pthread_mutex_unlock(&m->mu);
    } else {
        resp->status = 404;
        xq_buf_append_str(&resp->body, "not found: /metrics, /healthz, /readyz\n");
    }
}

xq_metrics_server_t *
xq_metrics_serve(xq_metrics_t *m, const char *host, int port, xq_error_t *err) {
    xq_httpd_opts_t o = {.host = host, .port = port, .max_body = 4096, .max_conns = 32};
    xq_metrics_server_t *s = xq_calloc(1, sizeof(*s));

    if (!(s->httpd = xq_httpd_start(&o, handle, m, err))) {
        xq_free(s);
        return NULL;
    }
    return s;
}

int xq_metrics_server_port(const xq_metrics_server_t *s) {
    return xq_httpd_port(s->httpd);
}

void xq_metrics_server_stop(xq_metrics_server_t *s) {
    if (!s)
        return;
    xq_httpd_stop(s->httpd);
    xq_free(s);
}
