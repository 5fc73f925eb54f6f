/*
 * test_services.c -- proves the real services work with explainq's clients:
 * specs round-trip through the real Redis (cache by id, unknown id, corrupt
 * entry, Redis down) and through the real Kafka broker (idempotent produce,
 * consumer group, committed offsets, read_committed hiding an aborted
 * transaction). Needs KAFKA_BOOTSTRAP and REDIS_URL; run by 0002-services.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "err.h"
#include "itest.h"
#include "kafka.h"
#include "log.h"
#include "mem.h"
#include "redis.h"
#include "spec.h"

static int failures;


static const char *const spec_files[] = {
    "tests/data/specs/shapley_tabular.json",
    "tests/data/specs/ig_smoothgrad.json",
    "tests/data/specs/xrai_blur.json",
    "tests/data/specs/examples_presets.json",
};
#define SPEC_CNT (sizeof(spec_files) / sizeof(spec_files[0]))

static xq_spec_t *load_spec(const char *path) {
    xq_spec_t *spec = NULL;
    xq_errlist_t errs;
    xq_buf_t b;
    FILE *f = fopen(path, "rb");
    char chunk[4096];
    size_t n;

    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(1);
    }
    xq_buf_init(&b);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        xq_buf_append(&b, chunk, n);
    fclose(f);
    xq_errlist_init(&errs);
    if (xq_spec_parse_json((const char *)b.data, b.len, &spec, &errs) != XQ_OK) {
        fprintf(stderr, "%s: %s: %s\n", path, errs.items[0].field, errs.items[0].msg);
        exit(1);
    }
    xq_errlist_fini(&errs);
    xq_buf_fini(&b);
    return spec;
}

static long long now_ms(void) {
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ==== Redis ==== */

static void test_redis(const char *url, xq_spec_t **specs) {
    xq_error_t err;
    xq_redis_t *r = xq_redis_new(url, 2000, &err);
    xq_spec_t *got = NULL;
    char key[128];

    CHECK(r != NULL, "%s", err.msg);
    if (!r)
        return;
    CHECK(xq_redis_ping(r, &err) == XQ_OK, "%s", err.msg);
    for (size_t i = 0; i < SPEC_CNT; i++) {
        CHECK(xq_redis_put_spec(r, specs[i], &err) == XQ_OK, "%s", err.msg);
        got = NULL;
        CHECK(xq_redis_get_spec(r, specs[i]->id, &got, &err) == XQ_OK, "%s", err.msg);
        if (got) {
            CHECK(strcmp(got->id, specs[i]->id) == 0, "id %s != %s", got->id, specs[i]->id);
            CHECK(got->canonical_len == specs[i]->canonical_len &&
                      memcmp(got->canonical, specs[i]->canonical, got->canonical_len) == 0,
                  "canonical bytes differ for %s", spec_files[i]);
            CHECK(got->params.method == specs[i]->params.method, "method differs");
            xq_spec_destroy(got);
        }
    }

    /* an id nobody stored */
    got = NULL;
    CHECK(xq_redis_get_spec(r, "0000000000000000000000000000000000000000000000000000000000000000",
                            &got, &err) == XQ_ENOTFOUND,
          "unknown id: %s", err.msg);
    CHECK(strcmp(err.field, "specId") == 0, "field %s", err.field);

    /* a corrupt cache entry is caught by re-validation, not trusted */
    snprintf(key, sizeof(key), "%s%s", XQ_REDIS_SPEC_PREFIX, specs[0]->id);
    CHECK(xq_redis_set(r, key, specs[1]->canonical, specs[1]->canonical_len, 60000, &err) == XQ_OK,
          "%s", err.msg);
    CHECK(xq_redis_get_spec(r, specs[0]->id, &got, &err) == XQ_ESPEC, "swapped entry accepted");
    CHECK(xq_redis_set(r, key, (const uint8_t *)"\xc1garbage", 8, 60000, &err) == XQ_OK, "%s",
          err.msg);
    CHECK(xq_redis_get_spec(r, specs[0]->id, &got, &err) == XQ_ESPEC, "garbage accepted");
    CHECK(xq_redis_del(r, key, &err) == XQ_OK, "%s", err.msg);
    xq_redis_destroy(r);
    printf("redis: %zu specs round-tripped through %s\n", SPEC_CNT, url);
}

/* HSET with a TTL, waited for or not: fields land, the TTL holds, replies stay in order. */
static void test_redis_hash(const char *url) {
    const char *fields[] = {"state", "done"};
    const char *values[] = {"running", "0"};
    xq_error_t err;
    xq_redis_t *r = xq_redis_new(url, 2000, &err);
    xq_buf_t out;
    char key[64], v[32];

    CHECK(r != NULL, "%s", err.msg);
    if (!r)
        return;
    xq_buf_init(&out);
    CHECK(xq_redis_hset(r, "xq:test:h0", fields, values, 2, 60000, &err) == XQ_OK, "%s", err.msg);
    CHECK(xq_redis_hgetall(r, "xq:test:h0", &out, &err) == XQ_OK, "%s", err.msg);
    CHECK(strstr(xq_buf_cstr(&out), "state=running") && strstr(xq_buf_cstr(&out), "done=0"),
          "hgetall: %s", xq_buf_cstr(&out));
    /* past the 256 replies owed that force a read: every one lands, in order */
    CHECK(xq_redis_set(r, "xq:test:s", (const uint8_t *)"plain", 5, 60000, &err) == XQ_OK, "%s",
          err.msg);
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof(key), "xq:test:h%d", i % 7);
        snprintf(v, sizeof(v), "%d", i);
        values[1] = v;
        xq_redis_hset_nowait(r, key, fields, values, 2, 60000);
    }
    /* the next command's reply is its own, not an HSET's */
    CHECK(xq_redis_get(r, "xq:test:s", &out, &err) == XQ_OK && out.len == 5 &&
              memcmp(out.data, "plain", 5) == 0,
          "get after hset_nowait: %s", err.msg);
    CHECK(xq_redis_hgetall(r, "xq:test:h5", &out, &err) == XQ_OK, "%s", err.msg);
    CHECK(strstr(xq_buf_cstr(&out), "done=299"), "last write lost: %s", xq_buf_cstr(&out));
    /* the TTL went with it: a short one expires the hash */
    xq_redis_hset_nowait(r, "xq:test:ttl", fields, values, 2, 200);
    CHECK(xq_redis_hset(r, "xq:test:ttl2", fields, values, 2, 200, &err) == XQ_OK, "%s", err.msg);
    nanosleep(&(struct timespec){0, 400 * 1000 * 1000}, NULL);
    CHECK(xq_redis_hgetall(r, "xq:test:ttl", &out, &err) == XQ_ENOTFOUND, "nowait TTL not set");
    CHECK(xq_redis_hgetall(r, "xq:test:ttl2", &out, &err) == XQ_ENOTFOUND, "TTL not set");
    for (int i = 0; i < 7; i++) {
        snprintf(key, sizeof(key), "xq:test:h%d", i);
        xq_redis_del(r, key, &err);
    }
    xq_redis_del(r, "xq:test:s", &err);
    xq_buf_fini(&out);
    xq_redis_destroy(r);
    printf("redis: hashes with TTLs, waited for and not, in order\n");
}

static void test_redis_down(void) {
    xq_error_t err;
    /* port 1 on loopback: nothing listens there, the connect is refused at once */
    xq_redis_t *r = xq_redis_new("127.0.0.1:1", 500, &err);
    long long t0;

    CHECK(xq_redis_ping(r, &err) == XQ_EREDIS, "ping to a closed port succeeded");
    t0 = now_ms();
    CHECK(xq_redis_ping(r, &err) == XQ_EREDIS, "second ping succeeded");
    CHECK(strstr(err.msg, "unavailable") != NULL, "no fail-fast during backoff: %s", err.msg);
    CHECK(now_ms() - t0 < 50, "fail-fast took %lld ms", now_ms() - t0);
    xq_redis_destroy(r);
    printf("redis: a server that is down gives XQ_EREDIS and fails fast while backing off\n");
}

/* ==== Kafka ==== */

static int delivered, delivery_failed;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque) {
    (void)rk;
    (void)opaque;
    if (rkm->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE) {
        /* an aborted transaction purges its messages: expected in the txn test */
    } else if (rkm->err) {
        fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(rkm->err));
        delivery_failed++;
    } else {
        delivered++;
    }
}

static rd_kafka_t *producer(const char *bootstrap, const char *extra) {
    char errstr[512], bs[512];
    const char *props[] = {bs, "enable.idempotence=true", "linger.ms=5", extra};
    rd_kafka_t *rk;

    snprintf(bs, sizeof(bs), "bootstrap.servers=%s", bootstrap);
    const xq_kafka_cbs_t cbs = {.dr_msg_cb = dr_cb};

    rk = xq_kafka_new(RD_KAFKA_PRODUCER, props, extra ? 4 : 3, &cbs, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "producer: %s\n", errstr);
        exit(1);
    }
    return rk;
}

static rd_kafka_t *consumer(const char *bootstrap, const char *group, const char *topic) {
    char errstr[512], bs[512], gid[256];
    const char *props[] = {bs,
                           gid,
                           "auto.offset.reset=earliest",
                           "enable.auto.commit=false",
                           "isolation.level=read_committed",
                           "partition.assignment.strategy=cooperative-sticky",
                           "session.timeout.ms=6000",
                           "heartbeat.interval.ms=500"};
    rd_kafka_topic_partition_list_t *subs;
    rd_kafka_t *rk;

    snprintf(bs, sizeof(bs), "bootstrap.servers=%s", bootstrap);
    snprintf(gid, sizeof(gid), "group.id=%s", group);
    rk = xq_kafka_new(RD_KAFKA_CONSUMER, props, sizeof(props) / sizeof(props[0]), NULL, errstr,
                      sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "consumer: %s\n", errstr);
        exit(1);
    }
    rd_kafka_poll_set_consumer(rk);
    subs = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(subs, topic, RD_KAFKA_PARTITION_UA);
    CHECK(rd_kafka_subscribe(rk, subs) == RD_KAFKA_RESP_ERR_NO_ERROR, "subscribe");
    rd_kafka_topic_partition_list_destroy(subs);
    return rk;
}

static void test_kafka_specs(const char *bootstrap, xq_spec_t **specs) {
    enum {
        N = 200
    };

    char topic[128], group[128];
    rd_kafka_t *p, *c;
    int seen = 0, bad = 0;
    long long deadline;

    snprintf(topic, sizeof(topic), "explainq_test_%d_specs", (int)getpid());
    snprintf(group, sizeof(group), "explainq_test_%d_group", (int)getpid());

    p = producer(bootstrap, NULL);
    for (int i = 0; i < N; i++) {
        xq_spec_t *s = specs[i % SPEC_CNT];
        rd_kafka_resp_err_t e;

        e = rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(s->id, XQ_SPEC_ID_LEN),
                              RD_KAFKA_V_VALUE(s->canonical, s->canonical_len),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        CHECK(e == RD_KAFKA_RESP_ERR_NO_ERROR, "produce: %s", rd_kafka_err2str(e));
        rd_kafka_poll(p, 0);
    }
    CHECK(rd_kafka_flush(p, 30000) == RD_KAFKA_RESP_ERR_NO_ERROR, "flush timed out");
    rd_kafka_destroy(p);
    CHECK(delivered == N && delivery_failed == 0, "delivered %d of %d", delivered, N);

    c = consumer(bootstrap, group, topic);
    deadline = now_ms() + 60000;
    while (seen < N && now_ms() < deadline) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(c, 100);
        xq_spec_t *s = NULL;
        xq_errlist_t errs;

        if (!rkm)
            continue;
        if (rkm->err) {
            fprintf(stderr, "consumer: %s\n", rd_kafka_message_errstr(rkm));
            rd_kafka_message_destroy(rkm);
            continue;
        }
        xq_errlist_init(&errs);
        if (xq_spec_parse(rkm->payload, rkm->len, &s, &errs) != XQ_OK ||
            rkm->key_len != XQ_SPEC_ID_LEN || memcmp(rkm->key, s->id, XQ_SPEC_ID_LEN) != 0)
            bad++;
        xq_spec_destroy(s);
        xq_errlist_fini(&errs);
        rd_kafka_message_destroy(rkm);
        seen++;
    }
    CHECK(seen == N, "consumed %d of %d", seen, N);
    CHECK(bad == 0, "%d messages did not parse back to the spec their key names", bad);
    CHECK(rd_kafka_commit(c, NULL, 0) == RD_KAFKA_RESP_ERR_NO_ERROR, "commit");
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);

    /* the group's committed offsets are in the broker: a new member reads them back */
    c = consumer(bootstrap, group, topic);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(3);
    long long total = 0;

    for (int i = 0; i < 3; i++) /* kafka-up.sh: num.partitions=3 */
        rd_kafka_topic_partition_list_add(parts, topic, i);
    CHECK(rd_kafka_committed(c, parts, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR, "committed()");
    for (int i = 0; i < parts->cnt; i++)
        total += parts->elems[i].offset > 0 ? parts->elems[i].offset : 0;
    CHECK(total == N, "committed offsets add up to %lld, not %d", total, N);
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    printf("kafka: %d specs produced (idempotent), consumed in a group and committed on %s\n", N,
           bootstrap);
}

/* read_committed must hide an aborted transaction: the librdkafka mock cannot show this. */
static void test_kafka_transactions(const char *bootstrap) {
    char topic[128], group[128], txn_id[160];
    rd_kafka_error_t *error;
    rd_kafka_t *p, *c;
    bool saw_committed = false, saw_aborted = false;
    long long deadline;

    snprintf(topic, sizeof(topic), "explainq_test_%d_txn", (int)getpid());
    snprintf(group, sizeof(group), "explainq_test_%d_txn_group", (int)getpid());
    snprintf(txn_id, sizeof(txn_id), "transactional.id=explainq-test-%d", (int)getpid());
    p = producer(bootstrap, txn_id);
    error = rd_kafka_init_transactions(p, 30000);
    CHECK(!error, "init_transactions: %s", error ? rd_kafka_error_string(error) : "");
    if (error) {
        rd_kafka_error_destroy(error);
        rd_kafka_destroy(p);
        return;
    }
    for (int round = 0; round < 2; round++) {
        char val[16];

        snprintf(val, sizeof(val), "%s", round == 0 ? "aborted" : "committed");

        error = rd_kafka_begin_transaction(p);
        CHECK(!error, "begin: %s", error ? rd_kafka_error_string(error) : "");
        CHECK(rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE(val, strlen(val)),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR_NO_ERROR,
              "produce %s", val);
        error = round == 0 ? rd_kafka_abort_transaction(p, 30000)
                           : rd_kafka_commit_transaction(p, 30000);
        CHECK(!error, "end %s: %s", val, error ? rd_kafka_error_string(error) : "");
        if (error)
            rd_kafka_error_destroy(error);
    }
    rd_kafka_destroy(p);

    c = consumer(bootstrap, group, topic);
    deadline = now_ms() + 60000;
    while (!saw_committed && now_ms() < deadline) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(c, 100);

        if (!rkm)
            continue;
        if (!rkm->err) {
            saw_committed |= rkm->len == 9 && memcmp(rkm->payload, "committed", 9) == 0;
            saw_aborted |= rkm->len == 7 && memcmp(rkm->payload, "aborted", 7) == 0;
        }
        rd_kafka_message_destroy(rkm);
    }
    CHECK(saw_committed, "committed message not seen");
    CHECK(!saw_aborted, "read_committed consumer saw an aborted message");
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    printf("kafka: read_committed hides an aborted transaction and shows a committed one\n");
}

int main(void) {
    const char *bootstrap = getenv("KAFKA_BOOTSTRAP");
    const char *redis_url = getenv("REDIS_URL");
    xq_spec_t *specs[SPEC_CNT];

    if (!bootstrap || !redis_url) {
        fprintf(stderr, "test_services: KAFKA_BOOTSTRAP and REDIS_URL must be set\n");
        return 2;
    }
    xq_log_set_level(XQ_LOG_WARN);
    for (size_t i = 0; i < SPEC_CNT; i++)
        specs[i] = load_spec(spec_files[i]);
    test_redis(redis_url, specs);
    test_redis_hash(redis_url);
    test_redis_down();
    test_kafka_specs(bootstrap, specs);
    test_kafka_transactions(bootstrap);
    for (size_t i = 0; i < SPEC_CNT; i++)
        xq_spec_destroy(specs[i]);
    if (failures)
        fprintf(stderr, "test_services: %d checks failed\n", failures);
    return failures ? 1 : 0;
}
