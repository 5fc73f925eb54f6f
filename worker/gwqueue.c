/* gwqueue.c -- the gateway's jobs on Kafka (see gwqueue.h). */
#include "gwqueue.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kafka.h"
#include "log.h"
#include "mem.h"
#include "mp.h"
#include "names.h"
#include "parts.h"
#include "redis.h"

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

    nanosleep(&ts, NULL);
}

/* ==== Requests waiting for their results ==== */

struct xq_gwq_ticket {
    char id[XQ_JOB_ID_SIZE];
    pthread_cond_t cv;
    bool delivered, done;
    rd_kafka_resp_err_t derr;
    xq_buf_t result; /* the result message, msgpack */
    int pub_status;  /* publishing failed: 503 */
    char pub_msg[300];
    struct xq_gwq_ticket *next;
};
typedef struct xq_gwq_ticket pending_t;

struct xq_gwq {
    rd_kafka_t *prod, *cons;
    xq_redis_t *redis; /* NULL without; tells 503 (no worker took the job) from 504 */
    pthread_mutex_t mu, rmu;
    pending_t *pending;
    pthread_t prod_thr, cons_thr;
    bool threads;
    atomic_bool run;
    xq_parts_t *reasm; /* the consumer thread's */
    char jobs_topic[256], result_topic[256];
    int result_partitions;
    long timeout_ms;
};
typedef struct xq_gwq gateway_t;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    gateway_t *g = opaque;
    pending_t *p = m->_private;

    (void)rk;
    if (!p)
        return;
    pthread_mutex_lock(&g->mu);
    p->delivered = true;
    p->derr = m->err;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&g->mu);
}

static void *producer_loop(void *arg) {
    gateway_t *g = arg;

    while (atomic_load(&g->run))
        rd_kafka_poll(g->prod, 100);
    return NULL;
}

/* Hands a result (whole) to the request waiting for it, if any. */
static void deliver(gateway_t *g, const char *id, size_t id_len, const uint8_t *v, size_t len) {
    pthread_mutex_lock(&g->mu);
    for (pending_t *p = g->pending; p; p = p->next) {
        if (strlen(p->id) == id_len && !memcmp(p->id, id, id_len) && !p->done) {
            xq_buf_append(&p->result, v, len);
            p->done = true;
            pthread_cond_broadcast(&p->cv);
            break;
        }
    }
    pthread_mutex_unlock(&g->mu);
}

static void *consumer_loop(void *arg) {
    gateway_t *g = arg;

    while (atomic_load(&g->run)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(g->cons, 100);
        msgpack_unpacked u;
        const uint8_t *whole;
        size_t whole_len;
        xq_error_t err;

        if (!m)
            continue;
        if (m->err || !m->key) {
            if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                xq_log(XQ_LOG_WARN, "gateway", "results: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        msgpack_unpacked_init(&u);
        if (xq_mp_unpack_one(m->payload, m->len, &u) && xq_parts_is_part(&u.data)) {
            if (xq_parts_add(g->reasm, &u.data, &whole, &whole_len, &err) == XQ_OK && whole)
                deliver(g, m->key, m->key_len, whole, whole_len);
        } else {
            deliver(g, m->key, m->key_len, m->payload, m->len);
        }
        msgpack_unpacked_destroy(&u);
        rd_kafka_message_destroy(m);
    }
    return NULL;
}

/* Assigns every partition of the result topic from its end (creating the topic if needed). */
static xq_err_t open_results(gateway_t *g, xq_error_t *err) {
    const char *topic = g->result_topic;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_partition_list_t *parts;
    rd_kafka_topic_t *rkt;
    char errstr[512];
    int cnt = 0;

    if (xq_kafka_create_topics(g->prod, &topic, 1, g->result_partitions, 10000, errstr,
                               sizeof(errstr)) != XQ_OK)
        return xq_error_set(err, XQ_EKAFKA, "resultTopic", "%s: %s", topic, errstr);
    rkt = rd_kafka_topic_new(g->cons, topic, NULL);
    for (int tries = 0; tries < 50 && cnt <= 0; tries++) {
        if (rd_kafka_metadata(g->cons, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            md->topic_cnt == 1 && !md->topics[0].err)
            cnt = md->topics[0].partition_cnt;
        if (md)
            rd_kafka_metadata_destroy(md);
        md = NULL;
        if (cnt <= 0)
            sleep_ms(100);
    }
    rd_kafka_topic_destroy(rkt);
    if (cnt <= 0)
        return xq_error_set(err, XQ_EKAFKA, "resultTopic", "no partitions of %s", topic);
    parts = rd_kafka_topic_partition_list_new(cnt);
    for (int p = 0; p < cnt; p++) {
        int64_t lo, hi;
        rd_kafka_resp_err_t e;

        /* a topic just created has no leaders for a moment */
        for (int tries = 0; tries < 100; tries++) {
            if (!(e = rd_kafka_query_watermark_offsets(g->cons, topic, p, &lo, &hi, 5000)))
                break;
            sleep_ms(100);
        }

        if (e) {
            rd_kafka_topic_partition_list_destroy(parts);
            return xq_error_set(err, XQ_EKAFKA, "resultTopic", "%s [%d]: %s", topic, p,
                                rd_kafka_err2str(e));
        }
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = hi;
    }
    rd_kafka_assign(g->cons, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    return XQ_OK;
}

xq_gwq_ticket_t *xq_gwq_publish(xq_gwq_t *g, const xq_job_view_t *v) {
    pending_t *p = xq_calloc(1, sizeof(*p));
    pthread_condattr_t ca;
    rd_kafka_resp_err_t e;
    xq_buf_t job;

    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    xq_buf_init(&p->result);
    snprintf(p->id, sizeof(p->id), "%s", v->id);
    xq_buf_init(&job);
    xq_job_pack(v, &job);
    pthread_mutex_lock(&g->mu);
    p->next = g->pending;
    g->pending = p;
    pthread_mutex_unlock(&g->mu);
    e = rd_kafka_producev(g->prod, RD_KAFKA_V_TOPIC(g->jobs_topic),
                          RD_KAFKA_V_KEY(p->id, strlen(p->id)), RD_KAFKA_V_VALUE(job.data, job.len),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(p),
                          RD_KAFKA_V_END);
    xq_buf_fini(&job);
    if (e) {
        pthread_mutex_lock(&g->mu);
        p->delivered = true; /* nothing will report on it */
        p->derr = e;
        pthread_mutex_unlock(&g->mu);
    }
    return p;
}

/* After a deadline: did any worker take job @p id? (Redis progress; unknown without Redis.) */
static int timeout_status(gateway_t *g, const char *id, char *msg, size_t msg_size) {
    char key[XQ_JOB_ID_SIZE + 16];
    xq_error_t err;
    xq_buf_t h;
    int status = 504;

    xq_buf_init(&h);
    xq_key_job(key, sizeof(key), id);
    pthread_mutex_lock(&g->rmu);
    if (g->redis && xq_redis_hgetall(g->redis, key, &h, &err) == XQ_ENOTFOUND) {
        snprintf(msg, msg_size,
                 "no worker took job %s in time: are explainq workers running on the jobs topic?",
                 id);
        status = 503;
    } else {
        snprintf(msg, msg_size, "job %s: no result in time (the request's deadline passed)", id);
    }
    pthread_mutex_unlock(&g->rmu);
    xq_buf_fini(&h);
    return status;
}

int xq_gwq_wait(xq_gwq_t *g,
                xq_gwq_ticket_t *p,
                long long deadline,
                xq_buf_t *result,
                char *msg,
                size_t msg_size) {
    struct timespec ts;
    int status = 0;

    pthread_mutex_lock(&g->mu);
    /* the delivery report always comes (message.timeout.ms bounds it): p must outlive it */
    while (!p->delivered)
        pthread_cond_wait(&p->cv, &g->mu);
    if (p->derr) {
        snprintf(msg, msg_size, "the job could not be queued: %s", rd_kafka_err2str(p->derr));
        status = 503;
    }
    while (!status && !p->done) {
        ts.tv_sec = deadline / 1000;
        ts.tv_nsec = (deadline % 1000) * 1000000;
        if (pthread_cond_timedwait(&p->cv, &g->mu, &ts) == ETIMEDOUT && !p->done)
            status = 504;
    }
    for (pending_t **pp = &g->pending; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    }
    pthread_mutex_unlock(&g->mu);
    if (status == 504)
        status = timeout_status(g, p->id, msg, msg_size);
    if (!status)
        xq_buf_append(result, p->result.data, p->result.len);
    pthread_cond_destroy(&p->cv);
    xq_buf_fini(&p->result);
    xq_free(p);
    return status;
}

xq_gwq_t *xq_gwq_new(const xq_gwq_opts_t *o, xq_error_t *err) {
    gateway_t *g = xq_calloc(1, sizeof(*g));
    const char *pp[80], *cp[80];
    char mto[64], errstr[512];
    size_t np = 0, nc = 0;
    xq_kafka_cbs_t cbs = {.dr_msg_cb = on_delivery, .opaque = g};

    pthread_mutex_init(&g->mu, NULL);
    pthread_mutex_init(&g->rmu, NULL);
    snprintf(g->jobs_topic, sizeof(g->jobs_topic), "%s", o->jobs_topic);
    snprintf(g->result_topic, sizeof(g->result_topic), "%s", o->result_topic);
    g->result_partitions = o->result_partitions;
    g->timeout_ms = o->timeout_ms;
    if (o->redis && o->redis[0] && !(g->redis = xq_redis_new(o->redis, 2000, err)))
        xq_log(XQ_LOG_WARN, "gateway", "redis %s: %s", o->redis, err->msg);
    snprintf(mto, sizeof(mto), "message.timeout.ms=%ld", o->timeout_ms);
    pp[np++] = "enable.idempotence=true";
    pp[np++] = "linger.ms=0";
    pp[np++] = mto;
    cp[nc++] = "isolation.level=read_committed";
    cp[nc++] = "enable.auto.commit=false";
    cp[nc++] = "group.id=" XQ_GROUP_GATEWAY; /* assigned, never subscribed: no group joins */
    cp[nc++] = "fetch.wait.max.ms=5";
    for (size_t i = 0; i < o->prop_cnt && np < 80 && nc < 80; i++)
        pp[np++] = cp[nc++] = o->props[i];
    if (!(g->prod = xq_kafka_new(RD_KAFKA_PRODUCER, pp, np, &cbs, errstr, sizeof(errstr))) ||
        !(g->cons = xq_kafka_new(RD_KAFKA_CONSUMER, cp, nc, NULL, errstr, sizeof(errstr)))) {
        xq_error_set(err, XQ_EKAFKA, "kafka", "%s", errstr);
        goto fail;
    }
    g->reasm = xq_parts_new(256u << 20);
    atomic_store(&g->run, true);
    if (pthread_create(&g->prod_thr, NULL, producer_loop, g)) {
        xq_error_set(err, XQ_EINVAL, "", "cannot start a thread");
        goto fail;
    }
    if (pthread_create(&g->cons_thr, NULL, consumer_loop, g)) {
        atomic_store(&g->run, false);
        pthread_join(g->prod_thr, NULL);
        xq_error_set(err, XQ_EINVAL, "", "cannot start a thread");
        goto fail;
    }
    g->threads = true;
    if (open_results(g, err) != XQ_OK)
        goto fail;
    return g;
fail:
    xq_gwq_destroy(g);
    return NULL;
}

void xq_gwq_destroy(xq_gwq_t *g) {
    if (!g)
        return;
    atomic_store(&g->run, false);
    if (g->threads) {
        pthread_join(g->prod_thr, NULL);
        pthread_join(g->cons_thr, NULL);
    }
    if (g->prod) {
        rd_kafka_flush(g->prod, 5000);
        rd_kafka_destroy(g->prod);
    }
    if (g->cons) {
        rd_kafka_consumer_close(g->cons);
        rd_kafka_destroy(g->cons);
    }
    xq_parts_destroy(g->reasm);
    xq_redis_destroy(g->redis);
    pthread_mutex_destroy(&g->mu);
    pthread_mutex_destroy(&g->rmu);
    xq_free(g);
}
