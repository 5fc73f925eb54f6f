/* cmd_status.c -- `explainq status`: a job's progress from Redis, or the workers' lag. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "cli.h"
#include "conf.h"
#include "config.h"
#include "job.h"
#include "jobs_int.h"
#include "mem.h"
#include "names.h"
#include "redis.h"

static const char status_usage[] =
    "usage: explainq status [--redis HOST:PORT] [--topic T] [--group G] [-b BROKERS]\n"
    "                       [-c FILE] [-X key=value] [--dump-config] [JOB]\n"
    "\n"
    "With JOB: its progress from Redis (" XQ_KEY_JOB "<id>; redis.url, redis.*).\n"
    "Without: the consumer lag of the workers' group (group.id, or --group) on the\n"
    "topic they read: topic.jobs, or input.topic when input.format=instances (a\n"
    "stream), as the worker's configuration says; --topic names another.\n";

/* A job's progress hash. */
static int job_status(const kopts_t *k, const char *url, const char *job) {
    xq_redis_t *r = NULL;
    char key[XQ_JOB_ID_SIZE + 32];
    xq_error_t err;
    xq_buf_t b;
    int rc = XQ_EXIT_RUNTIME;

    xq_buf_init(&b);
    if (strlen(job) >= XQ_JOB_ID_SIZE || !xq_key_job(key, sizeof(key), job)) {
        fprintf(stderr, "explainq status: a job id has at most %d bytes\n", XQ_JOB_ID_SIZE - 1);
        rc = XQ_EXIT_USAGE;
        goto out;
    }
    if (!(r = xq_cli_redis(k->conf, url, 2000, &err))) {
        fprintf(stderr, "explainq status: %s\n", err.msg);
        rc = XQ_EXIT_USAGE;
        goto out;
    }
    if (xq_redis_hgetall(r, key, &b, &err) != XQ_OK) {
        fprintf(stderr, "explainq status: %s\n", err.msg);
        goto out;
    }
    printf("job %s\n%s", job, xq_buf_cstr(&b));
    rc = XQ_EXIT_OK;
out:
    xq_buf_fini(&b);
    xq_redis_destroy(r);
    return rc;
}

/* The topic the workers consume, as their configuration says (the worker's option table). */
static const char *workers_topic(const kopts_t *k) {
    const char *input = xq_conf_str(k->conf, "input.format"),
               *stream = xq_conf_str(k->conf, "input.topic");

    if (input && !strcmp(input, "instances"))
        return stream && stream[0] ? stream : XQ_TOPIC_INSTANCES;
    return xq_conf_str(k->conf, "topic.jobs");
}

/* Per partition of @p topic: the group's committed offset, the end, and the lag. */
static int print_lag(rd_kafka_t *c, const char *topic, const char *group) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(c, topic, NULL);
    rd_kafka_resp_err_t e;
    long long lag = 0;
    int rc = XQ_EXIT_RUNTIME;

    if (rd_kafka_metadata(c, 0, t, &md, 10000) || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "explainq status: no topic %s\n", topic);
        goto out;
    }
    parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
    for (int i = 0; i < md->topics[0].partition_cnt; i++)
        rd_kafka_topic_partition_list_add(parts, topic, md->topics[0].partitions[i].id);
    if ((e = rd_kafka_committed(c, parts, 10000))) {
        fprintf(stderr, "explainq status: the committed offsets of %s: %s\n", group,
                rd_kafka_err2str(e));
        goto out;
    }
    for (int i = 0; i < parts->cnt; i++) {
        int64_t lo = 0, hi = 0, pos = parts->elems[i].offset;
        char committed[32] = "none";

        if ((e = rd_kafka_query_watermark_offsets(c, topic, parts->elems[i].partition, &lo, &hi,
                                                  10000))) {
            fprintf(stderr, "explainq status: the end of %s/%d: %s\n", topic,
                    (int)parts->elems[i].partition, rd_kafka_err2str(e));
            goto out;
        }
        if (pos >= 0)
            snprintf(committed, sizeof(committed), "%lld", (long long)pos);
        printf("%s/%d: committed %s, end %lld, lag %lld\n", topic, (int)parts->elems[i].partition,
               committed, (long long)hi, (long long)(hi - (pos < 0 ? lo : pos)));
        lag += hi - (pos < 0 ? lo : pos);
    }
    printf("%s: %lld jobs waiting for the group %s\n", topic, lag, group);
    rc = XQ_EXIT_OK;
out:
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
    return rc;
}

static int status(int argc, char **argv, kopts_t *kp) {
    const char *url = NULL, *job = NULL, *topic = NULL, *group = NULL;
    kopts_t k = kp ? *kp : (kopts_t){0};
    const char *extra[1];
    char gid[320];
    rd_kafka_t *c;
    int rc;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

        if (!strcmp(a, "--help")) {
            fputs(status_usage, stdout);
            return XQ_EXIT_OK;
        } else if (!strcmp(a, "--redis") && val) {
            url = argv[++i];
        } else if (!strcmp(a, "--topic") && val) {
            topic = argv[++i];
        } else if (!strcmp(a, "--group") && val) {
            group = argv[++i];
        } else if (a[0] != '-' && !job) {
            job = a;
        } else {
            fprintf(stderr, "explainq status: bad option %s\n\n%s", a, status_usage);
            return XQ_EXIT_USAGE;
        }
    }
    if (job)
        return job_status(&k, url, job);
    topic = topic ? topic : workers_topic(&k);
    group = group ? group : xq_conf_str(k.conf, "group.id");
    if ((size_t)snprintf(gid, sizeof(gid), "group.id=%s", group) >= sizeof(gid)) {
        fprintf(stderr, "explainq status: group %.40s...: too long\n", group);
        return XQ_EXIT_USAGE;
    }
    extra[0] = gid;
    if (!(c = jobs_kafka_client(&k, RD_KAFKA_CONSUMER, extra, 1)))
        return XQ_EXIT_USAGE;
    rc = print_lag(c, topic, group);
    rd_kafka_destroy(c);
    return rc;
}

int xq_cmd_status(int argc, char **argv) {
    return jobs_with_config("status", status, argc, argv);
}
