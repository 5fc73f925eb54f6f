/* cmd_batch.c -- `explainq batch --job batch_prediction_job.json`: Vertex AI's batch prediction
 * job, run in-process or through the Kafka workers, with Vertex's output files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "batchjob.h"
#include "cli.h"
#include "engine.h"
#include "gwqueue.h"
#include "instances.h"
#include "json.h"
#include "kmodel.h"
#include "mem.h"
#include "models/load.h"
#include "mp.h"
#include "names.h"
#include "vertex.h"

static const char batch_usage[] =
    "usage: explainq batch --job JOB.json (--model FILE|URL | -b BROKERS [--model-name NAME])\n"
    "                      [--spec FILE] [--metadata FILE] [--parameters FILE] [--seed N]\n"
    "                      [--job-size N] [--topic T] [--result-topic T] [--timeout S]\n"
    "                      [-X kafka-prop=value]\n"
    "\n"
    "Runs a Vertex AI BatchPredictionJob (its JSON, as `gcloud ai batch-prediction-jobs\n"
    "create` or the REST API take it) on local files: inputConfig.gcsSource.uris as\n"
    "local paths or file:// URIs (jsonl or csv), instanceConfig, and\n"
    "outputConfig.gcsDestination.outputUriPrefix as a local folder, where it writes\n"
    "prediction-<model>-<time>/explanation.results-00000-of-00001 (one line per input,\n"
    "in input order) and, when instances failed, explanation.errors_stats-00000-of-00001.\n"
    "\n"
    "  --model FILE|URL     explain in this process with this model (see explain)\n"
    "  -b BROKERS           or through the Kafka workers and runners of --model-name\n"
    "                       (default: the last segment of the job's \"model\")\n"
    "  --spec FILE          the Model's ExplanationSpec (or Model resource); the job's\n"
    "  --metadata/--parameters  explanationSpec halves replace its halves\n"
    "  --seed N             random seed (default 0)\n"
    "  --job-size N         instances per Kafka job (default 100)\n"
    "  --topic T            the workers' jobs topic (default explain.jobs)\n"
    "  --result-topic T     where they answer (default explain.results.batch)\n"
    "\n"
    "Prints the completionStats; exits 1 when any instance failed.\n";

typedef struct opts {
    const char *job, *model, *model_name, *spec, *meta, *params, *topic, *result_topic;
    const char *props[72];
    size_t prop_cnt;
    char bs[512];
    uint64_t seed;
    size_t job_size;
    long timeout_s;
} opts_t;

/* One input instance and what became of it. */
typedef struct item {
    xq_buf_t inst; /* the instance the model is sent (msgpack) */
    xq_buf_t key;  /* its key (msgpack), empty without keyField */
    xq_buf_t out;  /* its result: explanation map (msgpack) */
    xq_buf_t pred; /* its prediction (msgpack) */
    bool failed;
    xq_error_t err;
} item_t;

static int parse_args(int argc, char **argv, opts_t *o) {
    memset(o, 0, sizeof(*o));
    o->job_size = 100;
    o->timeout_s = 600;
    o->topic = XQ_TOPIC_JOBS;
    o->result_topic = XQ_TOPIC_RESULTS_BATCH;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t u;

        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(batch_usage, stdout);
            return 0;
        }
        if (!v)
            goto bad;
        i++;
        if (!strcmp(a, "--job"))
            o->job = v;
        else if (!strcmp(a, "--model"))
            o->model = v;
        else if (!strcmp(a, "--model-name"))
            o->model_name = v;
        else if (!strcmp(a, "--spec"))
            o->spec = v;
        else if (!strcmp(a, "--topic"))
            o->topic = v;
        else if (!strcmp(a, "--result-topic"))
            o->result_topic = v;
        else if (!strcmp(a, "--metadata"))
            o->meta = v;
        else if (!strcmp(a, "--parameters"))
            o->params = v;
        else if (!strcmp(a, "--seed") && xq_cli_parse_u64(v, &u))
            o->seed = u;
        else if (!strcmp(a, "--job-size") && xq_cli_parse_u64(v, &u) && u > 0 && u <= 10000)
            o->job_size = (size_t)u;
        else if (!strcmp(a, "--timeout") && xq_cli_parse_u64(v, &u) && u > 0 && u < 864000)
            o->timeout_s = (long)u;
        else if (!strcmp(a, "-b"))
            snprintf(o->bs, sizeof(o->bs), "bootstrap.servers=%s", v);
        else if (!strcmp(a, "-X") && strchr(v, '=') && o->prop_cnt < 70)
            o->props[o->prop_cnt++] = v;
        else
            goto bad;
    }
    if (o->job && (!o->model != !o->bs[0]))
        return 1;
bad:
    fputs(batch_usage, stderr);
    return -1;
}

/* The model's spec with the job's explanationSpec halves in place of its own. */
static xq_spec_t *load_spec(const opts_t *o, const xq_bj_t *j) {
    static const char minimal[] = "{\"parameters\": {\"sampledShapleyAttribution\": "
                                  "{\"pathCount\": 1}}}";
    const char *paths[3] = {o->spec, j->spec_meta.len ? NULL : o->meta,
                            j->spec_params.len ? NULL : o->params};
    uint8_t *buf[3] = {NULL, NULL, NULL};
    size_t len[3] = {0, 0, 0};
    xq_spec_t *spec = NULL;
    xq_errlist_t errs;

    xq_errlist_init(&errs);
    if (!j->explain && !o->spec && !o->meta && !o->params) {
        /* predictions only: features are the instances' keys */
        xq_vertex_spec_parse((const uint8_t *)minimal, strlen(minimal), NULL, 0, NULL, 0, &spec,
                             &errs);
        goto out;
    }
    for (int i = 0; i < 3; i++) {
        if (paths[i] && !(buf[i] = xq_cli_read_file(paths[i], &len[i])))
            goto out;
    }
    if (j->spec_meta.len) {
        buf[1] = xq_malloc(j->spec_meta.len);
        memcpy(buf[1], j->spec_meta.data, len[1] = j->spec_meta.len);
    }
    if (j->spec_params.len) {
        buf[2] = xq_malloc(j->spec_params.len);
        memcpy(buf[2], j->spec_params.data, len[2] = j->spec_params.len);
    }
    if (!buf[0] && !buf[2]) {
        fprintf(stderr, "explainq batch: no spec: give --spec (the Model's explanationSpec), "
                        "--parameters, or explanationSpec.parameters in the job\n");
        goto out;
    }
    if (xq_vertex_spec_parse(buf[0], len[0], buf[1], len[1], buf[2], len[2], &spec, &errs) !=
        XQ_OK) {
        fprintf(stderr, "explainq batch: invalid spec:\n");
        xq_cli_print_errors(&errs);
    }
out:
    xq_errlist_fini(&errs);
    for (int i = 0; i < 3; i++)
        xq_free(buf[i]);
    return spec;
}

/* Reads every input file, in order, and applies instanceConfig; bad lines become failed items. */
static bool read_inputs(const xq_bj_t *j, const xq_spec_t *spec, item_t **items, size_t *n) {
    const char *text[1 + 10000];
    size_t text_cnt = 0, cap = 0;
    xq_inst_opts_t io = {.format = j->csv ? XQ_INST_CSV : XQ_INST_JSON};
    xq_buf_t raw;

    /* CSV cells are numbers but for the key and excluded columns; as an array, no metadata
     * names them */
    if (j->key_field)
        text[text_cnt++] = j->key_field;
    for (size_t i = 0; i < j->excluded_cnt && text_cnt < 10000; i++)
        text[text_cnt++] = j->excluded[i];
    io.text_fields = text;
    io.text_cnt = text_cnt;
    io.spec = j->type == XQ_BJ_OBJECT ? spec : NULL;
    xq_buf_init(&raw);
    for (size_t p = 0; p < j->path_cnt; p++) {
        FILE *f = fopen(j->paths[p], "r");
        xq_inst_reader_t *r = NULL;
        xq_error_t err;
        bool eof = false;

        if (!f || xq_inst_reader_new(f, j->paths[p], &io, &r, &err) != XQ_OK) {
            fprintf(stderr, "explainq batch: %s: %s\n", j->paths[p], f ? err.msg : strerror(errno));
            if (f)
                fclose(f);
            xq_buf_fini(&raw);
            return false;
        }
        for (;;) {
            size_t line;
            xq_err_t rc;
            item_t *it;

            raw.len = 0;
            rc = xq_inst_reader_next(r, &raw, &line, &eof, &err);
            if (rc == XQ_EIO || (rc == XQ_OK && eof))
                break;
            if (*n == cap) {
                cap = cap ? 2 * cap : 1024;
                *items = xq_reallocarray(*items, cap, sizeof(**items));
            }
            it = &(*items)[(*n)++];
            memset(it, 0, sizeof(*it));
            xq_buf_init(&it->inst);
            xq_buf_init(&it->key);
            xq_buf_init(&it->out);
            xq_buf_init(&it->pred);
            if (rc != XQ_OK) {
                it->failed = true;
                it->err = err;
                snprintf(it->err.msg, sizeof(it->err.msg), "%.80s: %.160s", j->paths[p], err.msg);
                continue;
            }
            {
                msgpack_unpacked u;

                msgpack_unpacked_init(&u);
                xq_mp_unpack_one(raw.data, raw.len, &u);
                if (xq_bj_apply(j, &u.data, &it->inst, &it->key, &it->err) != XQ_OK) {
                    char why[XQ_ERR_MSG_SIZE];

                    memcpy(why, it->err.msg, sizeof(why));
                    snprintf(it->err.msg, sizeof(it->err.msg), "%.80s line %zu: %.160s",
                             j->paths[p], line, why);
                    it->failed = true;
                }
                msgpack_unpacked_destroy(&u);
            }
        }
        xq_inst_reader_destroy(r);
        fclose(f);
    }
    xq_buf_fini(&raw);
    return true;
}

static void progress(size_t done, size_t total, bool final) {
    static time_t last;

    if (!isatty(STDERR_FILENO) || (!final && time(NULL) == last))
        return;
    last = time(NULL);
    fprintf(stderr, "\rbatch: [%-40.*s] %zu/%zu%s", (int)(total ? 40 * done / total : 40),
            "########################################", done, total, final ? "\n" : "");
}

static void fail_item(item_t *it, const xq_error_t *e) {
    it->failed = true;
    it->err = *e;
}

/* Splits a packed array of predictions over the good items @p idx. */
static void take_predictions(const xq_buf_t *preds, item_t *items, const size_t *idx, size_t m) {
    msgpack_unpacked u;
    msgpack_packer pk;

    msgpack_unpacked_init(&u);
    xq_mp_unpack_one(preds->data, preds->len, &u);
    for (size_t k = 0; k < m && k < u.data.via.array.size; k++) {
        xq_mp_packer_init(&pk, &items[idx[k]].pred);
        msgpack_pack_object(&pk, u.data.via.array.ptr[k]);
    }
    msgpack_unpacked_destroy(&u);
}

/* Predictions (and nothing else) of the items @p idx that are still good. */
static void predict_items(
    const xq_spec_t *spec, xq_model_t *model, item_t *items, const size_t *idx, size_t m) {
    msgpack_object *objs = xq_calloc(m ? m : 1, sizeof(*objs));
    msgpack_unpacked *us = xq_calloc(m ? m : 1, sizeof(*us));
    size_t *good = xq_calloc(m ? m : 1, sizeof(*good)), g = 0;
    xq_buf_t preds;
    msgpack_packer pk;
    xq_error_t err;

    xq_buf_init(&preds);
    for (size_t k = 0; k < m; k++) {
        if (items[idx[k]].failed)
            continue;
        msgpack_unpacked_init(&us[g]);
        xq_mp_unpack_one(items[idx[k]].inst.data, items[idx[k]].inst.len, &us[g]);
        objs[g] = us[g].data;
        good[g++] = idx[k];
    }
    xq_mp_packer_init(&pk, &preds);
    if (g && xq_vertex_predict(spec, model, objs, g, &pk, &err) == XQ_OK)
        take_predictions(&preds, items, good, g);
    else
        for (size_t k = 0; k < g; k++)
            fail_item(&items[good[k]], &err);
    for (size_t k = 0; k < g; k++)
        msgpack_unpacked_destroy(&us[k]);
    xq_buf_fini(&preds);
    xq_free(objs);
    xq_free(us);
    xq_free(good);
}

#define WINDOW 256

static bool
run_local(const opts_t *o, const xq_spec_t *spec, const xq_bj_t *j, item_t *items, size_t n) {
    xq_model_opts_t mo = {.output =
                              spec->meta.present ? spec->meta.outputs[0].output_tensor_name : NULL};
    xq_engine_opts_t eo = {.run = {.seed = o->seed}};
    xq_model_t *model = NULL;
    xq_engine_t *eng = NULL;
    xq_error_t err;

    if (xq_model_load(o->model, &mo, &model, &err) != XQ_OK) {
        fprintf(stderr, "explainq batch: model %s: %s\n", o->model, err.msg);
        return false;
    }
    eng = xq_engine_new(spec, model, &eo);
    for (size_t w = 0; w < n; w += WINDOW) {
        size_t m = n - w < WINDOW ? n - w : WINDOW, g = 0, idx[WINDOW], gi[WINDOW];
        msgpack_unpacked us[WINDOW];
        msgpack_object objs[WINDOW];
        xq_engine_result_t res[WINDOW];
        xq_buf_t packed;

        for (size_t k = 0; k < m; k++) {
            idx[k] = w + k;
            if (items[w + k].failed)
                continue;
            msgpack_unpacked_init(&us[g]);
            xq_mp_unpack_one(items[w + k].inst.data, items[w + k].inst.len, &us[g]);
            objs[g] = us[g].data;
            gi[g++] = w + k; /* the instance's number is its input position: its seed stream */
        }
        xq_buf_init(&packed);
        if (j->explain && g) {
            xq_engine_explain(eng, objs, gi, g, &packed, res);
            for (size_t k = 0; k < g; k++) {
                if (res[k].rc != XQ_OK)
                    fail_item(&items[gi[k]], &res[k].err);
                else
                    xq_buf_append(&items[gi[k]].out, packed.data + res[k].off, res[k].len);
            }
        }
        for (size_t k = 0; k < g; k++)
            msgpack_unpacked_destroy(&us[k]);
        xq_buf_fini(&packed);
        predict_items(spec, model, items, idx, m);
        progress(w + m, n, false);
    }
    xq_engine_destroy(eng);
    xq_model_destroy(model);
    return true;
}

/* Waits for one job of the items [from, to) and gives each good one its explanation, or the
 * job's error. */
static void take_job(
    xq_gwq_t *q, xq_gwq_ticket_t *t, long long deadline, item_t *items, size_t from, size_t to) {
    xq_buf_t res;
    char msg[512];
    msgpack_unpacked u;
    const msgpack_object *ex = NULL, *e = NULL, *code = NULL;
    size_t g = 0;
    int status;

    xq_buf_init(&res);
    msgpack_unpacked_init(&u);
    status = xq_gwq_wait(q, t, deadline, &res, msg, sizeof(msg));
    if (!status && xq_mp_unpack_one(res.data, res.len, &u)) {
        ex = xq_mp_map_get(&u.data, "explanations");
        e = xq_mp_map_get(&u.data, "error");
        code = e ? xq_mp_map_get(e, "code") : NULL;
    }
    for (size_t i = from; i < to; i++) {
        xq_error_t je = {.code = status == 504 ? XQ_ETIMEOUT : status ? XQ_EKAFKA : XQ_EMODEL};

        if (items[i].failed)
            continue;
        if (ex && ex->type == MSGPACK_OBJECT_ARRAY && g < ex->via.array.size) {
            const msgpack_object *one = &ex->via.array.ptr[g++], *ie = xq_mp_map_get(one, "error");
            msgpack_packer pk;

            if (ie) { /* this instance failed alone */
                const msgpack_object *m = xq_mp_map_get(ie, "message");

                je.code = XQ_EMODEL;
                snprintf(je.msg, sizeof(je.msg), "%.*s",
                         m && m->type == MSGPACK_OBJECT_STR ? (int)m->via.str.size : 5,
                         m && m->type == MSGPACK_OBJECT_STR ? m->via.str.ptr : "error");
                fail_item(&items[i], &je);
                continue;
            }
            xq_mp_packer_init(&pk, &items[i].out);
            msgpack_pack_object(&pk, *one);
            continue;
        }
        if (status) {
            snprintf(je.msg, sizeof(je.msg), "%.250s", msg);
        } else if (e) {
            const msgpack_object *m = xq_mp_map_get(e, "message");

            if (code && code->type == MSGPACK_OBJECT_STR && code->via.str.size >= 7 &&
                !memcmp(code->via.str.ptr, "invalid", 7))
                je.code = XQ_EINVAL;
            snprintf(je.msg, sizeof(je.msg), "the job of this instance failed: %.*s",
                     m && m->type == MSGPACK_OBJECT_STR ? (int)m->via.str.size : 0,
                     m && m->type == MSGPACK_OBJECT_STR ? m->via.str.ptr : "");
        } else {
            snprintf(je.msg, sizeof(je.msg), "the result has too few explanations");
        }
        fail_item(&items[i], &je);
    }
    msgpack_unpacked_destroy(&u);
    xq_buf_fini(&res);
}

/* Through the workers: instances checked against the runners' tensors first, so a bad one fails
 * alone; then jobs of --job-size, all published before their results are read. */
static bool
run_kafka(const opts_t *o, const xq_spec_t *spec, const xq_bj_t *j, item_t *items, size_t n) {
    const char *props[80];
    size_t np = 0, jobs = 0;
    const char *name = o->model_name ? o->model_name : j->model;
    xq_kmodel_opts_t ko;
    xq_model_t *model = NULL;
    xq_gwq_t *q = NULL;
    xq_error_t err;
    bool ok = false;
    size_t *idx = xq_calloc(n ? n : 1, sizeof(*idx)), *first = NULL;
    xq_gwq_ticket_t **tickets = NULL;
    long long deadline;

    props[np++] = o->bs;
    for (size_t i = 0; i < o->prop_cnt; i++)
        props[np++] = o->props[i];
    ko = (xq_kmodel_opts_t){.props = props, .prop_cnt = np};
    if (!name) {
        fprintf(stderr, "explainq batch: the job names no model; give --model-name\n");
        goto out;
    }
    if (xq_kmodel_open(name, &ko, &model, &err) != XQ_OK) {
        fprintf(stderr, "explainq batch: model %s: %s\n", name, err.msg);
        goto out;
    }
    {
        xq_gwq_opts_t qo = {.props = props,
                            .prop_cnt = np,
                            .jobs_topic = o->topic,
                            .result_topic = o->result_topic,
                            .result_partitions = 4,
                            .timeout_ms = o->timeout_s * 1000};

        if (!(q = xq_gwq_new(&qo, &err))) {
            fprintf(stderr, "explainq batch: %s\n", err.msg);
            goto out;
        }
    }
    for (size_t i = 0; i < n; i++) {
        msgpack_unpacked u;

        idx[i] = i;
        if (items[i].failed)
            continue;
        msgpack_unpacked_init(&u);
        xq_mp_unpack_one(items[i].inst.data, items[i].inst.len, &u);
        if (xq_vertex_predict(spec, model, &u.data, 1, NULL, &err) != XQ_OK) {
            snprintf(err.field, sizeof(err.field), "instances[%zu]", i);
            fail_item(&items[i], &err);
        }
        msgpack_unpacked_destroy(&u);
    }
    tickets = xq_calloc(n / o->job_size + 1, sizeof(*tickets));
    first = xq_calloc(n / o->job_size + 2, sizeof(*first));
    for (size_t i = 0; i < n;) {
        xq_buf_t insts;
        msgpack_packer pk;
        size_t cnt = 0;
        char id[XQ_JOB_ID_SIZE];
        xq_job_view_t v = {0};

        xq_buf_init(&insts);
        xq_mp_packer_init(&pk, &insts);
        first[jobs] = i;
        for (; i < n && cnt < o->job_size; i++) {
            if (!items[i].failed) {
                xq_buf_append(&insts, items[i].inst.data, items[i].inst.len);
                cnt++;
            }
        }
        snprintf(id, sizeof(id), "batch-%d-%lld-%zu", (int)getpid(), (long long)time(NULL), jobs);
        v = (xq_job_view_t){.id = id,
                            .model = name,
                            .spec = spec->canonical,
                            .spec_len = spec->canonical_len,
                            .instances = insts.data,
                            .instances_len = insts.len,
                            .instance_cnt = cnt,
                            .has_seed = true,
                            .seed = o->seed,
                            .output_topic = o->result_topic};
        tickets[jobs++] = cnt && j->explain ? xq_gwq_publish(q, &v) : NULL;
        xq_buf_fini(&insts);
    }
    first[jobs] = n;
    for (size_t w = 0; w < n; w += WINDOW) /* predictions while the workers explain */
        predict_items(spec, model, items, idx + w, n - w < WINDOW ? n - w : WINDOW);
    deadline = 0;
    {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        deadline = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + o->timeout_s * 1000;
    }
    for (size_t k = 0; k < jobs; k++) {
        if (tickets[k])
            take_job(q, tickets[k], deadline, items, first[k], first[k + 1]);
        progress(first[k + 1], n, false);
    }
    ok = true;
out:
    xq_free(tickets);
    xq_free(first);
    xq_free(idx);
    xq_gwq_destroy(q);
    xq_model_destroy(model);
    return ok;
}

/* google.rpc.Code and its name for an error of ours. */
static int rpc_code(xq_err_t code, const char **name) {
    int http = xq_vertex_http_status(code);

    *name = xq_vertex_status_name(http);
    switch (http) {
    case 400:
        return 3;
    case 404:
        return 5;
    case 503:
        return 14;
    case 504:
        return 4;
    default:
        return 13;
    }
}

/* Appends one output line for @p it: results (@p errors_file false) or the errors file. */
static void write_line(const item_t *it, bool explain, bool errors_file, xq_buf_t *line) {
    msgpack_packer pk;
    xq_buf_t mp;
    msgpack_unpacked u;
    const char *name;
    int code = rpc_code(it->err.code, &name);

    xq_buf_init(&mp);
    xq_mp_packer_init(&pk, &mp);
    msgpack_pack_map(&pk, (it->inst.len || it->key.len) + (it->failed ? 1 : 1 + explain));
    if (it->key.len || it->inst.len) {
        xq_mp_pack_str(&pk, it->key.len ? "key" : "instance");
        xq_buf_append(&mp, it->key.len ? it->key.data : it->inst.data,
                      it->key.len ? it->key.len : it->inst.len);
    }
    if (it->failed) {
        char msg[XQ_ERR_FIELD_SIZE + XQ_ERR_MSG_SIZE + 4];

        snprintf(msg, sizeof(msg), "%s%s%s", it->err.field, it->err.field[0] ? ": " : "",
                 it->err.msg);
        xq_mp_pack_str(&pk, "error");
        msgpack_pack_map(&pk, 2);
        xq_mp_pack_str(&pk, errors_file ? "code" : "status");
        if (errors_file)
            msgpack_pack_int(&pk, code);
        else
            xq_mp_pack_str(&pk, name);
        xq_mp_pack_str(&pk, "message");
        xq_mp_pack_str(&pk, msg);
    } else {
        xq_mp_pack_str(&pk, "prediction");
        xq_buf_append(&mp, it->pred.data, it->pred.len);
        if (explain) {
            xq_mp_pack_str(&pk, "explanation");
            xq_buf_append(&mp, it->out.data, it->out.len);
        }
    }
    msgpack_unpacked_init(&u);
    xq_mp_unpack_one(mp.data, mp.len, &u);
    xq_json_from_msgpack(&u.data, 0, line, NULL);
    xq_buf_append(line, "\n", 1);
    msgpack_unpacked_destroy(&u);
    xq_buf_fini(&mp);
}

/* prediction-<model>-<time>/ under the output folder, with the results and errors files. */
static bool write_outputs(const opts_t *o,
                          const xq_bj_t *j,
                          const item_t *items,
                          size_t n,
                          size_t failed,
                          char *dir,
                          size_t dir_size) {
    char stamp[64], path[4400], name[128];
    const char *what = j->explain ? "explanation" : "prediction";
    const char *model = j->display_name[0] ? j->display_name : j->model ? j->model : "model";
    struct timespec ts;
    struct tm tm;
    xq_buf_t line;
    FILE *f;

    (void)o;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(name, sizeof(name), "%.100s", model);
    for (char *c = name; *c; c++)
        if (*c == '/' || *c == ' ')
            *c = '_';
    if (mkdir(j->out_dir, 0777) && errno != EEXIST) {
        fprintf(stderr, "explainq batch: %s: %s\n", j->out_dir, strerror(errno));
        return false;
    }
    snprintf(dir, dir_size, "%s/prediction-%s-%s.%03ldZ", j->out_dir, name, stamp,
             ts.tv_nsec / 1000000);
    if (mkdir(dir, 0777)) {
        fprintf(stderr, "explainq batch: %s: %s\n", dir, strerror(errno));
        return false;
    }
    xq_buf_init(&line);
    for (int file = 0; file < 2; file++) {
        if (file == 1 && !failed)
            break;
        snprintf(path, sizeof(path), "%s/%s.%s-00000-of-00001", dir, what,
                 file ? "errors_stats" : "results");
        if (!(f = fopen(path, "w"))) {
            fprintf(stderr, "explainq batch: %s: %s\n", path, strerror(errno));
            xq_buf_fini(&line);
            return false;
        }
        for (size_t i = 0; i < n; i++) {
            if (file && !items[i].failed)
                continue;
            line.len = 0;
            write_line(&items[i], j->explain, file == 1, &line);
            fwrite(line.data, 1, line.len, f);
        }
        if (fclose(f) != 0) {
            fprintf(stderr, "explainq batch: %s: %s\n", path, strerror(errno));
            xq_buf_fini(&line);
            return false;
        }
    }
    xq_buf_fini(&line);
    return true;
}

int xq_cmd_batch(int argc, char **argv) {
    xq_spec_t *spec = NULL;
    xq_bj_t *j = NULL;
    item_t *items = NULL;
    size_t n = 0, failed = 0, len;
    xq_errlist_t errs;
    uint8_t *text = NULL;
    char dir[4200];
    opts_t o;
    int rc;

    if ((rc = parse_args(argc, argv, &o)) <= 0)
        return rc == 0 ? XQ_EXIT_OK : XQ_EXIT_USAGE;
    rc = XQ_EXIT_USAGE;
    xq_errlist_init(&errs);
    if (!(text = xq_cli_read_file(o.job, &len)))
        goto out;
    if (xq_bj_parse((const char *)text, len, NULL, &j, &errs) != XQ_OK) {
        fprintf(stderr, "explainq batch: %s:\n", o.job);
        xq_cli_print_errors(&errs);
        goto out;
    }
    if (!(spec = load_spec(&o, j)))
        goto out;
    rc = XQ_EXIT_RUNTIME;
    if (!read_inputs(j, spec, &items, &n))
        goto out;
    if (!(o.model ? run_local(&o, spec, j, items, n) : run_kafka(&o, spec, j, items, n)))
        goto out;
    progress(n, n, true);
    for (size_t i = 0; i < n; i++)
        failed += items[i].failed;
    if (!write_outputs(&o, j, items, n, failed, dir, sizeof(dir)))
        goto out;
    printf("{\"completionStats\": {\"successfulCount\": \"%zu\", \"failedCount\": \"%zu\", "
           "\"incompleteCount\": \"0\"}, \"outputInfo\": {\"gcsOutputDirectory\": \"%s\"}}\n",
           n - failed, failed, dir);
    rc = failed ? XQ_EXIT_RUNTIME : XQ_EXIT_OK;
out:
    for (size_t i = 0; i < n; i++) {
        xq_buf_fini(&items[i].inst);
        xq_buf_fini(&items[i].key);
        xq_buf_fini(&items[i].out);
        xq_buf_fini(&items[i].pred);
    }
    xq_free(items);
    xq_free(text);
    xq_errlist_fini(&errs);
    xq_bj_destroy(j);
    xq_spec_destroy(spec);
    return rc;
}
