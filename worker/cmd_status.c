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
#include "redis.h"

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
        c = jobs_kafka_client(&k, RD_KAFKA_CONSUMER, extra, 1);
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
    return jobs_with_config("status", status, argc, argv);
}
