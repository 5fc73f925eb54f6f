/* cmd_jobs.c -- what the client commands (submit, collect, status) share: configuration, Kafka
 * clients, the progress line. The commands are in cmd_submit.c, cmd_collect.c, cmd_status.c and
 * cmd_devbroker.c. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "config.h"
#include "jobs_int.h"

extern char **environ;

void jobs_progress(const char *what, size_t done, size_t total, bool final) {
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

rd_kafka_t *jobs_kafka_client_cbs(kopts_t *k,
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

rd_kafka_t *
jobs_kafka_client(kopts_t *k, rd_kafka_type_t type, const char *const *extra, size_t extra_cnt) {
    return jobs_kafka_client_cbs(k, type, extra, extra_cnt, NULL);
}

int jobs_with_config(const char *cmd,
                     int (*run)(int argc, char **argv, kopts_t *k),
                     int argc,
                     char **argv) {
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
