/* cmd_devbroker.c -- `explainq dev-broker`: librdkafka's mock cluster, for trying explainq. */
#include <stdio.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "cli.h"
#include "kafka.h"
#include "names.h"
#include "signals.h"

int xq_cmd_dev_broker(int argc, char **argv) {
    static const char *const topics[] = {XQ_TOPIC_JOBS, XQ_TOPIC_RESULTS, XQ_TOPIC_DLQ,
                                         XQ_TOPIC_REPLIES};
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
