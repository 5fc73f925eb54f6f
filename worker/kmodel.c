/* kmodel.c -- synchronous inference requests to runners: describe once, then batch by batch. */
#include "kmodel.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "clock.h"
#include "codec.h"
#include "kafka.h"
#include "mem.h"
#include "models/remote.h"
#include "mp.h"
#include "names.h"
#include "tensor.h"

typedef struct kmodel {
    rd_kafka_t *prod, *cons;
    char name[200], topic[256], reply_topic[256], part[16];
    int timeout_ms, retries;
    unsigned long long seq;
    xq_model_t *remote; /* the runner's description: the tensors' names live here */
    xq_buf_t buf;
} kmodel_t;

static void kmodel_free(kmodel_t *k) {
    if (!k)
        return;
    if (k->prod) {
        rd_kafka_flush(k->prod, 2000);
        rd_kafka_destroy(k->prod);
    }
    if (k->cons) {
        rd_kafka_consumer_close(k->cons);
        rd_kafka_destroy(k->cons);
    }
    xq_model_destroy(k->remote);
    xq_buf_fini(&k->buf);
    xq_free(k);
}

static void kmodel_destroy(void *impl) {
    kmodel_free(impl);
}

/*
 * Sends k->buf as request @p corr and waits for its reply, sending again
 * after each timeout. Replies of others on the partition are skipped.
 * @returns XQ_OK with the reply unpacked in @p msg; its strings and bins
 *          point into @p *keep, which the caller destroys after use.
 */
static xq_err_t round_trip(kmodel_t *k,
                           const char *corr,
                           msgpack_unpacked *msg,
                           rd_kafka_message_t **keep,
                           xq_error_t *err) {
    for (int attempt = 0; attempt <= k->retries; attempt++) {
        rd_kafka_headers_t *h = rd_kafka_headers_new(2);
        long long until = xq_now_ms() + k->timeout_ms;
        rd_kafka_resp_err_t e;

        rd_kafka_header_add(h, "reply.topic", -1, k->reply_topic, -1);
        rd_kafka_header_add(h, "reply.partition", -1, k->part, -1);
        e = rd_kafka_producev(k->prod, RD_KAFKA_V_TOPIC(k->topic),
                              RD_KAFKA_V_KEY((void *)(uintptr_t)corr, strlen(corr)),
                              RD_KAFKA_V_VALUE(k->buf.data, k->buf.len),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
                              RD_KAFKA_V_END);
        if (e) {
            rd_kafka_headers_destroy(h);
            return xq_error_set(err, XQ_EKAFKA, "model", "request to %s: %s", k->topic,
                                rd_kafka_err2str(e));
        }
        while (xq_now_ms() < until) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(k->cons, 100);
            bool mine;

            rd_kafka_poll(k->prod, 0);
            if (!m)
                continue;
            mine = !m->err && m->key_len == strlen(corr) && !memcmp(m->key, corr, m->key_len) &&
                   xq_mp_unpack_one(m->payload, m->len, msg) &&
                   msg->data.type == MSGPACK_OBJECT_MAP;
            if (mine) {
                *keep = m;
                return XQ_OK;
            }
            rd_kafka_message_destroy(m);
        }
    }
    return xq_error_set(err, XQ_ETIMEOUT, "model",
                        "no runner of model %s answered in %d tries of %d ms (is one running?)",
                        k->name, k->retries + 1, k->timeout_ms);
}

/* An error reply's message, as an error of ours. */
static xq_err_t reply_error(const kmodel_t *k, const msgpack_object *e, xq_error_t *err) {
    const msgpack_object *m = xq_mp_map_get(e, "message");

    return xq_error_set(err, XQ_EMODEL, "model", "model %s: %.*s", k->name,
                        m && m->type == MSGPACK_OBJECT_STR ? (int)m->via.str.size : 5,
                        m && m->type == MSGPACK_OBJECT_STR ? m->via.str.ptr : "error");
}

/* One request for all of @p b's rows. */
static xq_err_t eval_part(kmodel_t *k, xq_batch_t *b, xq_error_t *err) {
    char corr[64];
    msgpack_unpacked msg;
    rd_kafka_message_t *reply = NULL;
    xq_infer_reply_dst_t dst = {
        .model = k->name, .rows = b->rows, .out = b->out, .out_cnt = b->out_cnt};
    bool runner_error;
    xq_err_t rc;

    if (b->grad)
        return xq_error_set(err, XQ_EINVAL, "model", "gradients over Kafka need the worker");
    /* the handle's address keeps two models of one process (the gateway's) apart */
    snprintf(corr, sizeof(corr), "cli-%d-%lx-%llu", (int)getpid(), (unsigned long)(uintptr_t)k,
             ++k->seq);
    k->buf.len = 0;
    xq_remote_pack_request(k->remote, corr, b, NULL, NULL, NULL, &k->buf);
    msgpack_unpacked_init(&msg);
    if ((rc = round_trip(k, corr, &msg, &reply, err)) != XQ_OK)
        goto out;
    rc = xq_infer_reply_decode(&msg.data, &dst, &runner_error, err);
out:
    msgpack_unpacked_destroy(&msg);
    if (reply)
        rd_kafka_message_destroy(reply);
    return rc;
}

static xq_err_t kmodel_eval(void *impl, xq_batch_t *b, xq_error_t *err) {
    kmodel_t *k = impl;
    const float *data[XQ_CODEC_MAX_TENSORS];
    size_t row_elems = 0, per;
    xq_err_t rc = XQ_OK;

    if (b->tensor_cnt > XQ_CODEC_MAX_TENSORS)
        return xq_error_set(err, XQ_ELIMIT, "model", "more than %d tensors", XQ_CODEC_MAX_TENSORS);
    for (size_t i = 0; i < b->tensor_cnt; i++)
        row_elems += b->elem_cnt[i];
    /* under the brokers' default message size: large rows (images) go a few at a time */
    per = xq_remote_rows_per_request(row_elems, XQ_REMOTE_REQUEST_BYTES);
    for (size_t first = 0; first < b->rows && rc == XQ_OK; first += per) {
        xq_batch_t part = *b;

        part.rows = b->rows - first < per ? b->rows - first : per;
        for (size_t i = 0; i < b->tensor_cnt; i++)
            data[i] = b->data[i] + first * b->elem_cnt[i];
        part.data = data;
        part.out = b->out + first * b->out_cnt;
        rc = eval_part(k, &part, err);
    }
    return rc;
}

/* The consumer, assigned the reply partition from its current end: replies come after. */
static xq_err_t open_replies(kmodel_t *k, const xq_kmodel_opts_t *o, xq_error_t *err) {
    const char *props[72];
    char errstr[512];
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_partition_list_t *parts;
    int64_t lo = 0, hi = 0;
    int partitions = 1;
    size_t n = 0;
    rd_kafka_resp_err_t e;

    for (size_t i = 0; i < o->prop_cnt && n < 64; i++)
        props[n++] = o->props[i];
    props[n++] = "group.id=" XQ_GROUP_CLI;
    props[n++] = "enable.auto.commit=false";
    if (!(k->cons = xq_kafka_new(RD_KAFKA_CONSUMER, props, n, NULL, errstr, sizeof(errstr))) ||
        !(k->prod = xq_kafka_new(RD_KAFKA_PRODUCER, props, n - 2, NULL, errstr, sizeof(errstr))))
        return xq_error_set(err, XQ_EKAFKA, "kafka", "%s", errstr);
    {
        rd_kafka_topic_t *t = rd_kafka_topic_new(k->cons, k->reply_topic, NULL);

        e = rd_kafka_metadata(k->cons, 0, t, &md, 10000);
        if (!e && md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > 0)
            partitions = md->topics[0].partition_cnt;
        else if (!e)
            e = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
        if (md)
            rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(t);
    }
    if (e)
        return xq_error_set(err, XQ_EKAFKA, "kafka",
                            "reply topic %s: %s (create it with "
                            "`explainq topics create`, or start a worker first)",
                            k->reply_topic, rd_kafka_err2str(e));
    snprintf(k->part, sizeof(k->part), "%d", (int)(getpid() % partitions));
    if ((e = rd_kafka_query_watermark_offsets(k->cons, k->reply_topic, getpid() % partitions, &lo,
                                              &hi, 10000)))
        return xq_error_set(err, XQ_EKAFKA, "kafka", "reply topic %s: %s", k->reply_topic,
                            rd_kafka_err2str(e));
    parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, k->reply_topic, getpid() % partitions)->offset = hi;
    e = rd_kafka_assign(k->cons, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (e)
        return xq_error_set(err, XQ_EKAFKA, "kafka", "assign %s: %s", k->reply_topic,
                            rd_kafka_err2str(e));
    return XQ_OK;
}

xq_err_t
xq_kmodel_open(const char *name, const xq_kmodel_opts_t *opts, xq_model_t **out, xq_error_t *err) {
    static const xq_model_ops_t ops = {kmodel_eval, NULL, kmodel_destroy};
    static const xq_kmodel_opts_t none;
    const xq_kmodel_opts_t *o = opts ? opts : &none;
    kmodel_t *k = xq_calloc(1, sizeof(*k));
    xq_tensor_desc_t inputs[XQ_CODEC_MAX_TENSORS], encoded[XQ_CODEC_MAX_TENSORS];
    const msgpack_object *desc, *e;
    msgpack_unpacked msg;
    rd_kafka_message_t *reply = NULL;
    char corr[64];
    xq_err_t rc;
    size_t ni, ne;

    *out = NULL;
    msgpack_unpacked_init(&msg);
    snprintf(k->name, sizeof(k->name), "%s", name);
    xq_name_infer_topic(k->topic, sizeof(k->topic), name);
    snprintf(k->reply_topic, sizeof(k->reply_topic), "%s",
             o->reply_topic ? o->reply_topic : XQ_TOPIC_REPLIES);
    k->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 30000;
    k->retries = o->retries > 0 ? o->retries : 3;
    xq_buf_init(&k->buf);
    if ((rc = open_replies(k, o, err)) != XQ_OK)
        goto out;
    snprintf(corr, sizeof(corr), "cli-%d-%lx-describe", (int)getpid(), (unsigned long)(uintptr_t)k);
    xq_remote_describe_request(corr, &k->buf);
    if ((rc = round_trip(k, corr, &msg, &reply, err)) != XQ_OK)
        goto out;
    if ((e = xq_mp_map_get(&msg.data, "error"))) {
        rc = reply_error(k, e, err);
        goto out;
    }
    if (!(desc = xq_mp_map_get(&msg.data, "model")) ||
        (rc = xq_remote_model_new(desc, &k->remote, err)) != XQ_OK) {
        rc = xq_error_set(err, XQ_EMODEL, "model", "model %s: bad description", name);
        goto out;
    }
    ni = xq_model_input_cnt(k->remote);
    ne = xq_model_encoded_cnt(k->remote);
    if (ni > XQ_CODEC_MAX_TENSORS || ne > XQ_CODEC_MAX_TENSORS) {
        rc = xq_error_set(err, XQ_ELIMIT, "model", "model %s has too many tensors", name);
        goto out;
    }
    for (size_t i = 0; i < ni; i++)
        inputs[i] = *xq_model_input(k->remote, i);
    for (size_t i = 0; i < ne; i++)
        encoded[i] = *xq_model_encoded(k->remote, i);
    *out = xq_model_new(&ops, k, inputs, ni, encoded, ne, xq_model_output(k->remote));
    xq_model_set_missing_ok(*out, xq_model_missing_ok(k->remote));
    k = NULL;
out:
    msgpack_unpacked_destroy(&msg);
    if (reply)
        rd_kafka_message_destroy(reply);
    kmodel_free(k);
    return rc;
}
