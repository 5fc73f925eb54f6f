/* cmd_topics.c -- `explainq topics create`: makes the explain.* topics with the partitions,
 * replication and topic configs wanted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "kafka.h"

extern char **environ;

static const char topics_usage[] =
    "usage: explainq topics create [--partitions N] [--replication-factor R]\n"
    "                              [--config key=value ...] [-b BROKERS] [-c FILE]\n"
    "                              [-X key=value ...] [--dump-config] TOPIC...\n"
    "\n"
    "Creates the topics (an existing one is left as it is), N partitions each\n"
    "(default 6), R replicas (default: the brokers' default.replication.factor),\n"
    "with the topic configs given (min.insync.replicas=2, retention.ms=...).\n"
    "Exits 0 when they exist. -X kafka.<prop> sets a librdkafka property (SASL, TLS).\n";

/* A whole decimal in [lo, hi], else 0 after printing which option is wrong. */
static int int_arg(const char *opt, const char *v, int lo, int hi) {
    char *end;
    long n = strtol(v, &end, 10);

    if (*end || end == v || n < lo || n > hi) {
        fprintf(stderr, "explainq topics: %s must be an integer in [%d, %d], not \"%s\"\n", opt, lo,
                hi, v);
        return 0;
    }
    return (int)n;
}

int xq_cmd_topics(int argc, char **argv) {
    const char *props[160], *topics[64], *configs[64];
    size_t topic_cnt = 0, config_cnt = 0, n;
    char bs[512], errstr[512];
    int partitions = 6, rf = -1, rc = XQ_EXIT_USAGE;
    rd_kafka_t *rk;
    xq_conf_t *conf;

    if (argc >= 2 && !strcmp(argv[1], "--help")) {
        fputs(topics_usage, stdout);
        return XQ_EXIT_OK;
    }
    if (!(conf = xq_cli_config("topics", &argc, argv, environ, &rc)))
        return rc;
    rc = XQ_EXIT_USAGE;
    if (argc < 2 || strcmp(argv[1], "create") != 0) {
        fputs(topics_usage, stderr);
        goto out;
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (!strcmp(a, "--partitions") && v) {
            if (!(partitions = int_arg(a, v, 1, 10000)))
                goto out;
            i++;
        } else if (!strcmp(a, "--replication-factor") && v) {
            if (!(rf = int_arg(a, v, 1, 32)))
                goto out;
            i++;
        } else if (!strcmp(a, "--config") && v && config_cnt < 64) {
            if (!strchr(v, '=')) {
                fprintf(stderr, "explainq topics: --config %s: expected key=value\n", v);
                goto out;
            }
            configs[config_cnt++] = v;
            i++;
        } else if (a[0] != '-' && topic_cnt < 64) {
            topics[topic_cnt++] = a;
        } else {
            fprintf(stderr, "explainq topics: bad argument %s\n\n%s", a, topics_usage);
            goto out;
        }
    }
    if (!topic_cnt) {
        fputs(topics_usage, stderr);
        goto out;
    }
    n = xq_cli_kafka_props(conf, "producer", bs, sizeof(bs), props, 160);
    if (!(rk = xq_kafka_new(RD_KAFKA_PRODUCER, props, n, NULL, errstr, sizeof(errstr)))) {
        fprintf(stderr, "explainq topics: %s\n", errstr);
        goto out;
    }
    rc = xq_kafka_create_topics_ex(rk, topics, topic_cnt, partitions, rf, configs, config_cnt,
                                   30000, errstr, sizeof(errstr)) == XQ_OK
             ? XQ_EXIT_OK
             : XQ_EXIT_RUNTIME;
    rd_kafka_destroy(rk);
    if (rc != XQ_EXIT_OK)
        fprintf(stderr, "explainq topics: %s\n", errstr);
out:
    xq_conf_destroy(conf);
    return rc;
}
