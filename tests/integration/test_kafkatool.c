/*
 * test_kafkatool.c -- small Kafka chores for the worker's integration tests:
 *   produce TOPIC KEY FILE     one message with FILE's bytes (garbage jobs included)
 *   dlq TOPIC N TIMEOUT_S      waits for N dead letters; prints each error.code and
 *                              error.field header, the key, source.bytes and truncated;
 *                              exits 1 if fewer arrive
 *   count TOPIC IDLE_S         reads every committed message until none came for IDLE_S;
 *                              prints "KEY result|error:CODE parts=N" per result (a result
 *                              in N parts once, at part 0)
 *   bytes TOPIC IDLE_S         reads every message until none came for IDLE_S; prints
 *                              "MESSAGES VALUE_BYTES" (e.g. inference requests' sizes)
 *   create TOPIC PARTS K=V..   creates a topic with topic configs
 * Needs KAFKA_BOOTSTRAP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "kafka.h"
#include "log.h"
#include "mem.h"
#include "mp.h"

static rd_kafka_t *client(rd_kafka_type_t type) {
    char bs[512], errstr[512];
    const char *props[] = {bs, "group.id=explainq-test-tool", "enable.auto.commit=false",
                           "isolation.level=read_committed"};
    const char *pprops[] = {bs, "message.max.bytes=10000000"}; /* jobs over 1 MB, for topics
                                                                * that take them */
    rd_kafka_t *rk;

    snprintf(bs, sizeof(bs), "bootstrap.servers=%s", getenv("KAFKA_BOOTSTRAP"));
    if (!(rk = type == RD_KAFKA_PRODUCER
                   ? xq_kafka_new(type, pprops, 2, NULL, errstr, sizeof(errstr))
                   : xq_kafka_new(type, props, 4, NULL, errstr, sizeof(errstr)))) {
        fprintf(stderr, "%s\n", errstr);
        exit(2);
    }
    return rk;
}

static int produce(const char *topic, const char *key, const char *path) {
    rd_kafka_t *p = client(RD_KAFKA_PRODUCER);
    FILE *f = fopen(path, "rb");
    char chunk[4096];
    xq_buf_t b;
    size_t n;
    rd_kafka_resp_err_t e;

    if (!f)
        return 2;
    xq_buf_init(&b);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        xq_buf_append(&b, chunk, n);
    fclose(f);
    e = rd_kafka_producev(
        p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY((void *)(uintptr_t)key, strlen(key)),
        RD_KAFKA_V_VALUE(b.data, b.len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (e)
        fprintf(stderr, "produce: %s\n", rd_kafka_err2str(e));
    n = !e && rd_kafka_flush(p, 30000) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : 1;
    rd_kafka_destroy(p);
    xq_buf_fini(&b);
    return (int)n;
}

static int dlq(const char *topic, int want, int timeout_s) {
    rd_kafka_t *c = client(RD_KAFKA_CONSUMER);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(8);
    rd_kafka_topic_t *t = rd_kafka_topic_new(c, topic, NULL);
    time_t end = time(NULL) + timeout_s;
    int got = 0;

    while (time(NULL) < end && !(rd_kafka_metadata(c, 0, t, &md, 5000) == 0 && md->topic_cnt == 1 &&
                                 !md->topics[0].err)) {
        if (md)
            rd_kafka_metadata_destroy(md);
        md = NULL;
    }
    for (int i = 0; md && i < md->topics[0].partition_cnt; i++)
        rd_kafka_topic_partition_list_add(parts, topic, md->topics[0].partitions[i].id)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_assign(c, parts);
    while (got < want && time(NULL) < end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);
        rd_kafka_headers_t *h = NULL;
        const void *code = NULL, *field = NULL;
        size_t cl = 0, fl = 0;

        if (!m)
            continue;
        if (!m->err && !rd_kafka_message_headers(m, &h) &&
            !rd_kafka_header_get_last(h, "error.code", &code, &cl)) {
            const void *bytes = NULL, *trunc = NULL;
            size_t bl = 0, tl = 0;

            rd_kafka_header_get_last(h, "error.field", &field, &fl);
            rd_kafka_header_get_last(h, "source.bytes", &bytes, &bl);
            rd_kafka_header_get_last(h, "truncated", &trunc, &tl);
            printf("dlq %.*s %.*s key=%.*s bytes=%.*s value=%zu truncated=%.*s\n", (int)cl,
                   (const char *)code, (int)fl, field ? (const char *)field : "", (int)m->key_len,
                   m->key ? (const char *)m->key : "", (int)bl, bytes ? (const char *)bytes : "",
                   m->len, (int)tl, trunc ? (const char *)trunc : "no");
            got++;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_topic_destroy(t);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return got >= want ? 0 : 1;
}

/* Assigns every partition of @p topic from the beginning; false when it does not exist. */
static bool assign_all(rd_kafka_t *c, const char *topic) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(8);
    rd_kafka_topic_t *t = rd_kafka_topic_new(c, topic, NULL);
    bool ok =
        rd_kafka_metadata(c, 0, t, &md, 5000) == 0 && md->topic_cnt == 1 && !md->topics[0].err;

    for (int i = 0; ok && i < md->topics[0].partition_cnt; i++)
        rd_kafka_topic_partition_list_add(parts, topic, md->topics[0].partitions[i].id)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    if (md)
        rd_kafka_metadata_destroy(md);
    if (ok)
        rd_kafka_assign(c, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_topic_destroy(t);
    return ok;
}

static int count(const char *topic, int idle_s) {
    rd_kafka_t *c = client(RD_KAFKA_CONSUMER);
    time_t last = time(NULL);

    if (!assign_all(c, topic))
        return 1;
    while (time(NULL) - last < idle_s) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);
        msgpack_unpacked msg;
        const msgpack_object *part, *parts, *e, *code;

        if (!m)
            continue;
        last = time(NULL);
        msgpack_unpacked_init(&msg);
        if (!m->err && xq_mp_unpack_one(m->payload, m->len, &msg)) {
            part = xq_mp_map_get(&msg.data, "part");
            e = xq_mp_map_get(&msg.data, "error");
            code = e ? xq_mp_map_get(e, "code") : NULL;
            parts = xq_mp_map_get(&msg.data, "parts");
            if (!part || (part->type == MSGPACK_OBJECT_POSITIVE_INTEGER && part->via.u64 == 0))
                printf("%.*s %s%.*s parts=%llu\n", (int)m->key_len,
                       m->key ? (const char *)m->key : "", e ? "error:" : "result",
                       code ? (int)code->via.str.size : 0, code ? code->via.str.ptr : "",
                       parts && parts->type == MSGPACK_OBJECT_POSITIVE_INTEGER
                           ? (unsigned long long)parts->via.u64
                           : 1ull);
        }
        msgpack_unpacked_destroy(&msg);
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return 0;
}

static int bytes(const char *topic, int idle_s) {
    rd_kafka_t *c = client(RD_KAFKA_CONSUMER);
    time_t last = time(NULL);
    unsigned long long n = 0, sum = 0;

    if (!assign_all(c, topic))
        return 1;
    while (time(NULL) - last < idle_s) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);

        if (!m)
            continue;
        last = time(NULL);
        if (!m->err) {
            n++;
            sum += m->len;
        }
        rd_kafka_message_destroy(m);
    }
    printf("%llu %llu\n", n, sum);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return 0;
}

static int create(const char *topic, int partitions, char **kv, int kv_cnt) {
    rd_kafka_t *p = client(RD_KAFKA_PRODUCER);
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, 1, NULL, 0);
    rd_kafka_queue_t *q = rd_kafka_queue_new(p);
    rd_kafka_event_t *ev;
    int rc = 1;

    for (int i = 0; i < kv_cnt; i++) {
        char *eq = strchr(kv[i], '=');

        if (!eq)
            return 2;
        *eq = '\0';
        rd_kafka_NewTopic_set_config(nt, kv[i], eq + 1);
    }
    rd_kafka_CreateTopics(p, &nt, 1, NULL, q);
    if ((ev = rd_kafka_queue_poll(q, 30000))) {
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
        size_t n = 0;
        const rd_kafka_topic_result_t **tr =
            res ? rd_kafka_CreateTopics_result_topics(res, &n) : NULL;

        rc = rd_kafka_event_error(ev) || !n || rd_kafka_topic_result_error(tr[0]) ? 1 : 0;
        if (rc)
            fprintf(stderr, "create %s: %s\n", topic,
                    n ? rd_kafka_topic_result_error_string(tr[0])
                      : rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(p);
    return rc;
}

int main(int argc, char **argv) {
    xq_log_set_level(XQ_LOG_ERROR);
    if (!getenv("KAFKA_BOOTSTRAP"))
        return 2;
    if (argc == 5 && !strcmp(argv[1], "produce"))
        return produce(argv[2], argv[3], argv[4]);
    if (argc == 5 && !strcmp(argv[1], "dlq"))
        return dlq(argv[2], atoi(argv[3]), atoi(argv[4]));
    if (argc == 4 && !strcmp(argv[1], "count"))
        return count(argv[2], atoi(argv[3]));
    if (argc == 4 && !strcmp(argv[1], "bytes"))
        return bytes(argv[2], atoi(argv[3]));
    if (argc >= 4 && !strcmp(argv[1], "create"))
        return create(argv[2], atoi(argv[3]), argv + 4, argc - 4);
    fprintf(stderr, "usage: test_kafkatool produce TOPIC KEY FILE | dlq TOPIC N TIMEOUT\n");
    return 2;
}
