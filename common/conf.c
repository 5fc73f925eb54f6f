/* conf.c -- the option table and its sources. */
#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

#define MAX_KAFKA 128

struct xq_conf {
    const xq_conf_opt_t *table;
    size_t cnt;
    char **val;             /* per option, owned */
    double *num;            /* parsed numbers */
    char **src;             /* where each came from */
    char *kafka[MAX_KAFKA]; /* "kafka.x.y=value", owned */
    size_t kafka_cnt;
    char *views[MAX_KAFKA]; /* "prop=value" views handed out */
};

xq_conf_t *xq_conf_new(const xq_conf_opt_t *table, size_t cnt) {
    xq_conf_t *c = xq_calloc(1, sizeof(*c));

    c->table = table;
    c->cnt = cnt;
    c->val = xq_calloc(cnt, sizeof(*c->val));
    c->num = xq_calloc(cnt, sizeof(*c->num));
    c->src = xq_calloc(cnt, sizeof(*c->src));
    for (size_t i = 0; i < cnt; i++) {
        c->val[i] = xq_strdup(table[i].def);
        c->num[i] = table[i].is_str ? 0 : strtod(table[i].def, NULL);
        c->src[i] = xq_strdup("default");
    }
    return c;
}

void xq_conf_destroy(xq_conf_t *c) {
    if (!c)
        return;
    for (size_t i = 0; i < c->cnt; i++) {
        xq_free(c->val[i]);
        xq_free(c->src[i]);
    }
    for (size_t i = 0; i < c->kafka_cnt; i++) {
        xq_free(c->kafka[i]);
        xq_free(c->views[i]);
    }
    xq_free(c->val);
    xq_free(c->num);
    xq_free(c->src);
    xq_free(c);
}

/* Levenshtein distance of @p a and @p b, capped at 99 (keys are short). */
static size_t distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b), row[65];

    if (la > 64 || lb > 64)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];

        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* An unknown key: the error names the nearest option, or the kafka.* spelling of a property. */
static xq_err_t unknown(const xq_conf_t *c, const char *key, xq_error_t *err) {
    size_t best = 99, at = c->cnt, len = strlen(key);

    for (size_t i = 0; i < c->cnt; i++) {
        size_t d = distance(key, c->table[i].name);

        if (d < best) {
            best = d;
            at = i;
        }
    }
    if (at < c->cnt && best <= (len < 9 ? 2 : len / 4 + 1))
        return xq_error_set(err, XQ_EINVAL, key, "unknown option; did you mean %s?",
                            c->table[at].name);
    if (strchr(key, '.'))
        return xq_error_set(err, XQ_EINVAL, key,
                            "unknown option; a librdkafka property is set as kafka.%s "
                            "(kafka.consumer.%s, kafka.producer.%s for one kind of client)",
                            key, key, key);
    return xq_error_set(err, XQ_EINVAL, key, "unknown option (see --dump-config)");
}

bool xq_conf_is_secret(const char *key) {
    static const char *const words[] = {"password", "secret",  "jaas",       "token",
                                        "key.pem",  "ssl.key", "credentials"};

    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (strstr(key, words[i]))
            return true;
    }
    return false;
}

xq_err_t
xq_conf_set(xq_conf_t *c, const char *key, const char *value, const char *source, xq_error_t *err) {
    if (strncmp(key, "kafka.", 6) == 0 && key[6]) {
        size_t klen = strlen(key);

        for (size_t i = 0; i < c->kafka_cnt; i++) {
            if (!strncmp(c->kafka[i], key, klen) && c->kafka[i][klen] == '=') {
                xq_free(c->kafka[i]);
                c->kafka[i] = xq_malloc(klen + strlen(value) + 2);
                snprintf(c->kafka[i], klen + strlen(value) + 2, "%s=%s", key, value);
                return XQ_OK;
            }
        }
        if (c->kafka_cnt == MAX_KAFKA)
            return xq_error_set(err, XQ_EINVAL, key, "too many kafka.* properties");
        c->kafka[c->kafka_cnt] = xq_malloc(klen + strlen(value) + 2);
        snprintf(c->kafka[c->kafka_cnt++], klen + strlen(value) + 2, "%s=%s", key, value);
        return XQ_OK;
    }
    for (size_t i = 0; i < c->cnt; i++) {
        const xq_conf_opt_t *o = &c->table[i];
        char *end;
        double d;

        if (strcmp(o->name, key) != 0)
            continue;
        if (!o->is_str) {
            errno = 0;
            d = strtod(value, &end);
            if (errno || end == value || *end || !isfinite(d))
                return xq_error_set(err, XQ_EINVAL, key, "\"%s\" is not a number", value);
            if (d < o->min || d > o->max)
                return xq_error_set(err, XQ_EINVAL, key, "%g is outside [%g, %g]", d, o->min,
                                    o->max);
            c->num[i] = d;
        }
        xq_free(c->val[i]);
        xq_free(c->src[i]);
        c->val[i] = xq_strdup(value);
        c->src[i] = xq_strdup(source);
        return XQ_OK;
    }
    return unknown(c, key, err);
}

static char *trim(char *s) {
    char *e;

    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

void xq_conf_load_file(xq_conf_t *c, const char *path, xq_errlist_t *errs) {
    FILE *f = fopen(path, "r");
    char line[1024], src[64];
    int no = 0;

    if (!f) {
        xq_errlist_add(errs, XQ_EINVAL, path, "cannot read: %s", strerror(errno));
        return;
    }
    while (fgets(line, sizeof(line), f)) {
        char *s = trim(line), *eq;
        xq_error_t err;

        no++;
        if (!*s || *s == '#')
            continue;
        snprintf(src, sizeof(src), "file:%d", no);
        if (!(eq = strchr(s, '='))) {
            xq_errlist_add(errs, XQ_EINVAL, path, "line %d: expected key=value", no);
            continue;
        }
        *eq = '\0';
        if (xq_conf_set(c, trim(s), trim(eq + 1), src, &err) != XQ_OK)
            xq_errlist_add(errs, XQ_EINVAL, path, "%d: %s: %s", no, err.field, err.msg);
    }
    fclose(f);
}

static size_t find_opt(const xq_conf_t *c, const char *name) {
    for (size_t i = 0; i < c->cnt; i++) {
        if (strcmp(c->table[i].name, name) == 0)
            return i;
    }
    return c->cnt;
}

void xq_conf_load_env(xq_conf_t *c, char *const *envp, xq_errlist_t *errs) {
    for (; envp && *envp; envp++) {
        const char *e = *envp, *eq = strchr(e, '=');
        char key[256];
        size_t n;
        xq_error_t err;

        if (strncmp(e, "EXPLAINQ_", 9) || !eq || (n = (size_t)(eq - e - 9)) >= sizeof(key))
            continue;
        for (size_t i = 0; i < n; i++)
            key[i] = e[9 + i] == '_' ? '.' : (char)tolower((unsigned char)e[9 + i]);
        key[n] = '\0';
        /* EXPLAINQ_KAFKA_SASL_MECHANISM is kafka.sasl.mechanism (librdkafka's names have no
         * underscores). Other unknown EXPLAINQ_* names are left alone: Kubernetes itself sets
         * EXPLAINQ_SERVICE_HOST, EXPLAINQ_PORT... for a Service named explainq. */
        if (!strncmp(key, "kafka.", 6) || find_opt(c, key) < c->cnt) {
            if (xq_conf_set(c, key, eq + 1, "env", &err) != XQ_OK)
                xq_errlist_add(errs, XQ_EINVAL, "env", "%.*s: %s", (int)(eq - e), e, err.msg);
        }
    }
}

static size_t find(const xq_conf_t *c, const char *name) {
    for (size_t i = 0; i < c->cnt; i++) {
        if (strcmp(c->table[i].name, name) == 0)
            return i;
    }
    return c->cnt;
}

double xq_conf_num(const xq_conf_t *c, const char *name) {
    size_t i = find(c, name);

    return i < c->cnt ? c->num[i] : 0;
}

const char *xq_conf_source(const xq_conf_t *c, const char *name) {
    size_t i = find(c, name);

    return i < c->cnt ? c->src[i] : "";
}

const char *xq_conf_str(const xq_conf_t *c, const char *name) {
    size_t i = find(c, name);

    return i < c->cnt ? c->val[i] : "";
}

size_t xq_conf_kafka(const xq_conf_t *c, const char *kind, const char **out, size_t max) {
    xq_conf_t *w = (xq_conf_t *)(uintptr_t)c; /* the views are a cache, not state */
    size_t n = 0, klen = strlen(kind);

    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < c->kafka_cnt && n < max; i++) {
            const char *k = c->kafka[i] + 6; /* past "kafka." */
            bool specific = !strncmp(k, kind, klen) && k[klen] == '.';
            bool other = !strncmp(k, "consumer.", 9) || !strncmp(k, "producer.", 9);

            if ((pass == 0 && !other) || (pass == 1 && specific)) {
                xq_free(w->views[n]);
                w->views[n] = xq_strdup(pass ? k + klen + 1 : k);
                out[n] = w->views[n];
                n++;
            }
        }
    }
    return n;
}

void xq_conf_dump(const xq_conf_t *c, void (*line)(const char *text, void *ud), void *ud) {
    char buf[1024];

    for (size_t i = 0; i < c->cnt; i++) {
        bool mask = xq_conf_is_secret(c->table[i].name) && c->val[i][0];

        snprintf(buf, sizeof(buf), "%s=%s  # %s; %s", c->table[i].name, mask ? "****" : c->val[i],
                 c->src[i], c->table[i].help);
        line(buf, ud);
    }
    for (size_t i = 0; i < c->kafka_cnt; i++) {
        const char *eq = strchr(c->kafka[i], '=');
        char key[256];

        snprintf(key, sizeof(key), "%.*s", (int)(eq - c->kafka[i]), c->kafka[i]);
        if (xq_conf_is_secret(key)) {
            snprintf(buf, sizeof(buf), "%s=****", key);
            line(buf, ud);
        } else {
            line(c->kafka[i], ud);
        }
    }
}
