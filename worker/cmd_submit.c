/* cmd_submit.c -- `explainq submit`: instances into jobs on the jobs topic. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "cli.h"
#include "conf.h"
#include "instances.h"
#include "job.h"
#include "jobs_int.h"
#include "mem.h"
#include "names.h"
#include "spec.h"

typedef struct sent {
    char *id;
    size_t cnt;              /* instances */
    int state;               /* 0: no report yet, 1: delivered, -1: failed */
    rd_kafka_resp_err_t err; /* why it failed */
} sent_t;

typedef struct sent_list {
    sent_t *items;
    size_t n, cap;
} sent_list_t;

static void on_sent(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    sent_list_t *l = opaque;
    size_t i = (size_t)(uintptr_t)m->_private;

    (void)rk;
    if (i < l->n) {
        l->items[i].state = m->err ? -1 : 1;
        l->items[i].err = m->err;
    }
}

static const char submit_usage[] =
    "usage: explainq submit --model NAME (--spec FILE | --spec-id ID) --instances IN.jsonl\n"
    "                       [--metadata FILE] [--parameters FILE] [--format json|csv]\n"
    "                       [--job-size N] [--seed N] [--target-error X] [--jobs-out FILE]\n"
    "                       [--prefix P] [--topic T] [-b BROKERS] [-X key=value]\n"
    "                       [--index ID] [--neighbor-count N] [--crowding-count N]\n"
    "\n"
    "Splits the instances (JSON lines, a {\"instances\": [...]} body, or CSV with a\n"
    "header; see `explainq explain --help`) into jobs of N (default 100),\n"
    "publishes them to the jobs topic (default " XQ_TOPIC_JOBS ") and writes the jobs the\n"
    "broker acknowledged, \"<id>\\t<instances>\" a line, to --jobs-out (default: standard\n"
    "output), for `explainq collect --jobs`; exits 1 if any job was not published.\n"
    "For specs with examples, --index names the example index (default: the spec's\n"
    "latest) and the counts override neighborCount and limit neighbours per crowding tag.\n";

/* What the command line asks for. */
typedef struct sopts {
    const char *model, *spec_path, *spec_id, *in_path, *jobs_out, *topic, *index_id, *meta_path,
        *params_path;
    xq_inst_opts_t iopts;
    uint32_t neighbors, crowding;
    char prefix[96];
    size_t job_size;
    uint64_t seed;
    bool has_seed;
    double target;
} sopts_t;

/* @returns 1 to go on, 0 after --help, -1 after a usage error (printed). */
static int parse_args(int argc, char **argv, sopts_t *o) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

        if (!strcmp(a, "--help")) {
            fputs(submit_usage, stdout);
            return 0;
        }
        if (!val) {
            fputs(submit_usage, stderr);
            return -1;
        }
        i++;
        if (!strcmp(a, "--model"))
            o->model = val;
        else if (!strcmp(a, "--spec"))
            o->spec_path = val;
        else if (!strcmp(a, "--spec-id"))
            o->spec_id = val;
        else if (!strcmp(a, "--metadata"))
            o->meta_path = val;
        else if (!strcmp(a, "--parameters"))
            o->params_path = val;
        else if (!strcmp(a, "--format") && (!strcmp(val, "csv") || !strcmp(val, "json")))
            o->iopts.format = strcmp(val, "csv") ? XQ_INST_JSON : XQ_INST_CSV;
        else if (!strcmp(a, "--instances"))
            o->in_path = val;
        else if (!strcmp(a, "--jobs-out"))
            o->jobs_out = val;
        else if (!strcmp(a, "--topic"))
            o->topic = val;
        else if (!strcmp(a, "--prefix") && strlen(val) >= sizeof(o->prefix)) {
            /* job ids are <prefix>-<6 digits>: a longer prefix would be cut, not refused */
            fprintf(stderr, "explainq submit: --prefix: %zu characters; at most %zu\n", strlen(val),
                    sizeof(o->prefix) - 1);
            return -1;
        } else if (!strcmp(a, "--prefix"))
            snprintf(o->prefix, sizeof(o->prefix), "%s", val);
        else if (!strcmp(a, "--job-size") && atol(val) > 0)
            o->job_size = (size_t)strtoul(val, NULL, 10);
        else if (!strcmp(a, "--seed") && (o->has_seed = true))
            o->seed = strtoull(val, NULL, 10);
        else if (!strcmp(a, "--target-error"))
            o->target = strtod(val, NULL);
        else if (!strcmp(a, "--index"))
            o->index_id = val;
        else if (!strcmp(a, "--neighbor-count") && atol(val) > 0 && atol(val) <= 10000)
            o->neighbors = (uint32_t)atol(val);
        else if (!strcmp(a, "--crowding-count") && atol(val) > 0 && atol(val) <= 10000)
            o->crowding = (uint32_t)atol(val);
        else {
            fprintf(stderr, "explainq submit: bad option %s\n\n%s", a, submit_usage);
            return -1;
        }
    }
    if (!o->model || !o->in_path ||
        (!(o->spec_path || o->meta_path || o->params_path) == !o->spec_id)) {
        fputs(submit_usage, stderr);
        return -1;
    }
    return 1;
}

/*
 * Packs the @p cnt instances of @p insts as job @p id and produces it, recorded in @p sent for
 * its delivery report. @returns the produce error (the job is then marked failed).
 */
static rd_kafka_resp_err_t produce_job(rd_kafka_t *p,
                                       const sopts_t *o,
                                       const xq_spec_t *spec,
                                       char *id,
                                       const xq_buf_t *insts,
                                       size_t cnt,
                                       xq_buf_t *job,
                                       sent_list_t *sent) {
    xq_job_view_t v = {0};
    rd_kafka_resp_err_t e;

    v.id = id;
    v.model = o->model;
    v.spec = spec ? spec->canonical : NULL;
    v.spec_len = spec ? spec->canonical_len : 0;
    v.spec_id = o->spec_id;
    v.instances = insts->data;
    v.instances_len = insts->len;
    v.instance_cnt = cnt;
    v.has_seed = o->has_seed;
    v.seed = o->seed;
    v.target_error = o->target;
    v.index_id = o->index_id;
    v.neighbor_count = o->neighbors;
    v.crowding_count = o->crowding;
    job->len = 0;
    xq_job_pack(&v, job);
    if (sent->n == sent->cap) {
        sent->cap = sent->cap ? 2 * sent->cap : 256;
        sent->items = xq_reallocarray(sent->items, sent->cap, sizeof(*sent->items));
    }
    sent->items[sent->n] = (sent_t){.id = xq_strdup(id), .cnt = cnt};
    while ((e = rd_kafka_producev(p, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_KEY(id, strlen(id)),
                                  RD_KAFKA_V_VALUE(job->data, job->len),
                                  RD_KAFKA_V_OPAQUE((void *)(uintptr_t)sent->n),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
           RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(p, 100);
    sent->n++;
    if (e) {
        sent->items[sent->n - 1].state = -1;
        sent->items[sent->n - 1].err = e;
    }
    return e;
}

/* Reads the instances into jobs of o->job_size and produces them. @returns the exit code. */
static int produce_all(rd_kafka_t *p,
                       const sopts_t *o,
                       const xq_spec_t *spec,
                       xq_inst_reader_t *reader,
                       sent_list_t *sent) {
    char id[XQ_JOB_ID_SIZE];
    size_t n_inst = 0, n_jobs = 0, in_job = 0;
    xq_error_t rerr;
    xq_buf_t insts, job;
    int rc = XQ_EXIT_OK;

    xq_buf_init(&insts);
    xq_buf_init(&job);
    for (;;) {
        bool eof;
        size_t at;

        if (xq_inst_reader_next(reader, &insts, &at, &eof, &rerr) != XQ_OK) {
            fprintf(stderr, "explainq submit: %s: %s\n", o->in_path, rerr.msg);
            rc = XQ_EXIT_USAGE;
            break;
        }
        if (!eof) {
            n_inst++;
            in_job++;
        }
        if (in_job && (in_job == o->job_size || eof)) {
            snprintf(id, sizeof(id), "%s-%06zu", o->prefix, n_jobs++);
            if (produce_job(p, o, spec, id, &insts, in_job, &job, sent)) {
                rc = XQ_EXIT_RUNTIME;
                break;
            }
            insts.len = 0;
            in_job = 0;
            rd_kafka_poll(p, 0);
            jobs_progress("submit", n_inst, 0, false);
        }
        if (eof)
            break;
    }
    rd_kafka_flush(p, 60000);
    jobs_progress("submit", n_inst, 0, true);
    xq_buf_fini(&insts);
    xq_buf_fini(&job);
    return rc;
}

/* Lists the jobs the broker acknowledged, and only those, on @p out. @returns false if any
 * job was not published. */
static bool report(const sent_list_t *sent, const char *topic, bool complete, FILE *out) {
    size_t ok = 0, ok_inst = 0, lost = 0;

    for (size_t i = 0; i < sent->n; i++) {
        if (sent->items[i].state == 1) {
            fprintf(out, "%s\t%zu\n", sent->items[i].id, sent->items[i].cnt);
            ok++;
            ok_inst += sent->items[i].cnt;
            continue;
        }
        if (lost++ < 5)
            fprintf(stderr, "explainq submit: job %s was not published: %s\n", sent->items[i].id,
                    sent->items[i].state ? rd_kafka_err2str(sent->items[i].err)
                                         : "no delivery report within 60 s");
    }
    fprintf(stderr, "explainq submit: %zu instances in %zu jobs published to %s%s\n", ok_inst, ok,
            topic, lost || !complete ? " (and no more: see above)" : "");
    return lost == 0;
}

static int submit(int argc, char **argv, kopts_t *kp) {
    const char *extra[] = {"enable.idempotence=true", "linger.ms=20"};
    xq_inst_reader_t *reader = NULL;
    sent_list_t sent = {0};
    xq_kafka_cbs_t cbs = {.dr_msg_cb = on_sent, .opaque = &sent};
    xq_error_t rerr;
    xq_spec_t *spec = NULL;
    kopts_t k = kp ? *kp : (kopts_t){0};
    FILE *in = NULL, *out = stdout;
    rd_kafka_t *p = NULL;
    rd_kafka_topic_t *rkt = NULL;
    sopts_t o = {.job_size = 100, .topic = kp ? xq_conf_str(kp->conf, "topic.jobs") : NULL};
    int rc;

    if ((rc = parse_args(argc, argv, &o)) <= 0)
        return rc == 0 ? XQ_EXIT_OK : XQ_EXIT_USAGE;
    rc = XQ_EXIT_USAGE;
    if (!o.spec_id &&
        !(spec = xq_cli_load_spec_parts("submit", o.spec_path, o.meta_path, o.params_path)))
        goto out;
    if (!o.prefix[0])
        snprintf(o.prefix, sizeof(o.prefix), "job-%lld-%d", (long long)time(NULL), (int)getpid());
    if (!(in = strcmp(o.in_path, "-") ? fopen(o.in_path, "r") : stdin) ||
        (o.jobs_out && !(out = fopen(o.jobs_out, "w")))) {
        fprintf(stderr, "explainq submit: %s: %s\n", in ? o.jobs_out : o.in_path, strerror(errno));
        out = stdout;
        goto out;
    }
    o.iopts.spec = spec;
    if (xq_inst_reader_new(in, o.in_path, &o.iopts, &reader, &rerr) != XQ_OK) {
        fprintf(stderr, "explainq submit: %s: %s\n", o.in_path, rerr.msg);
        goto out;
    }
    if (!(p = jobs_kafka_client_cbs(&k, RD_KAFKA_PRODUCER, extra, 2, &cbs)))
        goto out;
    rkt = xq_kafka_topic_ready(p, o.topic, 10000);
    rc = produce_all(p, &o, spec, reader, &sent);
    if (!report(&sent, o.topic, rc == XQ_EXIT_OK, out))
        rc = XQ_EXIT_RUNTIME;
out:
    for (size_t i = 0; i < sent.n; i++)
        xq_free(sent.items[i].id);
    xq_free(sent.items);
    xq_inst_reader_destroy(reader);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    if (p)
        rd_kafka_destroy(p);
    if (in && in != stdin)
        fclose(in);
    if (out != stdout)
        fclose(out);
    xq_spec_destroy(spec);
    return rc;
}

int xq_cmd_submit(int argc, char **argv) {
    return jobs_with_config("submit", submit, argc, argv);
}
