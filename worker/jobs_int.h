/* jobs_int.h -- what the client commands share: their configuration, Kafka clients and progress
 * line. Internal to worker/cmd_jobs.c (the shared part), cmd_submit.c, cmd_collect.c and
 * cmd_status.c; `explainq dev-broker` (cmd_devbroker.c) needs none of it. */
#ifndef XQ_WORKER_JOBS_INT_H
#define XQ_WORKER_JOBS_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "conf.h"
#include "kafka.h"

/* The configuration of a CLI client (config.h): -c, EXPLAINQ_*, -X, -b. */
typedef struct kopts {
    xq_conf_t *conf; /* owned by jobs_with_config() */
} kopts_t;

/* A progress line on a terminal only: "submit: 1200/5000 (24%)"; @p total 0: a count alone. */
void jobs_progress(const char *what, size_t done, size_t total, bool final);

/*
 * A Kafka client of @p type: the command's defaults @p extra first, then bootstrap.servers and
 * kafka.* of the configuration, so the user's settings win. NULL after printing why.
 */
rd_kafka_t *jobs_kafka_client_cbs(kopts_t *k,
                                  rd_kafka_type_t type,
                                  const char *const *extra,
                                  size_t extra_cnt,
                                  const xq_kafka_cbs_t *cbs);

/* jobs_kafka_client_cbs() without callbacks. */
rd_kafka_t *
jobs_kafka_client(kopts_t *k, rd_kafka_type_t type, const char *const *extra, size_t extra_cnt);

/*
 * Runs @p run with the configuration of command @p cmd parsed out of argv (-c, EXPLAINQ_*,
 * -X, -b); with --help, at once and with NULL, so the usage needs no configuration.
 * @returns @p run's exit code, or XQ_EXIT_USAGE for a bad configuration.
 */
int jobs_with_config(const char *cmd,
                     int (*run)(int argc, char **argv, kopts_t *k),
                     int argc,
                     char **argv);

#endif /* XQ_WORKER_JOBS_INT_H */
