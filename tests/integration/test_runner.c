/*
 * test_runner.c -- drives `explainq runner` over the real broker: sends
 * inference requests (forward and gradient, many batch sizes, and malformed
 * ones) to explain.infer.$NAME and checks that every one gets its reply, that
 * outputs and gradients equal the same model evaluated in-process, and that
 * the malformed ones get error replies naming the field. Needs
 * KAFKA_BOOTSTRAP, MODEL and NAME; run by 0004-runners.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <msgpack.h>

#include "codec.h"
#include "itest.h"
#include "kafka.h"
#include "log.h"
#include "mem.h"
#include "models/load.h"
#include "mp.h"

#define N_GOOD 40
#define N_BAD  4

static int failures;

typedef struct sent {
    char id[32];
    size_t rows;
    float *x;
    int32_t *gi; /* NULL: forward only */
    int seen;
    bool bad;
    const char *want_field; /* for bad ones */
} sent_t;

static long long now_ms(void) {
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void produce(rd_kafka_t *p,
                    const char *topic,
                    const char *key,
                    const void *val,
                    size_t len,
                    const char *reply_topic,
                    bool headers) {
    rd_kafka_headers_t *h = rd_kafka_headers_new(2);
    rd_kafka_resp_err_t e;

    if (headers) {
        rd_kafka_header_add(h, "reply.topic", -1, reply_topic, -1);
        rd_kafka_header_add(h, "reply.partition", -1, "0", -1);
    }
    e = rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                          RD_KAFKA_V_VALUE((void *)(uintptr_t)val, len),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
                          RD_KAFKA_V_END);
    CHECK(e == RD_KAFKA_RESP_ERR_NO_ERROR, "produce: %s", rd_kafka_err2str(e));
    if (e)
        rd_kafka_headers_destroy(h);
}

/* Compares a reply tensor's bytes with what the in-process model computes. */
static void check_reply(xq_model_t *m, sent_t *s, const msgpack_object *reply) {
    const xq_tensor_desc_t *in = xq_model_input(m, 0), *od = xq_model_output(m);
    const msgpack_object *outs = xq_mp_map_get(reply, "outputs"),
                         *grads = xq_mp_map_get(reply, "grads");
    float *y = xq_calloc(s->rows * od->elem_cnt, sizeof(float));
    float *g = xq_calloc(s->rows * in->elem_cnt, sizeof(float));
    const char *names[] = {in->name};
    size_t elem[] = {in->elem_cnt};
    const float *data[] = {s->x};
    float *gouts[] = {g};
    xq_batch_t b = {.rows = s->rows,
                    .tensor_cnt = 1,
                    .names = names,
                    .elem_cnt = elem,
                    .data = data,
                    .grad = s->gi != NULL,
                    .grad_index = s->gi,
                    .out_cnt = od->elem_cnt,
                    .out = y,
                    .grad_out = gouts};
    xq_error_t err;
    xq_tensor_t t;

    CHECK(xq_model_eval(m, &b, &err) == XQ_OK, "in-process: %s", err.msg);
    CHECK(outs && outs->via.map.size == 1, "%s: no outputs", s->id);
    if (!outs || outs->via.map.size != 1)
        goto out;
    CHECK(xq_tensor_decode(&outs->via.map.ptr[0].val, "out", 0, &t, &err) == XQ_OK, "%s", err.msg);
    CHECK(t.cnt == s->rows * od->elem_cnt && !memcmp(t.data, y, t.cnt * sizeof(float)),
          "%s: outputs differ from in-process", s->id);
    xq_tensor_fini(&t);
    CHECK((grads != NULL) == (s->gi != NULL), "%s: gradients %s", s->id,
          grads ? "not asked for" : "missing");
    if (grads && s->gi) {
        CHECK(xq_tensor_decode(&grads->via.map.ptr[0].val, "grad", 0, &t, &err) == XQ_OK, "%s",
              err.msg);
        CHECK(t.cnt == s->rows * in->elem_cnt && !memcmp(t.data, g, t.cnt * sizeof(float)),
              "%s: gradients differ from in-process", s->id);
        xq_tensor_fini(&t);
    }
out:
    xq_free(y);
    xq_free(g);
}

int main(void) {
    const char *bootstrap = getenv("KAFKA_BOOTSTRAP"), *model = getenv("MODEL"),
               *name = getenv("NAME");
    char topic[256], reply_topic[128], bs[512], errstr[512];
    sent_t sent[N_GOOD + N_BAD];
    xq_model_t *m = NULL;
    rd_kafka_t *p, *c;
    xq_error_t err;
    size_t E;
    int got = 0;
    long long deadline;

    if (!bootstrap || !model || !name)
        return 2;
    xq_log_set_level(XQ_LOG_WARN);
    if (xq_model_load(model, NULL, &m, &err) != XQ_OK) {
        fprintf(stderr, "%s: %s\n", model, err.msg);
        return 1;
    }
    E = xq_model_input(m, 0)->elem_cnt;
    snprintf(topic, sizeof(topic), "explain.infer.%s", name);
    snprintf(reply_topic, sizeof(reply_topic), "explainq_test_%d_replies", (int)getpid());
    snprintf(bs, sizeof(bs), "bootstrap.servers=%s", bootstrap);
    {
        const char *pp[] = {bs, "enable.idempotence=true", "linger.ms=5"};
        const char *cp[] = {bs, "group.id=unused", "enable.auto.commit=false",
                            "enable.partition.eof=false"};

        p = xq_kafka_new(RD_KAFKA_PRODUCER, pp, 3, NULL, errstr, sizeof(errstr));
        c = xq_kafka_new(RD_KAFKA_CONSUMER, cp, 4, NULL, errstr, sizeof(errstr));
    }
    /* the reply topic exists before anyone waits on it */
    produce(p, reply_topic, "warmup", "x", 1, NULL, false);
    rd_kafka_flush(p, 30000);

    srand(7);
    for (int i = 0; i < N_GOOD; i++) {
        sent_t *s = &sent[i];
        size_t dims[] = {E};
        const size_t *dimp[] = {dims};
        size_t ndim[] = {1};
        const char *names[] = {xq_model_input(m, 0)->name};
        const float *data[1];
        xq_infer_req_view_t v = {0};
        xq_buf_t b;

        memset(s, 0, sizeof(*s));
        snprintf(s->id, sizeof(s->id), "req-%d", i);
        s->rows = 1 + (size_t)(i * 7 % 50);
        s->x = xq_malloc(s->rows * E * sizeof(float));
        for (size_t k = 0; k < s->rows * E; k++)
            s->x[k] = (float)(rand() % 2000 - 1000) / 500.0f;
        if (i % 2) {
            s->gi = xq_malloc(s->rows * sizeof(int32_t));
            for (size_t r = 0; r < s->rows; r++)
                s->gi[r] = (int32_t)((r + (size_t)i) % xq_model_output(m)->elem_cnt);
        }
        data[0] = s->x;
        v.id = s->id;
        v.rows = s->rows;
        v.input_cnt = 1;
        v.names = names;
        v.data = data;
        v.dims = dimp;
        v.ndim = ndim;
        v.grad_index = s->gi;
        xq_buf_init(&b);
        xq_infer_req_pack(&v, &b);
        produce(p, topic, s->id, b.data, b.len, reply_topic, true);
        xq_buf_fini(&b);
    }
    /* malformed: not msgpack; a tensor the model lacks; a gradient index out of range; no shape */
    {
        static const struct {
            const char *id, *field, *kind;
        } bad[N_BAD] = {{"bad-0", "", "garbage"},
                        {"bad-1", "nope", "tensor"},
                        {"bad-2", "grad.index", "index"},
                        {"bad-3", "inputs.x", "shape"}};

        for (int k = 0; k < N_BAD; k++) {
            sent_t *s = &sent[N_GOOD + k];
            xq_buf_t b;
            msgpack_packer pk;
            float one[64] = {0};

            memset(s, 0, sizeof(*s));
            snprintf(s->id, sizeof(s->id), "%s", bad[k].id);
            s->bad = true;
            s->want_field = bad[k].field;
            xq_buf_init(&b);
            xq_mp_packer_init(&pk, &b);
            if (k == 0) {
                xq_buf_append_str(&b, "\xc1 not msgpack");
            } else if (k == 3) {
                msgpack_pack_map(&pk, 2);
                xq_mp_pack_str(&pk, "id");
                xq_mp_pack_str(&pk, s->id);
                xq_mp_pack_str(&pk, "inputs");
                msgpack_pack_map(&pk, 1);
                xq_mp_pack_str(&pk, "x");
                msgpack_pack_map(&pk, 2);
                xq_mp_pack_str(&pk, "dtype");
                xq_mp_pack_str(&pk, "f32");
                xq_mp_pack_str(&pk, "data");
                msgpack_pack_bin(&pk, 4);
                msgpack_pack_bin_body(&pk, one, 4);
            } else {
                size_t dims[] = {E};
                const size_t *dimp[] = {dims};
                size_t ndim[] = {1};
                const char *names[] = {k == 1 ? "nope" : xq_model_input(m, 0)->name};
                const float *data[] = {one};
                int32_t gi[1] = {99};
                xq_infer_req_view_t v = {.id = s->id,
                                         .rows = 1,
                                         .input_cnt = 1,
                                         .names = names,
                                         .data = data,
                                         .dims = dimp,
                                         .ndim = ndim,
                                         .grad_index = k == 2 ? gi : NULL};

                xq_infer_req_pack(&v, &b);
            }
            produce(p, topic, s->id, b.data, b.len, reply_topic, true);
            xq_buf_fini(&b);
        }
    }
    CHECK(rd_kafka_flush(p, 30000) == RD_KAFKA_RESP_ERR_NO_ERROR, "flush");

    {
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);

        rd_kafka_topic_partition_list_add(parts, reply_topic, 0)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_assign(c, parts);
        rd_kafka_topic_partition_list_destroy(parts);
    }
    deadline = now_ms() + 90000;
    while (got < N_GOOD + N_BAD && now_ms() < deadline) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(c, 200);
        msgpack_unpacked msg;
        size_t off = 0;

        if (!rkm)
            continue;
        if (rkm->err || (rkm->key_len == 6 && !memcmp(rkm->key, "warmup", 6))) {
            rd_kafka_message_destroy(rkm);
            continue;
        }
        msgpack_unpacked_init(&msg);
        if (msgpack_unpack_next(&msg, rkm->payload, rkm->len, &off) == MSGPACK_UNPACK_SUCCESS) {
            const msgpack_object *id = xq_mp_map_get(&msg.data, "id"),
                                 *e = xq_mp_map_get(&msg.data, "error");

            for (int i = 0; id && i < N_GOOD + N_BAD; i++) {
                sent_t *s = &sent[i];

                if (!xq_mp_str_eq(id, s->id))
                    continue;
                if (!s->seen++)
                    got++;
                if (s->bad) {
                    const msgpack_object *f = e ? xq_mp_map_get(e, "field") : NULL;

                    CHECK(e != NULL, "%s: no error reply", s->id);
                    CHECK(f && xq_mp_str_eq(f, s->want_field), "%s: error field not %s", s->id,
                          s->want_field);
                } else {
                    CHECK(!e, "%s: unexpected error reply", s->id);
                    if (!e)
                        check_reply(m, s, &msg.data);
                }
            }
        }
        msgpack_unpacked_destroy(&msg);
        rd_kafka_message_destroy(rkm);
    }
    CHECK(got == N_GOOD + N_BAD, "%d of %d requests answered", got, N_GOOD + N_BAD);
    printf("runners: %d requests answered (%d malformed, as error replies)\n", got, N_BAD);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    rd_kafka_destroy(p);
    for (int i = 0; i < N_GOOD; i++) {
        xq_free(sent[i].x);
        xq_free(sent[i].gi);
    }
    xq_model_destroy(m);
    return failures ? 1 : 0;
}
