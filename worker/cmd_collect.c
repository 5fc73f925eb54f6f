/* cmd_collect.c -- `explainq collect`: results (read_committed) back to JSON lines. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "cli.h"
#include "clock.h"
#include "conf.h"
#include "job.h"
#include "jobs_int.h"
#include "json.h"
#include "mem.h"
#include "mp.h"
#include "names.h"
#include "parts.h"
#include "signals.h"

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

/* A job of the jobs file. */
typedef struct got {
    char *id;
    size_t cnt;     /* its instances (0: not known) */
    xq_buf_t lines; /* its output lines */
    bool seen;
} got_t;

/* What collect has read so far. */
typedef struct collector {
    bool by_jobs; /* --jobs: only the jobs of the file, in its order; else --count */
    got_t *got;   /* the jobs file's jobs */
    size_t n_got, cap_got;
    bool summary;
    size_t want, have, dups, errors, inst_errors;
    xq_buf_t json; /* --count: the lines of the current result */
    FILE *out;
} collector_t;

static void add_job(collector_t *cl, const char *id, size_t cnt) {
    if (cl->n_got == cl->cap_got) {
        cl->cap_got = cl->cap_got ? 2 * cl->cap_got : 256;
        cl->got = xq_reallocarray(cl->got, cl->cap_got, sizeof(*cl->got));
    }
    cl->got[cl->n_got].cnt = cnt;
    cl->got[cl->n_got].id = xq_strdup(id);
    cl->got[cl->n_got].seen = false;
    xq_buf_init(&cl->got[cl->n_got++].lines);
}

/* Reads the jobs file: "<id>\t<instances>" lines as submit writes them, or bare ids. */
static bool read_jobs(collector_t *cl, const char *path) {
    FILE *f = fopen(path, "r");
    char line[XQ_JOB_ID_SIZE + 32];

    if (!f) {
        fprintf(stderr, "explainq collect: %s: %s\n", path, strerror(errno));
        return false;
    }
    while (fgets(line, sizeof(line), f)) {
        char *tab;
        uint64_t icnt = 0;

        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0])
            continue;
        if ((tab = strchr(line, '\t'))) {
            *tab = '\0';
            if (!xq_cli_parse_u64(tab + 1, &icnt) || icnt > 1000000) {
                fprintf(stderr, "explainq collect: %s: bad line for job %s\n", path, line);
                fclose(f);
                return false;
            }
        }
        add_job(cl, line, (size_t)icnt);
    }
    fclose(f);
    return true;
}

/* Waits up to @p deadline for @p topic and assigns every partition of it from the start. */
static bool assign_all(rd_kafka_t *c, const char *topic, long long deadline) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_partition_list_t *parts;
    rd_kafka_topic_t *t = rd_kafka_topic_new(c, topic, NULL);

    while (xq_now_ms() < deadline) {
        if (rd_kafka_metadata(c, 0, t, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > 0)
            break;
        if (md)
            rd_kafka_metadata_destroy(md);
        md = NULL;
        sleep(1);
    }
    rd_kafka_topic_destroy(t);
    if (!md) {
        fprintf(stderr, "explainq collect: no topic %s\n", topic);
        return false;
    }
    parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
    for (int i = 0; i < md->topics[0].partition_cnt; i++)
        rd_kafka_topic_partition_list_add(parts, topic, md->topics[0].partitions[i].id)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_metadata_destroy(md);
    rd_kafka_assign(c, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    return true;
}

/* One whole result message: its lines, one per instance, into the job's buffer (or out). */
static void take_result(collector_t *cl, const msgpack_object *root) {
    const msgpack_object *id = xq_mp_map_get(root, "id"), *ex, *e;
    size_t slot = SIZE_MAX;
    xq_buf_t *dst = &cl->json;

    if (!id || id->type != MSGPACK_OBJECT_STR)
        return;
    if (cl->by_jobs) {
        for (size_t i = 0; i < cl->n_got && slot == SIZE_MAX; i++) {
            if (xq_mp_str_eq(id, cl->got[i].id))
                slot = i;
        }
        if (slot == SIZE_MAX)
            return; /* another batch's job */
        if (cl->got[slot].seen) {
            cl->dups++;
            return;
        }
        cl->got[slot].seen = true;
        dst = &cl->got[slot].lines;
    } else {
        cl->json.len = 0;
    }
    cl->have++;
    e = xq_mp_map_get(root, "error");
    ex = xq_mp_map_get(root, "explanations");
    if (e || !ex || ex->type != MSGPACK_OBJECT_ARRAY) {
        /* one error line for each of the job's instances, so lines match the input */
        size_t lines = slot != SIZE_MAX && cl->got[slot].cnt ? cl->got[slot].cnt : 1;

        cl->errors++;
        for (size_t l = 0; l < lines; l++) {
            xq_json_from_msgpack(root, 0, dst, NULL);
            xq_buf_append(dst, "\n", 1);
        }
    } else {
        for (uint32_t i = 0; i < ex->via.array.size; i++) {
            cl->inst_errors += xq_mp_map_get(&ex->via.array.ptr[i], "error") != NULL;
            xq_json_from_msgpack(&ex->via.array.ptr[i], 0, dst, NULL);
            xq_buf_append(dst, "\n", 1);
            if (cl->summary) {
                char jid[XQ_JOB_ID_SIZE];

                snprintf(jid, sizeof(jid), "%.*s", (int)id->via.str.size, id->via.str.ptr);
                summarize(jid, i, &ex->via.array.ptr[i]);
            }
        }
    }
    if (!cl->by_jobs)
        fwrite(cl->json.data, 1, cl->json.len, cl->out);
    jobs_progress("collect", cl->have, cl->want, false);
}

/* One message of the results topic: a result, or a part of one (parts.h). */
static void take_message(collector_t *cl, xq_parts_t *reasm, const rd_kafka_message_t *rkm) {
    msgpack_unpacked msg, whole;
    const msgpack_object *root;
    size_t off = 0, used = 0;

    msgpack_unpacked_init(&msg);
    msgpack_unpacked_init(&whole);
    if (rkm->err || !xq_mp_validate(rkm->payload, rkm->len, &used) ||
        msgpack_unpack_next(&msg, rkm->payload, rkm->len, &off) != MSGPACK_UNPACK_SUCCESS)
        goto out;
    root = &msg.data;
    if (xq_parts_is_part(root)) {
        /* a large result comes in parts: read it once the last one is here */
        const uint8_t *all;
        size_t all_len;
        xq_error_t perr;

        if (xq_parts_add(reasm, root, &all, &all_len, &perr) != XQ_OK) {
            fprintf(stderr, "explainq collect: %s\n", perr.msg);
            goto out;
        }
        if (!all || !xq_mp_unpack_one(all, all_len, &whole))
            goto out;
        root = &whole.data;
    }
    take_result(cl, root);
out:
    msgpack_unpacked_destroy(&whole);
    msgpack_unpacked_destroy(&msg);
}

/* What the command line asks for. */
typedef struct copts {
    const char *out_path, *jobs_path, *topic;
    size_t count;
    long timeout_s;
    bool summary;
} copts_t;

/* @returns 1 to go on, 0 after --help, -1 after a usage error (printed). */
static int parse_args(int argc, char **argv, copts_t *o) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

        if (!strcmp(a, "--help")) {
            fputs(collect_usage, stdout);
            return 0;
        }
        if (!strcmp(a, "--summary")) {
            o->summary = true;
            continue;
        }
        if (!val) {
            fputs(collect_usage, stderr);
            return -1;
        }
        i++;
        if (!strcmp(a, "--out"))
            o->out_path = val;
        else if (!strcmp(a, "--jobs"))
            o->jobs_path = val;
        else if (!strcmp(a, "--count"))
            o->count = (size_t)strtoul(val, NULL, 10);
        else if (!strcmp(a, "--topic"))
            o->topic = val;
        else if (!strcmp(a, "--timeout"))
            o->timeout_s = strtol(val, NULL, 10);
        else {
            fprintf(stderr, "explainq collect: bad option %s\n\n%s", a, collect_usage);
            return -1;
        }
    }
    if (!o->jobs_path == !o->count) {
        fputs(collect_usage, stderr);
        return -1;
    }
    return 1;
}

static int collect(int argc, char **argv, kopts_t *kp) {
    const char *extra[] = {("group.id=" XQ_GROUP_COLLECT), "enable.auto.commit=false",
                           "isolation.level=read_committed"};
    copts_t o = {.timeout_s = 600, .topic = kp ? xq_conf_str(kp->conf, "topic.results") : NULL};
    collector_t cl = {.out = stdout};
    kopts_t k = kp ? *kp : (kopts_t){0};
    rd_kafka_t *c = NULL;
    xq_parts_t *reasm = NULL;
    long long deadline;
    int rc;

    if ((rc = parse_args(argc, argv, &o)) <= 0)
        return rc == 0 ? XQ_EXIT_OK : XQ_EXIT_USAGE;
    rc = XQ_EXIT_USAGE;
    xq_buf_init(&cl.json);
    cl.summary = o.summary;
    cl.by_jobs = o.jobs_path != NULL;
    if (o.jobs_path && !read_jobs(&cl, o.jobs_path))
        goto out;
    cl.want = o.jobs_path ? cl.n_got : o.count;
    if (o.out_path && !(cl.out = fopen(o.out_path, "w"))) {
        fprintf(stderr, "explainq collect: %s: %s\n", o.out_path, strerror(errno));
        cl.out = stdout;
        goto out;
    }
    if (!(c = jobs_kafka_client(&k, RD_KAFKA_CONSUMER, extra, 3)))
        goto out;
    deadline = xq_now_ms() + o.timeout_s * 1000;
    if (!assign_all(c, o.topic, deadline)) {
        rc = XQ_EXIT_RUNTIME;
        goto out;
    }
    xq_signals_install();
    rc = XQ_EXIT_OK;
    reasm = xq_parts_new((size_t)1 << 30);
    while (cl.have < cl.want && xq_run_flag && xq_now_ms() < deadline) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(c, 200);

        if (!rkm)
            continue;
        take_message(&cl, reasm, rkm);
        rd_kafka_message_destroy(rkm);
    }
    for (size_t i = 0; i < cl.n_got; i++)
        fwrite(cl.got[i].lines.data, 1, cl.got[i].lines.len, cl.out);
    jobs_progress("collect", cl.have, cl.want, true);
    fprintf(stderr, "explainq collect: %zu of %zu jobs, %zu failed, %zu duplicate results\n",
            cl.have, cl.want, cl.errors, cl.dups);
    if (cl.inst_errors)
        fprintf(stderr, "explainq collect: %zu instances failed alone (error lines in place)\n",
                cl.inst_errors);
    if (cl.have < cl.want || cl.errors || cl.inst_errors)
        rc = XQ_EXIT_RUNTIME;
    if (fflush(cl.out) != 0)
        rc = XQ_EXIT_RUNTIME;
out:
    if (c) {
        rd_kafka_consumer_close(c);
        rd_kafka_destroy(c);
    }
    if (cl.out != stdout)
        fclose(cl.out);
    for (size_t i = 0; i < cl.n_got; i++) {
        xq_free(cl.got[i].id);
        xq_buf_fini(&cl.got[i].lines);
    }
    xq_free(cl.got);
    xq_buf_fini(&cl.json);
    xq_parts_destroy(reasm);
    return rc;
}

int xq_cmd_collect(int argc, char **argv) {
    return jobs_with_config("collect", collect, argc, argv);
}
