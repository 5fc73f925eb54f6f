/* conf.h -- the option table: defaults, config file, environment, -X; kafka.* passes to librdkafka.
 */
#ifndef XQ_CONF_H
#define XQ_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/** One option: a number in [min, max], or a string when is_str. */
typedef struct xq_conf_opt {
    const char *name; /* dotted lowercase: "max.batch.rows" */
    const char *def;  /* default, as text */
    double min, max;  /* bounds of a number */
    int is_str;
    const char *help;
} xq_conf_opt_t;

typedef struct xq_conf xq_conf_t; /* opaque */

/** A configuration over @p table (borrowed, static). Free with xq_conf_destroy(). */
xq_conf_t *xq_conf_new(const xq_conf_opt_t *table, size_t cnt);
void xq_conf_destroy(xq_conf_t *c);

/**
 * Sets @p key: an option of the table (checked against its bounds), or
 * "kafka.<prop>", "kafka.consumer.<prop>", "kafka.producer.<prop>" (kept for
 * librdkafka, which checks them). @p source ("file:3", "env", "-X") is kept for
 * the dump. @returns XQ_OK or XQ_EINVAL naming the key and the rule.
 */
xq_err_t
xq_conf_set(xq_conf_t *c, const char *key, const char *value, const char *source, xq_error_t *err);

/** Reads "key=value" lines (# comments) of @p path; every bad line goes to @p errs. */
void xq_conf_load_file(xq_conf_t *c, const char *path, xq_errlist_t *errs);

/**
 * Applies EXPLAINQ_* variables of @p envp (NULL-terminated "NAME=value"):
 * EXPLAINQ_MAX_BATCH_ROWS sets max.batch.rows, EXPLAINQ_KAFKA_SASL_MECHANISM
 * kafka.sasl.mechanism. Other EXPLAINQ_* names are ignored (Kubernetes sets
 * EXPLAINQ_SERVICE_HOST and the like for a Service named explainq).
 */
void xq_conf_load_env(xq_conf_t *c, char *const *envp, xq_errlist_t *errs);

double xq_conf_num(const xq_conf_t *c, const char *name);
const char *xq_conf_str(const xq_conf_t *c, const char *name);

/** Where an option's value came from: "default", "env", "-X", "file:3", ... ("" if unknown). */
const char *xq_conf_source(const xq_conf_t *c, const char *name);

/**
 * librdkafka properties for one client kind ("consumer", "producer"):
 * kafka.* then kafka.<kind>.*, as "prop=value" strings valid until the next
 * set. @returns how many, written to @p out (at most @p max).
 */
size_t xq_conf_kafka(const xq_conf_t *c, const char *kind, const char **out, size_t max);

/** Whether @p key names a secret (a password, a JAAS config, a key...): masked in dumps. */
bool xq_conf_is_secret(const char *key);

/** Writes every option with its value and where it came from, one a line; secrets as ****. */
void xq_conf_dump(const xq_conf_t *c, void (*line)(const char *text, void *ud), void *ud);

#endif /* XQ_CONF_H */
