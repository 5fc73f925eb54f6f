/* metrics.h -- a thread-safe registry of counters, gauges and histograms with labels, served in
 * Prometheus text format with /healthz and /readyz. */
#ifndef XQ_METRICS_H
#define XQ_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "mem.h"

/*
 * A family is declared once (a name, help text, its label names, histogram
 * buckets); its series are created on first use, one per set of label values.
 * Every call takes the registry's mutex, so any thread may update and the
 * HTTP server's threads render concurrently. Updates are for events (a job,
 * a request, a commit), not per model row.
 */

typedef enum xq_metric_kind {
    XQ_METRIC_COUNTER = 0,
    XQ_METRIC_GAUGE = 1,
    XQ_METRIC_HISTOGRAM = 2,
} xq_metric_kind_t;

/** Labels per family, at most; histogram buckets, at most; series per family, at most. */
#define XQ_METRICS_MAX_LABELS  2
#define XQ_METRICS_MAX_BUCKETS 32
#define XQ_METRICS_MAX_SERIES  1024

typedef struct xq_metrics xq_metrics_t; /* opaque */

/** A new, empty registry (not ready: see xq_metrics_set_ready()). Free with xq_metrics_destroy().
 */
xq_metrics_t *xq_metrics_new(void);
void xq_metrics_destroy(xq_metrics_t *m);

/**
 * Declares the family @p name ([a-zA-Z_:][a-zA-Z0-9_:]*; counters should end
 * in _total) with @p help (copied). @p labels: NULL for none, or label names
 * separated by commas ("code", "topic,partition"). @p buckets: for a
 * histogram, @p nbuckets strictly increasing finite upper bounds (copied;
 * +Inf is implied). A family without labels has its one series (at 0) from
 * the start. @returns XQ_OK, or XQ_EINVAL naming the rule broken.
 */
xq_err_t xq_metrics_declare(xq_metrics_t *m,
                            xq_metric_kind_t kind,
                            const char *name,
                            const char *help,
                            const char *labels,
                            const double *buckets,
                            size_t nbuckets,
                            xq_error_t *err);

/*
 * Updates: @p l1 and @p l2 are the label values in declaration order (NULL
 * past the family's labels). The family must have been declared (an
 * undeclared name is a programming error: XQ_ASSERT). A series past
 * XQ_METRICS_MAX_SERIES is not created; the update is counted in
 * explainq_metrics_dropped_updates_total instead.
 */

/** Adds @p v (>= 0 for a counter) to a counter or a gauge. */
void xq_metrics_add(xq_metrics_t *m, const char *name, const char *l1, const char *l2, double v);

/** Sets a gauge to @p v. */
void xq_metrics_set(xq_metrics_t *m, const char *name, const char *l1, const char *l2, double v);

/** Records @p v in a histogram. */
void xq_metrics_observe(
    xq_metrics_t *m, const char *name, const char *l1, const char *l2, double v);

/** Drops every series of a family (gauges of partitions no longer held). */
void xq_metrics_clear(xq_metrics_t *m, const char *name);

/**
 * Adds every counter and histogram series of @p src into the family of the
 * same name in @p dst (declared there alike) and sets @p src's to zero:
 * counts held back until they are true (the worker's, until the transaction
 * that published them commits). Gauges are left alone.
 */
void xq_metrics_move(xq_metrics_t *dst, xq_metrics_t *src);

/** Sets every series of @p m to zero (what xq_metrics_move() would have moved is dropped). */
void xq_metrics_zero(xq_metrics_t *m);

/** A counter's or gauge's value, a histogram's count; 0 for a series not seen. */
double xq_metrics_get(xq_metrics_t *m, const char *name, const char *l1, const char *l2);

/** Appends the Prometheus text exposition (format 0.0.4) of every family to @p out. */
void xq_metrics_render(xq_metrics_t *m, xq_buf_t *out);

/** Readiness for /readyz: @p why (copied) says what is missing when not ready. */
void xq_metrics_set_ready(xq_metrics_t *m, bool ready, const char *why);

typedef struct xq_metrics_server xq_metrics_server_t; /* opaque */

/**
 * Serves @p m (borrowed: it must outlive the server) on @p host:@p port
 * (common/httpd): GET /metrics (the exposition), /healthz (200 while the
 * process serves), /readyz (200, or 503 with the reason). @returns a server,
 * or NULL with @p err set (the port taken, ...).
 */
xq_metrics_server_t *xq_metrics_serve(xq_metrics_t *m, const char *host, int port, xq_error_t *err);

/** The port served (the one chosen when @p port was 0). */
int xq_metrics_server_port(const xq_metrics_server_t *s);

/** Stops and frees @p s; NULL is a no-op. */
void xq_metrics_server_stop(xq_metrics_server_t *s);

#endif /* XQ_METRICS_H */
