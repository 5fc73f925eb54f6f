/* cmd_runner.c -- `explainq runner`: evaluates inference requests from Kafka and replies
 * (docs/design.md §2.4). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "cli.h"
#include "codec.h"
#include "config.h"
#include "kafka.h"
#include "log.h"
#include "mem.h"
#include "models/load.h"
#include "models/remote.h"
#include "names.h"
#include "obs.h"
#include "signals.h"

#define MAX_PROPS 160

extern char **environ;

static const char runner_usage[] =
    "usage: explainq runner --model FILE|URL --name NAME [options]\n"
    "\n"
    "Serves one model to the explain workers: consumes explain.infer.NAME in the\n"
    "consumer group explainq-runners-NAME, evaluates each request (outputs, and\n"
    "input gradients when asked) and replies to the topic and partition its\n"
    "headers name. A bad request gets an error reply; the runner keeps going.\n"
    "Start several for one model to share the load. SIGTERM stops it cleanly.\n"
    "\n"
    "  --model FILE|URL    ONNX, XGBoost (.json/.ubj), dense JSON, or a model server URL\n"
    "  --name NAME         the model's name in topic names\n"
    "  --backend NAME      " XQ_CLI_BACKENDS " (default: by path/content)\n"
    "  --output NAME       the output tensor to serve (default: the model's first)\n"
    "  --image-layout L    nchw or nhwc, when an image tensor's shape cannot tell (passed\n"
    "                      on to the workers in the model's description)\n"
    "  --dims N=V,...      values for inputs' named dynamic dimensions (ONNX), e.g. seq=128\n"
    "  --fd-step H         finite-difference gradients for models without them\n"
    "  -b, --brokers LIST  Kafka bootstrap servers (bootstrap.servers)\n"
    "  -c FILE             key=value configuration file (the worker's spelling)\n"
    "  -X key=value        an option: kafka.<prop> (kafka.consumer.<prop>,\n"
    "                      kafka.producer.<prop>) for librdkafka, metrics.port=N to serve\n"
    "                      /metrics, /healthz and /readyz, log.level, log.format\n"
    "  --dump-config       print every option, its value and where it came from\n"
    "  --max-elems N       largest tensor accepted, in elements (default 67108864)\n";

typedef struct runner {
    xq_model_t *model;
    rd_kafka_t *consumer, *producer;
    char topic[256];
    size_t max_elems;
    uint64_t served, failed;
    xq_obs_t *obs; /* metrics and readiness (obs.h) */
    /* scratch reused across requests: no allocation per row */
    xq_buf_t reply;
    float *out;
    size_t out_cap;
    float *grads[XQ_CODEC_MAX_TENSORS];
    size_t grad_cap[XQ_CODEC_MAX_TENSORS];
} runner_t;

/* A reply's delivery report stores its request's offset: at least once, in order of replies. */
static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque) {
    runner_t *r = opaque;
    uintptr_t tag = (uintptr_t)rkm->_private;
    rd_kafka_topic_partition_list_t *parts;

    (void)rk;
    if (rkm->err) {
        /* the request's offset stays unstored: after a restart it is served again */
        xq_log(XQ_LOG_WARN, "runner", "reply not delivered: %s", rd_kafka_err2str(rkm->err));
        return;
    }
    parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, r->topic, (int32_t)(tag & 0xffff))->offset =
        (int64_t)(tag >> 16) + 1;
    rd_kafka_offsets_store(r->consumer, parts);
    rd_kafka_topic_partition_list_destroy(parts);
}

/* Cooperative rebalancing: take and give back partitions incrementally, and say so. */
static void rebalance_cb(rd_kafka_t *rk,
                         rd_kafka_resp_err_t e,
                         rd_kafka_topic_partition_list_t *parts,
                         void *opaque) {
    rd_kafka_error_t *error = NULL;
    runner_t *r = opaque;

    xq_obs_runner_assigned(r->obs,
                           e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? parts->cnt : -parts->cnt);
    if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS)
        error = rd_kafka_incremental_assign(rk, parts);
    else
        error = rd_kafka_incremental_unassign(rk, parts);
    xq_log(XQ_LOG_INFO, "runner", "%s partitions=%d",
           e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? "assigned" : "revoked", parts->cnt);
    if (error) {
        xq_log(XQ_LOG_ERROR, "runner", "rebalance: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
}

static bool header(const rd_kafka_message_t *rkm, const char *name, char *buf, size_t size) {
    rd_kafka_headers_t *hdrs = NULL;
    const void *val;
    size_t len;

    if (rd_kafka_message_headers(rkm, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_header_get_last(hdrs, name, &val, &len) != RD_KAFKA_RESP_ERR_NO_ERROR || !val ||
        len >= size)
        return false;
    memcpy(buf, val, len);
    buf[len] = '\0';
    return true;
}

/* Evaluates the request; on failure @p err says why. */
static xq_err_t evaluate(runner_t *r, const xq_infer_req_t *req, xq_error_t *err) {
    const xq_tensor_desc_t *od = xq_model_output(r->model);
    size_t elem[XQ_CODEC_MAX_TENSORS];
    const float *data[XQ_CODEC_MAX_TENSORS];
    xq_tensor_t shapes[XQ_CODEC_MAX_TENSORS];
    xq_batch_t b;
    xq_err_t rc;

    if (req->output_cnt > 1 || (req->output_cnt == 1 && strcmp(req->outputs[0], od->name) != 0))
        return xq_error_set(err, XQ_EMODEL, "outputs", "this runner serves output %s only",
                            od->name);
    if (req->grad_output && strcmp(req->grad_output, od->name) != 0)
        return xq_error_set(err, XQ_EMODEL, "grad.output", "this runner serves output %s only",
                            od->name);
    for (size_t i = 0; i < req->input_cnt; i++) {
        elem[i] = req->inputs[i].cnt / req->rows;
        data[i] = req->inputs[i].data;
        if (req->grad && req->rows * elem[i] > r->grad_cap[i]) {
            xq_free(r->grads[i]);
            r->grad_cap[i] = req->rows * elem[i];
            if (!(r->grads[i] = xq_try_malloc(r->grad_cap[i] * sizeof(float)))) {
                r->grad_cap[i] = 0;
                return xq_error_set(err, XQ_ENOMEM, "inputs", "no memory for the gradients");
            }
        }
    }
    if (req->rows * od->elem_cnt > r->out_cap) {
        xq_free(r->out);
        r->out_cap = req->rows * od->elem_cnt;
        if (!(r->out = xq_try_malloc(r->out_cap * sizeof(float)))) {
            r->out_cap = 0;
            return xq_error_set(err, XQ_ENOMEM, "outputs", "no memory for the outputs");
        }
    }
    memset(&b, 0, sizeof(b));
    b.rows = req->rows;
    b.tensor_cnt = req->input_cnt;
    b.names = (const char *const *)req->names;
    b.elem_cnt = elem;
    b.data = data;
    b.grad = req->grad;
    b.grad_index = req->grad_index;
    b.out_cnt = od->elem_cnt;
    b.out = r->out;
    b.grad_out = r->grads;
    if (req->grad) {
        for (size_t i = 0; i < req->rows; i++) {
            if (req->grad_index[i] < 0 || (size_t)req->grad_index[i] >= od->elem_cnt)
                return xq_error_set(err, XQ_EINVAL, "grad.index",
                                    "row %zu asks for output element %d of %zu", i,
                                    req->grad_index[i], od->elem_cnt);
        }
    }
    for (size_t i = 0; req->pick && i < req->rows; i++) {
        if (req->pick[i] < -1 || req->pick[i] >= (int32_t)od->elem_cnt)
            return xq_error_set(err, XQ_EINVAL, "pick", "row %zu picks output element %d of %zu", i,
                                req->pick[i], od->elem_cnt);
    }
    if ((rc = xq_model_eval(r->model, &b, err)) != XQ_OK)
        return rc;
    for (size_t i = 0; i < req->input_cnt; i++)
        shapes[i] = req->inputs[i];
    r->reply.len = 0;
    if (req->pick && !req->grad) {
        /* only the outputs the rows need: a flat tensor of them */
        size_t n = xq_infer_pick(r->out, req->rows, od->elem_cnt, req->pick);

        xq_infer_reply_pack(req->id, od->name, r->out, n, od->dims, 0, 0, NULL, NULL, NULL,
                            &r->reply);
        return XQ_OK;
    }
    xq_infer_reply_pack(req->id, od->name, r->out, req->rows, od->dims, od->ndim,
                        req->grad ? req->input_cnt : 0, (const char *const *)req->names,
                        (const float *const *)r->grads, shapes, &r->reply);
    return XQ_OK;
}

static void handle(runner_t *r, const rd_kafka_message_t *rkm) {
    char reply_topic[256], part_str[16], key[XQ_CODEC_ID_SIZE] = "";
    uintptr_t tag = ((uintptr_t)rkm->offset << 16) | (uintptr_t)(rkm->partition & 0xffff);
    xq_infer_req_t req;
    xq_error_t err;
    char *rid;
    long partition;
    char *end;
    rd_kafka_resp_err_t e;
    struct timespec t0, t1;

    if (rkm->key && rkm->key_len < sizeof(key)) {
        memcpy(key, rkm->key, rkm->key_len);
        key[rkm->key_len] = '\0';
    }
    if (!header(rkm, "reply.topic", reply_topic, sizeof(reply_topic)) ||
        !header(rkm, "reply.partition", part_str, sizeof(part_str)) ||
        (errno = 0, partition = strtol(part_str, &end, 10), errno || *end || partition < 0)) {
        /* nobody to answer: log it and move on */
        xq_log(XQ_LOG_WARN, "runner",
               "request without reply headers skipped partition=%d "
               "offset=%lld key=%s",
               (int)rkm->partition, (long long)rkm->offset, key);
        r->failed++;
        dr_cb(NULL, &(rd_kafka_message_t){._private = (void *)tag}, r);
        return;
    }
    r->reply.len = 0;
    memset(&req, 0, sizeof(req));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (xq_remote_is_describe(rkm->payload, rkm->len, req.id, sizeof(req.id))) {
        /* a worker learning the model's tensors */
        xq_remote_describe_pack(r->model, req.id, &r->reply);
    } else if (xq_infer_req_decode(rkm->payload, rkm->len, r->max_elems, &req, &err) != XQ_OK ||
               evaluate(r, &req, &err) != XQ_OK) {
        const char *id = req.id[0] ? req.id : key;

        xq_log(XQ_LOG_WARN, "runner", "error reply id=%s field=%s: %s", id, err.field, err.msg);
        r->reply.len = 0;
        xq_infer_error_pack(id, &err, &r->reply);
        r->failed++;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        xq_obs_runner_request(r->obs, false, 0,
                              (double)(t1.tv_sec - t0.tv_sec) +
                                  1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    } else {
        r->served++;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        xq_obs_runner_request(r->obs, true, req.rows,
                              (double)(t1.tv_sec - t0.tv_sec) +
                                  1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    }
    rid = req.id[0] ? req.id : key;
    e = rd_kafka_producev(
        r->producer, RD_KAFKA_V_TOPIC(reply_topic), RD_KAFKA_V_PARTITION((int32_t)partition),
        RD_KAFKA_V_KEY(rid, strlen(rid)), RD_KAFKA_V_VALUE(r->reply.data, r->reply.len),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE((void *)tag), RD_KAFKA_V_END);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        xq_log(XQ_LOG_WARN, "runner", "cannot queue the reply: %s", rd_kafka_err2str(e));
    xq_infer_req_fini(&req);
}

/* The runner's consumer (group explainq-runners-NAME) and reply producer; false after saying
 * why. */
static bool clients(runner_t *r, const xq_conf_t *conf, const char *name) {
    char bs[512], gid[320], errstr[512];
    /* defaults first, the user's kafka.* after them, so the user's win */
    const char *cprops[MAX_PROPS + 8] = {
        gid, "enable.auto.commit=true", "enable.auto.offset.store=false",
        "auto.offset.reset=earliest", "partition.assignment.strategy=cooperative-sticky"};
    const char *pprops[MAX_PROPS + 8] = {"enable.idempotence=true", "linger.ms=1"};
    const xq_kafka_cbs_t pcbs = {.dr_msg_cb = dr_cb, .opaque = r};
    const xq_kafka_cbs_t ccbs = {.rebalance_cb = rebalance_cb, .opaque = r};
    size_t n;

    snprintf(gid, sizeof(gid), "group.id=" XQ_GROUP_RUNNERS "%s", name);
    /* each client right after its properties: the next xq_cli_kafka_props() reuses them */
    n = 5 + xq_cli_kafka_props(conf, "consumer", bs, sizeof(bs), cprops + 5, MAX_PROPS);
    if ((r->consumer = xq_kafka_new(RD_KAFKA_CONSUMER, cprops, n, &ccbs, errstr, sizeof(errstr))))
        n = 2 + xq_cli_kafka_props(conf, "producer", bs, sizeof(bs), pprops + 2, MAX_PROPS);
    if (!r->consumer || !(r->producer = xq_kafka_new(RD_KAFKA_PRODUCER, pprops, n, &pcbs, errstr,
                                                     sizeof(errstr)))) {
        fprintf(stderr, "explainq runner: kafka: %s\n", errstr);
        return false;
    }
    return true;
}

int xq_cmd_runner(int argc, char **argv) {
    const char *model_path = NULL, *name = NULL;
    xq_conf_t *conf = NULL;
    xq_model_opts_t mopts = {0};
    rd_kafka_topic_partition_list_t *subs;
    runner_t r;
    xq_error_t err;
    int rc = XQ_EXIT_USAGE;

    memset(&r, 0, sizeof(r));
    xq_buf_init(&r.reply);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            xq_cli_usage(stdout, runner_usage);
            return XQ_EXIT_OK;
        }
    }
    if (!(conf = xq_cli_config("runner", &argc, argv, environ, &rc)))
        return rc;
    rc = XQ_EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (!v) {
            fprintf(stderr, "explainq runner: %s needs a value\n", a);
            goto out;
        }
        i++;
        if (!strcmp(a, "--model")) {
            model_path = v;
        } else if (!strcmp(a, "--name")) {
            name = v;
        } else if (!strcmp(a, "--backend")) {
            mopts.backend = v;
        } else if (!strcmp(a, "--output")) {
            mopts.output = v;
        } else if (!strcmp(a, "--image-layout")) {
            mopts.image_layout = v;
        } else if (!strcmp(a, "--dims")) {
            mopts.dims = v;
        } else if (!strcmp(a, "--fd-step")) {
            mopts.fd_step = strtod(v, NULL);
        } else if (!strcmp(a, "--max-elems")) {
            r.max_elems = (size_t)strtoull(v, NULL, 10);
        } else {
            fprintf(stderr, "explainq runner: bad option %s %s\n\n", a, v);
            xq_cli_usage(stderr, runner_usage);
            goto out;
        }
    }
    if (!model_path || !name || strlen(name) > 200) {
        fprintf(stderr, "explainq runner: --model and --name are required\n\n");
        xq_cli_usage(stderr, runner_usage);
        goto out;
    }
    if (xq_model_load(model_path, &mopts, &r.model, &err) != XQ_OK) {
        fprintf(stderr, "explainq runner: model %s: %s\n", model_path, err.msg);
        goto out;
    }
    r.obs = xq_obs_new_runner();
    if (!xq_obs_serve(r.obs, xq_conf_str(conf, "metrics.host"),
                      (int)xq_conf_num(conf, "metrics.port"), &err)) {
        fprintf(stderr, "explainq runner: metrics.port: %s\n", err.msg);
        rc = XQ_EXIT_RUNTIME;
        goto out;
    }
    xq_name_infer_topic(r.topic, sizeof(r.topic), name);
    if (!clients(&r, conf, name))
        goto out;
    rd_kafka_poll_set_consumer(r.consumer);
    subs = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(subs, r.topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(r.consumer, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    xq_signals_install();
    xq_log(XQ_LOG_INFO, "runner", "serving model=%s topic=%s output=%s brokers=%s", model_path,
           r.topic, xq_model_output(r.model)->name, xq_conf_str(conf, "bootstrap.servers"));
    rc = XQ_EXIT_OK;
    xq_metrics_set_ready(xq_obs_metrics(r.obs), true, ""); /* the model is loaded, subscribed */
    while (xq_run_flag) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(r.consumer, 100);

        if (rkm) {
            if (rkm->err == RD_KAFKA_RESP_ERR_NO_ERROR)
                handle(&r, rkm);
            else if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                xq_log(XQ_LOG_WARN, "runner", "consumer: %s", rd_kafka_message_errstr(rkm));
            rd_kafka_message_destroy(rkm); /* never kept past this iteration */
        }
        rd_kafka_poll(r.producer, 0); /* delivery reports store offsets */
    }
    xq_log(XQ_LOG_INFO, "runner", "stopping served=%llu failed=%llu", (unsigned long long)r.served,
           (unsigned long long)r.failed);
out:
    if (r.producer) {
        rd_kafka_flush(r.producer, 10 * 1000); /* replies first, then their offsets */
        if (rd_kafka_outq_len(r.producer))
            xq_log(XQ_LOG_WARN, "runner", "%d replies not delivered",
                   rd_kafka_outq_len(r.producer));
    }
    if (r.consumer) {
        rd_kafka_consumer_close(r.consumer); /* commits the stored offsets */
        rd_kafka_destroy(r.consumer);
    }
    if (r.producer)
        rd_kafka_destroy(r.producer);
    for (size_t i = 0; i < XQ_CODEC_MAX_TENSORS; i++)
        xq_free(r.grads[i]);
    xq_free(r.out);
    xq_buf_fini(&r.reply);
    xq_model_destroy(r.model);
    xq_obs_destroy(r.obs);
    xq_conf_destroy(conf);
    return rc;
}
