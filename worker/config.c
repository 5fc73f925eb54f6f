/* config.c -- the CLI commands' shared configuration. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "names.h"
#include "redis.h"

#define WORKER_ONLY "for the worker only"

static const xq_conf_opt_t options[] = {
    {"bootstrap.servers", "127.0.0.1:9092", 0, 0, 1, "Kafka brokers (-b)"},
    {"redis.url", "127.0.0.1:6379", 0, 0, 1, "Redis host:port"},
    {"redis.user", "", 0, 0, 1, "Redis ACL user (with redis.password)"},
    {"redis.password", "", 0, 0, 1, "Redis AUTH password"},
    {"redis.db", "0", 0, 1e6, 0, "Redis database number (SELECT)"},
    {"redis.tls", "false", 0, 0, 1, "TLS to Redis: not available with hiredis 0.14 (see README)"},
    {"topic.jobs", XQ_TOPIC_JOBS, 0, 0, 1, "jobs topic"},
    {"topic.results", XQ_TOPIC_RESULTS, 0, 0, 1, "results topic"},
    {"topic.dlq", XQ_TOPIC_DLQ, 0, 0, 1, "dead-letter topic"},
    {"topic.replies", XQ_TOPIC_REPLIES, 0, 0, 1, "inference replies topic"},
    {"group.id", XQ_GROUP_WORKERS, 0, 0, 1, "consumer group of the workers"},
    {"log.level", "info", 0, 0, 1, "debug, info, warn or error"},
    {"log.format", "text", 0, 0, 1, "text, or json: one JSON object per line"},
    {"metrics.port", "0", 0, 65535, 0, "serve /metrics, /healthz and /readyz (runner; 0: off)"},
    {"metrics.host", "0.0.0.0", 0, 0, 1, "address the metrics port binds"},
    /* the worker's own options: known here, so one -c FILE serves every command, and unused
     * (the worker checks them; 0152 checks that this list is the worker's) */
    {"batch.linger.ms", "", 0, 0, 1, WORKER_ONLY},
    {"compact.requests", "", 0, 0, 1, WORKER_ONLY},
    {"commit.interval.ms", "", 0, 0, 1, WORKER_ONLY},
    {"commit.jobs", "", 0, 0, 1, WORKER_ONLY},
    {"commit.timeout.ms", "", 0, 0, 1, WORKER_ONLY},
    {"dedup.window", "", 0, 0, 1, WORKER_ONLY},
    {"dlq.max.bytes", "", 0, 0, 1, WORKER_ONLY},
    {"examples.cache.indexes", "", 0, 0, 1, WORKER_ONLY},
    {"input.format", "", 0, 0, 1, WORKER_ONLY},
    {"input.topic", "", 0, 0, 1, WORKER_ONLY},
    {"job.ttl.s", "", 0, 0, 1, WORKER_ONLY},
    {"max.batch.rows", "", 0, 0, 1, WORKER_ONLY},
    {"max.inflight.rows", "", 0, 0, 1, WORKER_ONLY},
    {"max.instances.per.job", "", 0, 0, 1, WORKER_ONLY},
    {"max.model.rows", "", 0, 0, 1, WORKER_ONLY},
    {"max.queued.bytes", "", 0, 0, 1, WORKER_ONLY},
    {"max.queued.instances", "", 0, 0, 1, WORKER_ONLY},
    {"max.request.bytes", "", 0, 0, 1, WORKER_ONLY},
    {"max.tensor.elements", "", 0, 0, 1, WORKER_ONLY},
    {"models", "", 0, 0, 1, WORKER_ONLY},
    {"redis.timeout.ms", "", 0, 0, 1, WORKER_ONLY},
    {"redis.wait.ms", "", 0, 0, 1, WORKER_ONLY},
    {"replies.partitions", "", 0, 0, 1, WORKER_ONLY},
    {"request.retries", "", 0, 0, 1, WORKER_ONLY},
    {"request.timeout.ms", "", 0, 0, 1, WORKER_ONLY},
    {"result.max.bytes", "", 0, 0, 1, WORKER_ONLY},
    {"sample.rate", "", 0, 0, 1, WORKER_ONLY},
    {"shutdown.grace.ms", "", 0, 0, 1, WORKER_ONLY},
    {"stream.index.id", "", 0, 0, 1, WORKER_ONLY},
    {"stream.model", "", 0, 0, 1, WORKER_ONLY},
    {"stream.spec.id", "", 0, 0, 1, WORKER_ONLY},
    {"viz.format", "", 0, 0, 1, WORKER_ONLY},
    {"worker.id", "", 0, 0, 1, WORKER_ONLY},
    {"xrai.algorithm", "", 0, 0, 1, WORKER_ONLY},
};
#define OPT_CNT (sizeof(options) / sizeof(options[0]))

static void dump_line(const char *text, void *ud) {
    (void)ud;
    if (!strstr(text, "  # default; " WORKER_ONLY)) /* the worker's options, unset: noise */
        puts(text);
}

void xq_cli_set_kv(xq_conf_t *c, const char *kv, xq_errlist_t *errs) {
    const char *eq = strchr(kv, '=');
    char key[256];
    xq_error_t err;

    if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof(key)) {
        xq_errlist_add(errs, XQ_EINVAL, "-X", "%s: expected key=value", kv);
        return;
    }
    memcpy(key, kv, (size_t)(eq - kv));
    key[eq - kv] = '\0';
    if (xq_conf_set(c, key, eq + 1, "-X", &err) != XQ_OK)
        xq_errlist_add(errs, XQ_EINVAL, "-X", "%s: %s", err.field, err.msg);
}

/* The option's value when something set it, NULL at its default. */
static const char *set_here(const xq_conf_t *c, const char *name) {
    return strcmp(xq_conf_source(c, name), "default") ? xq_conf_str(c, name) : NULL;
}

xq_conf_t *xq_cli_config(const char *cmd, int *argc, char **argv, char *const *envp, int *rc) {
    xq_conf_t *c = xq_conf_new(options, OPT_CNT);
    xq_errlist_t errs;
    xq_error_t err;
    bool dump = false;
    int out = 1;

    xq_errlist_init(&errs);
    for (int i = 1; i + 1 < *argc; i++) {
        if (!strcmp(argv[i], "-c"))
            xq_conf_load_file(c, argv[++i], &errs);
    }
    xq_conf_load_env(c, envp, &errs);
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i], *v = i + 1 < *argc ? argv[i + 1] : NULL;
        xq_error_t e2;

        if (!strcmp(a, "--dump-config")) {
            dump = true;
        } else if (v && !strcmp(a, "-c")) {
            i++;
        } else if (v && !strcmp(a, "-X")) {
            xq_cli_set_kv(c, v, &errs);
            i++;
        } else if (v && (!strcmp(a, "-b") || !strcmp(a, "--brokers"))) {
            if (xq_conf_set(c, "bootstrap.servers", v, a, &e2) != XQ_OK)
                xq_errlist_add(&errs, XQ_EINVAL, a, "%s", e2.msg);
            i++;
        } else {
            argv[out++] = argv[i];
        }
    }
    *argc = out;
    argv[out] = NULL;
    /* only what was set: main() may have applied -X log.* already (commands off the list) */
    if (!errs.cnt && !xq_cli_log_apply(set_here(c, "log.level"), set_here(c, "log.format"), &err))
        xq_errlist_add(&errs, XQ_EINVAL, err.field, "%s", err.msg);
    if (errs.cnt) {
        fprintf(stderr, "explainq %s: configuration errors:\n", cmd);
        xq_cli_print_errors(&errs);
        *rc = XQ_EXIT_USAGE;
        goto fail;
    }
    if (dump) {
        xq_conf_dump(c, dump_line, NULL);
        *rc = XQ_EXIT_OK;
        goto fail;
    }
    xq_errlist_fini(&errs);
    return c;
fail:
    xq_errlist_fini(&errs);
    xq_conf_destroy(c);
    return NULL;
}

size_t xq_cli_kafka_props(
    const xq_conf_t *c, const char *kind, char *bs, size_t bs_len, const char **out, size_t max) {
    if (max < 1)
        return 0;
    snprintf(bs, bs_len, "bootstrap.servers=%s", xq_conf_str(c, "bootstrap.servers"));
    out[0] = bs;
    return 1 + xq_conf_kafka(c, kind, out + 1, max - 1);
}

xq_redis_t *xq_cli_redis(const xq_conf_t *c, const char *url, int timeout_ms, xq_error_t *err) {
    const char *tls = xq_conf_str(c, "redis.tls");
    xq_redis_t *r;

    if (strcmp(tls, "false") != 0 && strcmp(tls, "0") != 0 && tls[0]) {
        xq_error_set(err, XQ_EINVAL, "redis.tls",
                     "TLS to Redis needs hiredis >= 1.0 with hiredis_ssl; Debian 12 has 0.14. "
                     "Run a TLS tunnel (stunnel, or a sidecar) and point redis.url at it");
        return NULL;
    }
    if (!(r = xq_redis_new(url ? url : xq_conf_str(c, "redis.url"), timeout_ms, err)))
        return NULL;
    if (xq_redis_set_auth(r, xq_conf_str(c, "redis.user"), xq_conf_str(c, "redis.password"),
                          (int)xq_conf_num(c, "redis.db"), err) != XQ_OK) {
        xq_redis_destroy(r);
        return NULL;
    }
    return r;
}

bool xq_cli_check_id(const char *option, const char *id, size_t max, xq_error_t *err) {
    size_t len = strlen(id);

    if (len > max) {
        xq_error_set(err, XQ_EINVAL, option, "%zu characters; at most %zu", len, max);
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char ch = id[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-')) {
            xq_error_set(err, XQ_EINVAL, option,
                         "character %zu is '%c'; only letters, digits, '.', '_' and '-' are "
                         "allowed",
                         i + 1, ch);
            return false;
        }
    }
    return true;
}
