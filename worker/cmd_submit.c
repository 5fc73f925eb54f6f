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

static int submit(int argc, char **argv, kopts_t *kp) {
    const char *model = NULL, *spec_path = NULL, *spec_id = NULL, *in_path = NULL, *jobs_out = NULL,
               *topic = kp ? xq_conf_str(kp->conf, "topic.jobs") : NULL, *index_id = NULL,
               *meta_path = NULL, *params_path = NULL;
    xq_inst_opts_t iopts = {0};
    xq_inst_reader_t *reader = NULL;
    sent_list_t sent = {0};
    uint32_t neighbors = 0, crowding = 0;
    char prefix[96] = "", id[XQ_JOB_ID_SIZE];
    size_t job_size = 100, n_inst = 0, n_jobs = 0;
    xq_error_t rerr;
    xq_buf_t insts, job;
    xq_spec_t *spec = NULL;
    xq_job_view_t v;
    kopts_t k = kp ? *kp : (kopts_t){0};
    FILE *in = NULL, *out = stdout;
    rd_kafka_t *p = NULL;
    uint64_t seed = 0;
    bool has_seed = false;
    double target = 0;
    int rc = XQ_EXIT_USAGE;

    xq_buf_init(&insts);
    xq_buf_init(&job);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

        if (!strcmp(a, "--help")) {
            fputs(submit_usage, stdout);
            return XQ_EXIT_OK;
        }
        if (!val) {
            fputs(submit_usage, stderr);
            return XQ_EXIT_USAGE;
        }
        i++;
        if (!strcmp(a, "--model"))
            model = val;
        else if (!strcmp(a, "--spec"))
            spec_path = val;
        else if (!strcmp(a, "--spec-id"))
            spec_id = val;
        else if (!strcmp(a, "--metadata"))
            meta_path = val;
        else if (!strcmp(a, "--parameters"))
            params_path = val;
        else if (!strcmp(a, "--format") && (!strcmp(val, "csv") || !strcmp(val, "json")))
            iopts.format = strcmp(val, "csv") ? XQ_INST_JSON : XQ_INST_CSV;
        else if (!strcmp(a, "--instances"))
            in_path = val;
        else if (!strcmp(a, "--jobs-out"))
            jobs_out = val;
        else if (!strcmp(a, "--topic"))
            topic = val;
        else if (!strcmp(a, "--prefix") && strlen(val) >= sizeof(prefix)) {
            /* job ids are <prefix>-<6 digits>: a longer prefix would be cut, not refused */
            fprintf(stderr, "explainq submit: --prefix: %zu characters; at most %zu\n", strlen(val),
                    sizeof(prefix) - 1);
            return XQ_EXIT_USAGE;
        } else if (!strcmp(a, "--prefix"))
            snprintf(prefix, sizeof(prefix), "%s", val);
        else if (!strcmp(a, "--job-size") && atol(val) > 0)
            job_size = (size_t)strtoul(val, NULL, 10);
        else if (!strcmp(a, "--seed") && (has_seed = true))
            seed = strtoull(val, NULL, 10);
        else if (!strcmp(a, "--target-error"))
            target = strtod(val, NULL);
        else if (!strcmp(a, "--index"))
            index_id = val;
        else if (!strcmp(a, "--neighbor-count") && atol(val) > 0 && atol(val) <= 10000)
            neighbors = (uint32_t)atol(val);
        else if (!strcmp(a, "--crowding-count") && atol(val) > 0 && atol(val) <= 10000)
            crowding = (uint32_t)atol(val);
        else {
            fprintf(stderr, "explainq submit: bad option %s\n\n%s", a, submit_usage);
            return XQ_EXIT_USAGE;
        }
    }
    if (!model || !in_path || (!(spec_path || meta_path || params_path) == !spec_id)) {
        fputs(submit_usage, stderr);
        return XQ_EXIT_USAGE;
    }
    if (!spec_id && !(spec = xq_cli_load_spec_parts("submit", spec_path, meta_path, params_path)))
        goto out;
    if (!prefix[0])
        snprintf(prefix, sizeof(prefix), "job-%lld-%d", (long long)time(NULL), (int)getpid());
    if (!(in = strcmp(in_path, "-") ? fopen(in_path, "r") : stdin) ||
        (jobs_out && !(out = fopen(jobs_out, "w")))) {
        fprintf(stderr, "explainq submit: %s: %s\n", in ? jobs_out : in_path, strerror(errno));
        out = stdout;
        goto out;
    }
    iopts.spec = spec;
    if (xq_inst_reader_new(in, in_path, &iopts, &reader, &rerr) != XQ_OK) {
        fprintf(stderr, "explainq submit: %s: %s\n", in_path, rerr.msg);
        goto out;
    }
    {
        const char *extra[] = {"enable.idempotence=true", "linger.ms=20"};
        xq_kafka_cbs_t cbs = {.dr_msg_cb = on_sent, .opaque = &sent};

        if (!(p = jobs_kafka_client_cbs(&k, RD_KAFKA_PRODUCER, extra, 2, &cbs)))
            goto out;
    }
    rc = XQ_EXIT_OK;
    for (size_t in_job = 0;;) {
        bool eof;
        size_t at;

        if (xq_inst_reader_next(reader, &insts, &at, &eof, &rerr) != XQ_OK) {
            fprintf(stderr, "explainq submit: %s: %s\n", in_path, rerr.msg);
            rc = XQ_EXIT_USAGE;
            break;
        }
        if (!eof) {
            n_inst++;
            in_job++;
        }
        if (in_job && (in_job == job_size || eof)) {
            rd_kafka_resp_err_t e;

            snprintf(id, sizeof(id), "%s-%06zu", prefix, n_jobs++);
            memset(&v, 0, sizeof(v));
            v.id = id;
            v.model = model;
            v.spec = spec ? spec->canonical : NULL;
            v.spec_len = spec ? spec->canonical_len : 0;
            v.spec_id = spec_id;
            v.instances = insts.data;
            v.instances_len = insts.len;
            v.instance_cnt = in_job;
            v.has_seed = has_seed;
            v.seed = seed;
            v.target_error = target;
            v.index_id = index_id;
            v.neighbor_count = neighbors;
            v.crowding_count = crowding;
            job.len = 0;
            xq_job_pack(&v, &job);
            if (sent.n == sent.cap) {
                sent.cap = sent.cap ? 2 * sent.cap : 256;
                sent.items = xq_reallocarray(sent.items, sent.cap, sizeof(*sent.items));
            }
            sent.items[sent.n] = (sent_t){.id = xq_strdup(id), .cnt = in_job};
            while (
                (e = rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(id, strlen(id)),
                                       RD_KAFKA_V_VALUE(job.data, job.len),
                                       RD_KAFKA_V_OPAQUE((void *)(uintptr_t)sent.n),
                                       RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
                RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(p, 100);
            sent.n++;
            if (e) {
                sent.items[sent.n - 1].state = -1;
                sent.items[sent.n - 1].err = e;
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
    if (p)
        rd_kafka_flush(p, 60000);
    jobs_progress("submit", n_inst, 0, true);
    /* only the jobs the broker acknowledged are listed, and said to be published */
    {
        size_t ok = 0, ok_inst = 0, lost = 0;

        for (size_t i = 0; i < sent.n; i++) {
            if (sent.items[i].state == 1) {
                fprintf(out, "%s\t%zu\n", sent.items[i].id, sent.items[i].cnt);
                ok++;
                ok_inst += sent.items[i].cnt;
                continue;
            }
            if (lost++ < 5)
                fprintf(stderr, "explainq submit: job %s was not published: %s\n", sent.items[i].id,
                        sent.items[i].state ? rd_kafka_err2str(sent.items[i].err)
                                            : "no delivery report within 60 s");
        }
        if (lost)
            rc = XQ_EXIT_RUNTIME;
        fprintf(stderr, "explainq submit: %zu instances in %zu jobs published to %s%s\n", ok_inst,
                ok, topic, lost || rc != XQ_EXIT_OK ? " (and no more: see above)" : "");
    }
out:
    for (size_t i = 0; i < sent.n; i++)
        xq_free(sent.items[i].id);
    xq_free(sent.items);
    xq_inst_reader_destroy(reader);
    if (p)
        rd_kafka_destroy(p);
    if (in && in != stdin)
        fclose(in);
    if (out != stdout)
        fclose(out);
    xq_spec_destroy(spec);
    xq_buf_fini(&insts);
    xq_buf_fini(&job);
    return rc;
}

int xq_cmd_submit(int argc, char **argv) {
    return jobs_with_config("submit", submit, argc, argv);
}
