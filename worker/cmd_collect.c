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
        const char *extra[] = {("group.id=" XQ_GROUP_COLLECT), "enable.auto.commit=false",
                               "isolation.level=read_committed"};
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(8);
        rd_kafka_topic_t *t;

        if (!(c = jobs_kafka_client(&k, RD_KAFKA_CONSUMER, extra, 3)))
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
        jobs_progress("collect", have, want, false);
next:
        msgpack_unpacked_destroy(&whole);
        msgpack_unpacked_destroy(&msg);
        rd_kafka_message_destroy(rkm);
    }
    for (size_t i = 0; i < n_got; i++)
        fwrite(got[i].lines.data, 1, got[i].lines.len, out);
    jobs_progress("collect", have, want, true);
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
    return jobs_with_config("collect", collect, argc, argv);
}
