/* cmd_topics.c -- `explainq topics create`: makes the explain.* topics with the partitions wanted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "kafka.h"

static const char topics_usage[] =
    "usage: explainq topics create [-b BROKERS] [--partitions N] [-X key=value] TOPIC...\n"
    "\n"
    "Creates the topics (an existing one is left as it is), N partitions each\n"
    "(default 6), with the broker's default replication. Exits 0 when they exist.\n";

int xq_cmd_topics(int argc, char **argv) {
    const char *brokers = "127.0.0.1:9092", *props[64], *topics[64];
    size_t prop_cnt = 1, topic_cnt = 0;
    char bs[512], errstr[512];
    int partitions = 6;
    rd_kafka_t *rk;
    xq_err_t rc;

    if (argc < 2 || strcmp(argv[1], "create") != 0) {
        fputs(topics_usage, argc >= 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
        return argc >= 2 && !strcmp(argv[1], "--help") ? XQ_EXIT_OK : XQ_EXIT_USAGE;
    }
    for (int i = 2; i < argc; i++) {
        if ((!strcmp(argv[i], "-b") || !strcmp(argv[i], "--brokers")) && i + 1 < argc) {
            brokers = argv[++i];
        } else if (!strcmp(argv[i], "--partitions") && i + 1 < argc) {
            char *end;
            long n = strtol(argv[++i], &end, 10);

            partitions = *end || n < 1 || n > 10000 ? 0 : (int)n;
            if (!partitions) {
                fprintf(stderr, "explainq topics: --partitions must be >= 1\n");
                return XQ_EXIT_USAGE;
            }
        } else if (!strcmp(argv[i], "-X") && i + 1 < argc && prop_cnt < 64) {
            props[prop_cnt++] = argv[++i];
        } else if (argv[i][0] != '-' && topic_cnt < 64) {
            topics[topic_cnt++] = argv[i];
        } else {
            fputs(topics_usage, stderr);
            return XQ_EXIT_USAGE;
        }
    }
    if (!topic_cnt) {
        fputs(topics_usage, stderr);
        return XQ_EXIT_USAGE;
    }
    snprintf(bs, sizeof(bs), "bootstrap.servers=%s", brokers);
    props[0] = bs;
    if (!(rk = xq_kafka_new(RD_KAFKA_PRODUCER, props, prop_cnt, NULL, errstr, sizeof(errstr)))) {
        fprintf(stderr, "explainq topics: %s\n", errstr);
        return XQ_EXIT_USAGE;
    }
    rc = xq_kafka_create_topics(rk, topics, topic_cnt, partitions, 30000, errstr, sizeof(errstr));
    rd_kafka_destroy(rk);
    if (rc != XQ_OK) {
        fprintf(stderr, "explainq topics: %s\n", errstr);
        return XQ_EXIT_RUNTIME;
    }
    return XQ_EXIT_OK;
}
