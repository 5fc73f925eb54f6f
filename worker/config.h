/* config.h -- one configuration for the CLI commands: the shared option table, -c FILE,
 * EXPLAINQ_<KEY>, -X key=value, -b, --dump-config; Kafka clients and Redis from it. */
#ifndef XQ_WORKER_CONFIG_H
#define XQ_WORKER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"

struct xq_redis;

/*
 * runner, submit, collect, status, topics and index take the same options as
 * the worker, spelled the same way: table keys (bootstrap.servers, redis.*,
 * topic.*, group.id, log.*, metrics.*) and kafka.<prop> /
 * kafka.consumer.<prop> / kafka.producer.<prop> for librdkafka. A command
 * ignores the keys it has no use for.
 */

/**
 * Parses the configuration arguments of @p argv (argv[0] is the command):
 * -c FILE (first, wherever it is), the EXPLAINQ_* environment of @p envp,
 * then -X key=value, -b/--brokers LIST and --dump-config, in order. They are
 * taken out of @p argv (*@p argc shrinks); the command's own arguments stay.
 * Applies log.level and log.format. @returns the configuration (free with
 * xq_conf_destroy()), or NULL with *@p rc the exit code: after printing
 * every error (XQ_EXIT_USAGE), or after --dump-config printed the options
 * with secrets masked (XQ_EXIT_OK).
 */
/** -X key=value into @p c (its source "-X"); a malformed pair or a refused key into @p errs. */
void xq_cli_set_kv(xq_conf_t *c, const char *kv, xq_errlist_t *errs);

xq_conf_t *xq_cli_config(const char *cmd, int *argc, char **argv, char *const *envp, int *rc);

/**
 * The librdkafka properties of one client kind ("consumer" or "producer"):
 * "bootstrap.servers=..." (formatted into @p bs) then kafka.* and
 * kafka.<kind>.*. @returns how many, written to @p out (at most @p max); the
 * strings stay valid until the next call (create the client before).
 */
size_t xq_cli_kafka_props(
    const xq_conf_t *c, const char *kind, char *bs, size_t bs_len, const char **out, size_t max);

/**
 * A Redis client for @p url (NULL: redis.url) with redis.user, redis.password
 * and redis.db applied; NULL with @p err set. redis.tls is refused with what
 * to do instead (hiredis 0.14 has no TLS).
 */
struct xq_redis *xq_cli_redis(const xq_conf_t *c, const char *url, int timeout_ms, xq_error_t *err);

/**
 * Longest worker.id: request ids are "<worker.id>:<sequence>" within the
 * codec's 127 bytes, and the transactional id is explainq-<worker.id>.
 */
#define XQ_WORKER_ID_MAX 64

/**
 * Checks an id option (worker.id): "" (the default) or at most @p max
 * characters of [A-Za-z0-9._-]. @returns false with @p err naming @p option
 * and the rule.
 */
bool xq_cli_check_id(const char *option, const char *id, size_t max, xq_error_t *err);

#endif /* XQ_WORKER_CONFIG_H */
