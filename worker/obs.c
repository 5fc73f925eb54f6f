/* obs.c -- the worker's and the runner's metrics and readiness. */
#include "obs.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "mem.h"
#include "methods/run.h"

struct xq_obs {
    xq_metrics_t *m;
    /* a worker's job counts until the transaction that published the jobs commits: a job
     * redone after an abort counts once (NULL for a runner) */
    xq_metrics_t *staged;
    xq_metrics_server_t *server;
    pthread_mutex_t mu; /* the fields below; the runner's rebalance runs on its poll thread */
    bool broker_ok, runner_ok;
    long long last_tick_ms, last_probe_ms;
    uint64_t index_loads;
    int assigned;
};

/* Seconds: 1 ms to 60 s. */
static const double latency_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                         0.5,   1,      2.5,   5,    10,    30,   60};
/* approximationError, relative (absolute when |F(x) - F(x')| is tiny): 1e-6 to 1. */
static const double error_buckets[] = {1e-6,  1e-5, 1e-4, 0.001, 0.0025, 0.005, 0.01,
                                       0.025, 0.05, 0.1,  0.25,  0.5,    1};
#define NB(a) (sizeof(a) / sizeof((a)[0]))

typedef struct family {
    xq_metric_kind_t kind;
    const char *name, *labels, *help;
} family_t;

static const family_t worker_families[] = {
    {XQ_METRIC_COUNTER, "explainq_jobs_received_total", NULL, "jobs (or stream instances) taken"},
    {XQ_METRIC_COUNTER, "explainq_jobs_completed_total", NULL, "jobs answered with explanations"},
    {XQ_METRIC_COUNTER, "explainq_jobs_failed_total", "code",
     "jobs answered with an error result, by error code"},
    {XQ_METRIC_COUNTER, "explainq_instances_explained_total", "method",
     "instances explained, by method"},
    {XQ_METRIC_COUNTER, "explainq_model_rows_sent_total", "model",
     "model rows sent to the runners (resends included)"},
    {XQ_METRIC_COUNTER, "explainq_model_rows_received_total", "model",
     "model rows in the runners' replies"},
    {XQ_METRIC_HISTOGRAM, "explainq_inference_request_seconds", "model",
     "time from sending an inference request to its reply"},
    {XQ_METRIC_GAUGE, "explainq_rows_in_flight", NULL, "model rows sent and not yet answered"},
    {XQ_METRIC_GAUGE, "explainq_assigned_partitions", NULL, "job partitions this worker holds"},
    {XQ_METRIC_GAUGE, "explainq_consumer_lag", "topic,partition",
     "messages of a held partition not yet consumed (high watermark - position)"},
    {XQ_METRIC_COUNTER, "explainq_transaction_commits_total", NULL,
     "transactions (results with their job offsets) committed"},
    {XQ_METRIC_COUNTER, "explainq_transaction_aborts_total", NULL,
     "transactions aborted (their jobs are redone)"},
    {XQ_METRIC_COUNTER, "explainq_dlq_messages_total", "code", "dead letters written, by code"},
    {XQ_METRIC_COUNTER, "explainq_baseline_cache_hits_total", NULL,
     "baseline rows answered from the cache (memory or Redis)"},
    {XQ_METRIC_COUNTER, "explainq_baseline_cache_misses_total", NULL,
     "baseline rows the cache did not hold (sent to the runner)"},
    {XQ_METRIC_COUNTER, "explainq_example_index_loads_total", NULL,
     "example indexes loaded from Redis"},
    {XQ_METRIC_HISTOGRAM, "explainq_approximation_error", "method",
     "approximationError of each attribution, by method"},
};

static const family_t runner_families[] = {
    {XQ_METRIC_COUNTER, "explainq_runner_requests_total", "result",
     "inference requests answered: ok, or error (an error reply)"},
    {XQ_METRIC_COUNTER, "explainq_runner_rows_total", NULL, "model rows evaluated"},
    {XQ_METRIC_HISTOGRAM, "explainq_runner_eval_seconds", NULL,
     "time to decode, evaluate and encode one request"},
    {XQ_METRIC_GAUGE, "explainq_runner_assigned_partitions", NULL,
     "request partitions this runner holds"},
};

static xq_metrics_t *declare_all(const family_t *f, size_t cnt) {
    xq_metrics_t *m = xq_metrics_new();
    xq_error_t err;

    for (size_t i = 0; i < cnt; i++) {
        bool lat = strstr(f[i].name, "_seconds") != NULL;
        const double *b = f[i].kind != XQ_METRIC_HISTOGRAM ? NULL
                          : lat                            ? latency_buckets
                                                           : error_buckets;
        size_t nb = f[i].kind != XQ_METRIC_HISTOGRAM ? 0
                    : lat                            ? NB(latency_buckets)
                                                     : NB(error_buckets);
        xq_err_t rc =
            xq_metrics_declare(m, f[i].kind, f[i].name, f[i].help, f[i].labels, b, nb, &err);

        XQ_ASSERT(rc == XQ_OK); /* the tables above are constants */
    }
    return m;
}

static xq_obs_t *obs_new(const family_t *f, size_t cnt) {
    xq_obs_t *o = xq_calloc(1, sizeof(*o));

    o->m = declare_all(f, cnt);
    pthread_mutex_init(&o->mu, NULL);
    o->broker_ok = o->runner_ok = true;
    return o;
}

xq_obs_t *xq_obs_new_worker(void) {
    xq_obs_t *o = obs_new(worker_families, NB(worker_families));

    o->staged = declare_all(worker_families, NB(worker_families));
    xq_metrics_set_ready(o->m, false, "no job partitions assigned yet");
    return o;
}

xq_obs_t *xq_obs_new_runner(void) {
    xq_obs_t *o = obs_new(runner_families, NB(runner_families));

    xq_metrics_set_ready(o->m, false, "starting");
    return o;
}

bool xq_obs_serve(xq_obs_t *o, const char *host, int port, xq_error_t *err) {
    if (port <= 0)
        return true;
    if (!(o->server = xq_metrics_serve(o->m, host, port, err)))
        return false;
    xq_log(XQ_LOG_INFO, "metrics", "serving /metrics /healthz /readyz on %s:%d", host,
           xq_metrics_server_port(o->server));
    return true;
}

void xq_obs_destroy(xq_obs_t *o) {
    if (!o)
        return;
    xq_metrics_server_stop(o->server);
    xq_metrics_destroy(o->m);
    xq_metrics_destroy(o->staged);
    pthread_mutex_destroy(&o->mu);
    xq_free(o);
}

xq_metrics_t *xq_obs_metrics(xq_obs_t *o) {
    return o->m;
}

void xq_obs_job_received(xq_obs_t *o) {
    xq_metrics_add(o->m, "explainq_jobs_received_total", NULL, NULL, 1);
}

/* The metrics a published job's counts go to: held back in a worker (struct xq_obs). */
static xq_metrics_t *job_metrics(xq_obs_t *o) {
    return o->staged ? o->staged : o->m;
}

void xq_obs_job_done(xq_obs_t *o, const char *method, struct xq_run *const *runs, size_t n) {
    xq_metrics_t *m = job_metrics(o);

    xq_metrics_add(m, "explainq_jobs_completed_total", NULL, NULL, 1);
    xq_metrics_add(m, "explainq_instances_explained_total", method, NULL, (double)n);
    for (size_t i = 0; i < n; i++) {
        const xq_explanation_t *e = xq_run_explanation(runs[i]);

        for (size_t k = 0; e && k < e->attr_cnt; k++) {
            if (e->attrs[k].has_error)
                xq_metrics_observe(m, "explainq_approximation_error", method, NULL,
                                   e->attrs[k].approx_error);
        }
    }
}

void xq_obs_job_failed(xq_obs_t *o, const char *code) {
    xq_metrics_add(job_metrics(o), "explainq_jobs_failed_total", code, NULL, 1);
}

void xq_obs_dead_letter(xq_obs_t *o, const char *code) {
    xq_metrics_add(job_metrics(o), "explainq_dlq_messages_total", code, NULL, 1);
}

void xq_obs_rows_sent(xq_obs_t *o, const char *model, size_t rows) {
    xq_metrics_add(o->m, "explainq_model_rows_sent_total", model, NULL, (double)rows);
}

void xq_obs_reply(xq_obs_t *o, const char *model, size_t rows, long long ms) {
    xq_metrics_add(o->m, "explainq_model_rows_received_total", model, NULL, (double)rows);
    xq_metrics_observe(o->m, "explainq_inference_request_seconds", model, NULL, (double)ms / 1000);
    pthread_mutex_lock(&o->mu);
    o->runner_ok = true;
    pthread_mutex_unlock(&o->mu);
}

void xq_obs_request_timeout(xq_obs_t *o, const char *model) {
    (void)model;
    pthread_mutex_lock(&o->mu);
    o->runner_ok = false;
    pthread_mutex_unlock(&o->mu);
}

void xq_obs_baseline(xq_obs_t *o, size_t hits, size_t misses) {
    xq_metrics_add(o->m, "explainq_baseline_cache_hits_total", NULL, NULL, (double)hits);
    xq_metrics_add(o->m, "explainq_baseline_cache_misses_total", NULL, NULL, (double)misses);
}

void xq_obs_txn(xq_obs_t *o, bool committed) {
    xq_metrics_add(o->m,
                   committed ? "explainq_transaction_commits_total"
                             : "explainq_transaction_aborts_total",
                   NULL, NULL, 1);
    if (o->staged) {
        if (committed)
            xq_metrics_move(o->m, o->staged);
        else
            xq_metrics_zero(o->staged);
    }
    if (committed) {
        pthread_mutex_lock(&o->mu);
        o->broker_ok = true;
        pthread_mutex_unlock(&o->mu);
    }
}

void xq_obs_broker_error(xq_obs_t *o) {
    pthread_mutex_lock(&o->mu);
    o->broker_ok = false;
    pthread_mutex_unlock(&o->mu);
}

void xq_obs_kafka_error(xq_obs_t *o, int err) {
    if (err != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        return;
    pthread_mutex_lock(&o->mu);
    o->broker_ok = false;
    pthread_mutex_unlock(&o->mu);
}

static long long mono_ms(void) {
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Lag per held partition: the cached high watermark minus the position (both known). */
static int sample_partitions(xq_obs_t *o, rd_kafka_t *consumer) {
    rd_kafka_topic_partition_list_t *parts = NULL;
    int cnt;

    if (rd_kafka_assignment(consumer, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    cnt = parts->cnt;
    xq_metrics_clear(o->m, "explainq_consumer_lag");
    if (rd_kafka_position(consumer, parts) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < parts->cnt; i++) {
            const rd_kafka_topic_partition_t *p = &parts->elems[i];
            int64_t lo = -1, hi = -1;
            char pstr[16];

            if (rd_kafka_get_watermark_offsets(consumer, p->topic, p->partition, &lo, &hi) !=
                    RD_KAFKA_RESP_ERR_NO_ERROR ||
                hi < 0 || p->offset < 0)
                continue; /* nothing fetched yet: unknown, not 0 */
            snprintf(pstr, sizeof(pstr), "%d", (int)p->partition);
            xq_metrics_set(o->m, "explainq_consumer_lag", p->topic, pstr,
                           (double)(hi > p->offset ? hi - p->offset : 0));
        }
    }
    rd_kafka_topic_partition_list_destroy(parts);
    return cnt;
}

void xq_obs_tick(xq_obs_t *o, rd_kafka_t *consumer, size_t inflight_rows, uint64_t index_loads) {
    long long t = mono_ms();
    char why[128] = "";
    int assigned;

    if (t - o->last_tick_ms < 1000)
        return;
    o->last_tick_ms = t;
    xq_metrics_set(o->m, "explainq_rows_in_flight", NULL, NULL, (double)inflight_rows);
    if (index_loads > o->index_loads)
        xq_metrics_add(o->m, "explainq_example_index_loads_total", NULL, NULL,
                       (double)(index_loads - o->index_loads));
    o->index_loads = index_loads;
    assigned = sample_partitions(o, consumer);
    if (!o->broker_ok && t - o->last_probe_ms >= 5000) {
        const struct rd_kafka_metadata *md = NULL;

        /* unreachable: is any broker back? (only then, at most every 5 s: it blocks) */
        o->last_probe_ms = t;
        if (rd_kafka_metadata(consumer, 0, NULL, &md, 500) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            pthread_mutex_lock(&o->mu);
            o->broker_ok = true;
            pthread_mutex_unlock(&o->mu);
        }
        if (md)
            rd_kafka_metadata_destroy(md);
    }
    xq_metrics_set(o->m, "explainq_assigned_partitions", NULL, NULL, assigned);
    pthread_mutex_lock(&o->mu);
    if (!assigned)
        snprintf(why, sizeof(why), "no job partitions assigned");
    else if (!o->broker_ok)
        snprintf(why, sizeof(why), "brokers unreachable");
    else if (!o->runner_ok)
        snprintf(why, sizeof(why), "runners unreachable: an inference request went unanswered");
    pthread_mutex_unlock(&o->mu);
    xq_metrics_set_ready(o->m, !why[0], why);
}

void xq_obs_runner_request(xq_obs_t *o, bool ok, size_t rows, double seconds) {
    xq_metrics_add(o->m, "explainq_runner_requests_total", ok ? "ok" : "error", NULL, 1);
    xq_metrics_add(o->m, "explainq_runner_rows_total", NULL, NULL, (double)rows);
    xq_metrics_observe(o->m, "explainq_runner_eval_seconds", NULL, NULL, seconds);
}

void xq_obs_runner_assigned(xq_obs_t *o, int delta) {
    pthread_mutex_lock(&o->mu);
    o->assigned += delta;
    xq_metrics_set(o->m, "explainq_runner_assigned_partitions", NULL, NULL, o->assigned);
    pthread_mutex_unlock(&o->mu);
}
