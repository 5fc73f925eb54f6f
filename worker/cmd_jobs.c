/* cmd_jobs.c -- the CLI for people: `explainq submit`, `collect`, `status`, `dev-broker`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "cli.h"
#include "clock.h"
#include "config.h"
#include "instances.h"
#include "job.h"
#include "json.h"
#include "kafka.h"
#include "log.h"
#include "mem.h"
#include "mp.h"
#include "parts.h"
#include "redis.h"
#include "signals.h"
#include "spec.h"

extern char **environ;

/* A progress line on a terminal only: "submit: 1200/5000 instances (24%)". */
static void progress_bar(const char *what, size_t done, size_t total, bool final) {
    static long long last;

    if (!isatty(STDERR_FILENO) || (!final && xq_now_ms() - last < 200))
        return;
    last = xq_now_ms();
    if (total)
        fprintf(stderr, "\r%s: %zu/%zu (%zu%%)%s", what, done, total, done * 100 / total,
                final ? "\n" : "");
    else
        fprintf(stderr, "\r%s: %zu%s", what, done, final ? "\n" : "");
}

/* The configuration of a CLI client (config.h): -c, EXPLAINQ_*, -X, -b. */
typedef struct kopts {
    xq_conf_t *conf;
} kopts_t;

/* The command's defaults (@p extra) first, then bootstrap.servers and kafka.*, so the user's
 * settings win. */
static rd_kafka_t *kafka_client_cbs(kopts_t *k,
                                    rd_kafka_type_t type,
                                    const char *const *extra,
                                    size_t extra_cnt,
                                    const xq_kafka_cbs_t *cbs) {
    const char *props[180];
    char errstr[512], bs[512];
    size_t n = 0;
    rd_kafka_t *rk;

    for (size_t i = 0; i < extra_cnt; i++)
        props[n++] = extra[i];
    n += xq_cli_kafka_props(k->conf, type == RD_KAFKA_CONSUMER ? "consumer" : "producer", bs,
                            sizeof(bs), props + n, 160);
    if (!(rk = xq_kafka_new(type, props, n, cbs, errstr, sizeof(errstr))))
        fprintf(stderr, "explainq: kafka: %s\n", errstr);
    return rk;
}

static rd_kafka_t *
kafka_client(kopts_t *k, rd_kafka_type_t type, const char *const *extra, size_t extra_cnt) {
    return kafka_client_cbs(k, type, extra, extra_cnt, NULL);
}

/* Runs @p run with the configuration parsed out of argv. */
static int
with_config(const char *cmd, int (*run)(int argc, char **argv, kopts_t *k), int argc, char **argv) {
    kopts_t k;
    int rc;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help"))
            return run(argc, argv, NULL); /* the usage, before any configuration */
    }
    if (!(k.conf = xq_cli_config(cmd, &argc, argv, environ, &rc)))
        return rc;
    rc = run(argc, argv, &k);
    xq_conf_destroy(k.conf);
    return rc;
}

/* The jobs submit produced, and what their delivery reports said. */
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

/* ==== submit ==== */

static const char submit_usage[] =
    "usage: explainq submit --model NAME (--spec FILE | --spec-id ID) --instances IN.jsonl\n"
    "                       [--metadata FILE] [--parameters FILE] [--format json|csv]\n"
    "                       [--job-size N] [--seed N] [--target-error X] [--jobs-out FILE]\n"
    "                       [--prefix P] [--topic T] [-b BROKERS] [-X key=value]\n"
    "                       [--index ID] [--neighbor-count N] [--crowding-count N]\n"
    "\n"
    "Splits the instances (JSON lines, a {\"instances\": [...]} body, or CSV with a\n"
    "header; see `explainq explain --help`) into jobs of N (default 100),\n"
    "publishes them to the jobs topic (default explain.jobs) and writes the jobs the\n"
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

        if (!(p = kafka_client_cbs(&k, RD_KAFKA_PRODUCER, extra, 2, &cbs)))
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
            progress_bar("submit", n_inst, 0, false);
        }
        if (eof)
            break;
    }
    if (p)
        rd_kafka_flush(p, 60000);
    progress_bar("submit", n_inst, 0, true);
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

/* ==== collect ==== */

static const char collect_usage[] =
    "usage: explainq collect [--out FILE] (--jobs FILE | --count N) [--topic T]\n"
    "                        [--timeout S] [--summary] [-b BROKERS] [-X key=value]\n"
    "\n"
    "Reads results (read_committed) and writes one JSON line per instance, as\n"
    "`explainq explain` does ({\"attributions\": [...]}); a job that failed gives its\n"
    "error line once per instance (when the jobs file gives its instance count, as\n"
    "submit writes it). With --jobs, in the order of that file, and stops when all\n"
    "are in; with --count, after N jobs. --summary prints the top features of each\n"
    "instance. Exits 1 when any job failed, or on a timeout (default 600 s).\n";

typedef struct got {
    char *id;
    size_t cnt;     /* its instances (0: not known) */
    xq_buf_t lines; /* its output lines */
    bool seen;
} got_t;

/* The 3 largest |attributions| of an explanation, for people. */
static void summarize(const char *job, size_t idx, const msgpack_object *ex) {
    const msgpack_object *attrs = xq_mp_map_get(ex, "attributions"), *fa, *name;
    const char *best[3] = {0};
    size_t blen[3] = {0};
    double bv[3] = {0};
    double d;

    if (!attrs || attrs->type != MSGPACK_OBJECT_ARRAY || !attrs->via.array.size)
        return;
    fa = xq_mp_map_get(&attrs->via.array.ptr[0], "featureAttributions");
    name = xq_mp_map_get(&attrs->via.array.ptr[0], "outputDisplayName");
    for (uint32_t i = 0; fa && i < fa->via.map.size; i++) {
        const msgpack_object *k = &fa->via.map.ptr[i].key;

        if (!xq_mp_number(&fa->via.map.ptr[i].val, &d))
            continue;
        for (int s = 0; s < 3; s++) {
            if (!best[s] || (d < 0 ? -d : d) > (bv[s] < 0 ? -bv[s] : bv[s])) {
                for (int t = 2; t > s; t--) {
                    best[t] = best[t - 1];
                    blen[t] = blen[t - 1];
                    bv[t] = bv[t - 1];
                }
                best[s] = k->via.str.ptr;
                blen[s] = k->via.str.size;
                bv[s] = d;
                break;
            }
        }
    }
    fprintf(stderr, "  %s[%zu] %.*s:", job, idx,
            name && name->type == MSGPACK_OBJECT_STR ? (int)name->via.str.size : 0,
            name && name->type == MSGPACK_OBJECT_STR ? name->via.str.ptr : "");
    for (int s = 0; s < 3 && best[s]; s++)
        fprintf(stderr, " %.*s %+.4f", (int)blen[s], best[s], bv[s]);
    fputc('\n', stderr);
}

int xq_cmd_submit(int argc, char **argv) {
    return with_config("submit", submit, argc, argv);
}

static int collect(int argc, char **argv, kopts_t *kp) {
    const char *out_path = NULL, *jobs_path = NULL,
               *topic = kp ? xq_conf_str(kp->conf, "topic.results") : NULL;
    size_t count = 0, want = 0, have = 0, dups = 0, errors = 0, n_got = 0, cap_got = 0,
           inst_errors = 0;
    long timeout_s = 600;
    bool summary = false;
    got_t *got = NULL;
    kopts_t k = kp ? *kp : (kopts_t){0};
    FILE *out = stdout;
    rd_kafka_t *c = NULL;
    xq_parts_t *reasm = NULL;
    xq_buf_t json;
    long long deadline;
    int rc = XQ_EXIT_USAGE;

    xq_buf_init(&json);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

        if (!strcmp(a, "--help")) {
            fputs(collect_usage, stdout);
            return XQ_EXIT_OK;
        }
        if (!strcmp(a, "--summary")) {
            summary = true;
            continue;
        }
        if (!val) {
            fputs(collect_usage, stderr);
            return XQ_EXIT_USAGE;
        }
        i++;
        if (!strcmp(a, "--out"))
            out_path = val;
        else if (!strcmp(a, "--jobs"))
            jobs_path = val;
        else if (!strcmp(a, "--count"))
            count = (size_t)strtoul(val, NULL, 10);
        else if (!strcmp(a, "--topic"))
            topic = val;
        else if (!strcmp(a, "--timeout"))
            timeout_s = strtol(val, NULL, 10);
        else {
            fprintf(stderr, "explainq collect: bad option %s\n\n%s", a, collect_usage);
            return XQ_EXIT_USAGE;
        }
    }
    if (!jobs_path == !count) {
        fputs(collect_usage, stderr);
        return XQ_EXIT_USAGE;
    }
    if (jobs_path) {
        FILE *f = fopen(jobs_path, "r");
        char line[XQ_JOB_ID_SIZE + 32];

        if (!f) {
            fprintf(stderr, "explainq collect: %s: %s\n", jobs_path, strerror(errno));
            return XQ_EXIT_USAGE;
        }
        while (fgets(line, sizeof(line), f)) {
            line[strcspn(line, "\r\n")] = '\0';
            if (!line[0])
                continue;
            if (strchr(line, '\t')) { /* "<id>\t<instances>", as submit writes */
                char *tab = strchr(line, '\t');
                uint64_t icnt = 0;

                *tab = '\0';
                if (!xq_cli_parse_u64(tab + 1, &icnt) || icnt > 1000000) {
                    fprintf(stderr, "explainq collect: %s: bad line for job %s\n", jobs_path, line);
                    fclose(f);
                    return XQ_EXIT_USAGE;
                }
                if (n_got == cap_got) {
                    cap_got = cap_got ? 2 * cap_got : 256;
                    got = xq_reallocarray(got, cap_got, sizeof(*got));
                }
                got[n_got].cnt = (size_t)icnt;
                got[n_got].id = xq_strdup(line);
                got[n_got].seen = false;
                xq_buf_init(&got[n_got++].lines);
                continue;
            }
            if (n_got == cap_got) {
                cap_got = cap_got ? 2 * cap_got : 256;
                got = xq_reallocarray(got, cap_got, sizeof(*got));
            }
            got[n_got].cnt = 0;
            got[n_got].id = xq_strdup(line);
            got[n_got].seen = false;
            xq_buf_init(&got[n_got++].lines);
        }
        fclose(f);
        want = n_got;
    } else {
        want = count;
    }
    if (out_path && !(out = fopen(out_path, "w"))) {
        fprintf(stderr, "explainq collect: %s: %s\n", out_path, strerror(errno));
        out = stdout;
        goto out;
    }
    {
        const char *extra[] = {"group.id=explainq-collect", "enable.auto.commit=false",
                               "isolation.level=read_committed"};
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(8);
        rd_kafka_topic_t *t;

        if (!(c = kafka_client(&k, RD_KAFKA_CONSUMER, extra, 3)))
            goto out;
        t = rd_kafka_topic_new(c, topic, NULL);
        deadline = xq_now_ms() + timeout_s * 1000;
        while (xq_now_ms() < deadline) {
            if (rd_kafka_metadata(c, 0, t, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > 0)
                break;
            if (md)
                rd_kafka_metadata_destroy(md);
            md = NULL;
            sleep(1);
        }
        if (!md) {
            fprintf(stderr, "explainq collect: no topic %s\n", topic);
            rd_kafka_topic_destroy(t);
            rd_kafka_topic_partition_list_destroy(parts);
            rc = XQ_EXIT_RUNTIME;
            goto out;
        }
        for (int i = 0; i < md->topics[0].partition_cnt; i++)
            rd_kafka_topic_partition_list_add(parts, topic, md->topics[0].partitions[i].id)
                ->offset = RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(t);
        rd_kafka_assign(c, parts);
        rd_kafka_topic_partition_list_destroy(parts);
    }
    xq_signals_install();
    rc = XQ_EXIT_OK;
    reasm = xq_parts_new((size_t)1 << 30);
    while (have < want && xq_run_flag && xq_now_ms() < deadline) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(c, 200);
        const msgpack_object *id, *ex, *e, *root;
        msgpack_unpacked msg, whole;
        size_t off = 0, used = 0, slot = SIZE_MAX;
        xq_buf_t *dst = NULL;

        if (!rkm)
            continue;
        msgpack_unpacked_init(&msg);
        msgpack_unpacked_init(&whole);
        if (rkm->err || !xq_mp_validate(rkm->payload, rkm->len, &used) ||
            msgpack_unpack_next(&msg, rkm->payload, rkm->len, &off) != MSGPACK_UNPACK_SUCCESS)
            goto next;
        root = &msg.data;
        if (xq_parts_is_part(root)) {
            /* a large result comes in parts (parts.h): read it once the last one is here */
            const uint8_t *all;
            size_t all_len;
            xq_error_t perr;

            if (xq_parts_add(reasm, root, &all, &all_len, &perr) != XQ_OK) {
                fprintf(stderr, "explainq collect: %s\n", perr.msg);
                goto next;
            }
            if (!all || !xq_mp_unpack_one(all, all_len, &whole))
                goto next;
            root = &whole.data;
        }
        if (!(id = xq_mp_map_get(root, "id")) || id->type != MSGPACK_OBJECT_STR)
            goto next;
        if (jobs_path) {
            for (size_t i = 0; i < n_got && slot == SIZE_MAX; i++) {
                if (xq_mp_str_eq(id, got[i].id))
                    slot = i;
            }
            if (slot == SIZE_MAX)
                goto next; /* another batch's job */
            if (got[slot].seen) {
                dups++;
                goto next;
            }
            got[slot].seen = true;
            dst = &got[slot].lines;
        } else {
            dst = &json;
            json.len = 0;
        }
        have++;
        e = xq_mp_map_get(root, "error");
        ex = xq_mp_map_get(root, "explanations");
        if (e || !ex || ex->type != MSGPACK_OBJECT_ARRAY) {
            /* one error line for each of the job's instances, so lines match the input */
            size_t lines = slot != SIZE_MAX && got[slot].cnt ? got[slot].cnt : 1;

            errors++;
            for (size_t l = 0; l < lines; l++) {
                xq_json_from_msgpack(root, 0, dst, NULL);
                xq_buf_append(dst, "\n", 1);
            }
        } else {
            for (uint32_t i = 0; i < ex->via.array.size; i++) {
                inst_errors += xq_mp_map_get(&ex->via.array.ptr[i], "error") != NULL;
                xq_json_from_msgpack(&ex->via.array.ptr[i], 0, dst, NULL);
                xq_buf_append(dst, "\n", 1);
                if (summary) {
                    char jid[XQ_JOB_ID_SIZE];

                    snprintf(jid, sizeof(jid), "%.*s", (int)id->via.str.size, id->via.str.ptr);
                    summarize(jid, i, &ex->via.array.ptr[i]);
                }
            }
        }
        if (!jobs_path)
            fwrite(json.data, 1, json.len, out);
        progress_bar("collect", have, want, false);
next:
        msgpack_unpacked_destroy(&whole);
        msgpack_unpacked_destroy(&msg);
        rd_kafka_message_destroy(rkm);
    }
    for (size_t i = 0; i < n_got; i++)
        fwrite(got[i].lines.data, 1, got[i].lines.len, out);
    progress_bar("collect", have, want, true);
    fprintf(stderr, "explainq collect: %zu of %zu jobs, %zu failed, %zu duplicate results\n", have,
            want, errors, dups);
    if (inst_errors)
        fprintf(stderr, "explainq collect: %zu instances failed alone (error lines in place)\n",
                inst_errors);
    if (have < want || errors || inst_errors)
        rc = XQ_EXIT_RUNTIME;
    if (fflush(out) != 0)
        rc = XQ_EXIT_RUNTIME;
out:
    if (c) {
        rd_kafka_consumer_close(c);
        rd_kafka_destroy(c);
    }
    if (out != stdout)
        fclose(out);
    for (size_t i = 0; i < n_got; i++) {
        xq_free(got[i].id);
        xq_buf_fini(&got[i].lines);
    }
    xq_free(got);
    xq_buf_fini(&json);
    xq_parts_destroy(reasm);
    return rc;
}

int xq_cmd_collect(int argc, char **argv) {
    return with_config("collect", collect, argc, argv);
}

/* ==== status ==== */

static int status(int argc, char **argv, kopts_t *kp) {
    const char *url = NULL, *job = NULL;
    kopts_t k = kp ? *kp : (kopts_t){0};
    xq_error_t err;
    int rc = XQ_EXIT_OK;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) {
            puts(
                "usage: explainq status [--redis HOST:PORT] [-b BROKERS] [-c FILE] [-X key=value]\n"
                "                       [--dump-config] [JOB]\n\n"
                "With JOB: its progress from Redis (explainq:job:<id>; redis.url, redis.*).\n"
                "Without: the consumer lag of the workers' group (group.id) on topic.jobs.");
            return XQ_EXIT_OK;
        } else if (!strcmp(argv[i], "--redis") && i + 1 < argc) {
            url = argv[++i];
        } else if (argv[i][0] != '-') {
            job = argv[i];
        } else {
            fprintf(stderr, "explainq status: bad option %s\n", argv[i]);
            return XQ_EXIT_USAGE;
        }
    }
    if (job) {
        xq_redis_t *r = xq_cli_redis(k.conf, url, 2000, &err);
        char key[XQ_JOB_ID_SIZE + 16];
        xq_buf_t b;

        if (!r) {
            fprintf(stderr, "explainq status: %s\n", err.msg);
            return XQ_EXIT_USAGE;
        }
        xq_buf_init(&b);
        snprintf(key, sizeof(key), "explainq:job:%s", job);
        if (xq_redis_hgetall(r, key, &b, &err) != XQ_OK) {
            fprintf(stderr, "explainq status: %s\n", err.msg);
            rc = XQ_EXIT_RUNTIME;
        } else {
            printf("job %s\n%s", job, xq_buf_cstr(&b));
        }
        xq_buf_fini(&b);
        xq_redis_destroy(r);
        return rc;
    }
    {
        const char *topic = xq_conf_str(k.conf, "topic.jobs"),
                   *group = xq_conf_str(k.conf, "group.id");
        char gid[320];
        const char *extra[] = {gid};
        rd_kafka_t *c;

        snprintf(gid, sizeof(gid), "group.id=%s", group);
        c = kafka_client(&k, RD_KAFKA_CONSUMER, extra, 1);
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_partition_list_t *parts;
        rd_kafka_topic_t *t;
        long long lag = 0;

        if (!c)
            return XQ_EXIT_USAGE;
        t = rd_kafka_topic_new(c, topic, NULL);
        if (rd_kafka_metadata(c, 0, t, &md, 10000) || md->topic_cnt != 1 || md->topics[0].err) {
            fprintf(stderr, "explainq status: no topic %s\n", topic);
            rc = XQ_EXIT_RUNTIME;
        } else {
            parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
            for (int i = 0; i < md->topics[0].partition_cnt; i++)
                rd_kafka_topic_partition_list_add(parts, topic, md->topics[0].partitions[i].id);
            rd_kafka_committed(c, parts, 10000);
            for (int i = 0; i < parts->cnt; i++) {
                int64_t lo = 0, hi = 0, pos = parts->elems[i].offset;

                rd_kafka_query_watermark_offsets(c, topic, parts->elems[i].partition, &lo, &hi,
                                                 10000);
                char committed[32] = "none";

                if (pos >= 0)
                    snprintf(committed, sizeof(committed), "%lld", (long long)pos);
                printf("%s/%d: committed %s, end %lld, lag %lld\n", topic,
                       (int)parts->elems[i].partition, committed, (long long)hi,
                       (long long)(hi - (pos < 0 ? lo : pos)));
                lag += hi - (pos < 0 ? lo : pos);
            }
            printf("%s: %lld jobs waiting for the group %s\n", topic, lag, group);
            rd_kafka_topic_partition_list_destroy(parts);
        }
        if (md)
            rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(t);
        rd_kafka_destroy(c);
    }
    return rc;
}

int xq_cmd_status(int argc, char **argv) {
    return with_config("status", status, argc, argv);
}

/* ==== dev-broker ==== */

int xq_cmd_dev_broker(int argc, char **argv) {
    static const char *const topics[] = {"explain.jobs", "explain.results", "explain.dlq",
                                         "explain.replies"};
    char errstr[512];
    const char *props[] = {"test.mock.num.brokers=1"};
    rd_kafka_mock_cluster_t *mc;
    rd_kafka_t *rk;

    if (argc > 1) {
        puts("usage: explainq dev-broker\n\n"
             "Runs librdkafka's in-process mock Kafka cluster on 127.0.0.1 for trying\n"
             "explainq without a broker, and prints its bootstrap.servers. Not for\n"
             "production: it keeps everything in memory and does not honour\n"
             "read_committed. SIGTERM stops it.");
        return strcmp(argv[1], "--help") ? XQ_EXIT_USAGE : XQ_EXIT_OK;
    }
    if (!(rk = xq_kafka_new(RD_KAFKA_PRODUCER, props, 1, NULL, errstr, sizeof(errstr)))) {
        fprintf(stderr, "explainq dev-broker: %s\n", errstr);
        return XQ_EXIT_RUNTIME;
    }
    mc = rd_kafka_handle_mock_cluster(rk);
    for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++)
        rd_kafka_mock_topic_create(mc, topics[i], i == 3 ? 8 : 4, 1);
    printf("bootstrap.servers=%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    xq_signals_install();
    while (xq_run_flag)
        rd_kafka_poll(rk, 200);
    rd_kafka_destroy(rk);
    return XQ_EXIT_OK;
}
