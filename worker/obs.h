/* obs.h -- what the worker and the runner report: their metrics, served with /healthz and /readyz
 * when metrics.port is set. */
#ifndef XQ_WORKER_OBS_H
#define XQ_WORKER_OBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "err.h"
#include "metrics.h"

struct xq_run;
typedef struct xq_obs xq_obs_t; /* opaque */

/* The metrics of a worker (explainq_*) or of a runner (explainq_runner_*). */
xq_obs_t *xq_obs_new_worker(void);
xq_obs_t *xq_obs_new_runner(void);

/**
 * Serves the metrics, /healthz and /readyz on @p host:@p port; port 0 serves
 * nothing. @returns false with @p err set (the port taken, ...).
 */
bool xq_obs_serve(xq_obs_t *o, const char *host, int port, xq_error_t *err);

/** Stops serving and frees @p o; NULL is a no-op. */
void xq_obs_destroy(xq_obs_t *o);

/** The registry, for tests and for metrics of other callers (borrowed). */
xq_metrics_t *xq_obs_metrics(xq_obs_t *o);

/* ==== The worker: one call where each thing happens ==== */

void xq_obs_job_received(xq_obs_t *o);
/** A job answered with explanations: its @p n runs by @p method; approximationErrors observed. */
void xq_obs_job_done(xq_obs_t *o, const char *method, struct xq_run *const *runs, size_t n);
/** A job answered with an error result of wire code @p code. */
void xq_obs_job_failed(xq_obs_t *o, const char *code);
void xq_obs_dead_letter(xq_obs_t *o, const char *code);
void xq_obs_rows_sent(xq_obs_t *o, const char *model, size_t rows);
/** A reply of @p rows rows to a request sent @p ms ago; the runner counts as reachable. */
void xq_obs_reply(xq_obs_t *o, const char *model, size_t rows, long long ms);
/** A request went unanswered in time: the runner counts as unreachable until a reply. */
void xq_obs_request_timeout(xq_obs_t *o, const char *model);
void xq_obs_baseline(xq_obs_t *o, size_t hits, size_t misses);
/** A transaction committed (@p committed) or aborted. */
void xq_obs_txn(xq_obs_t *o, bool committed);
/** A transactional call failed: the brokers count as unreachable until the next commit. */
void xq_obs_broker_error(xq_obs_t *o);

/**
 * An error librdkafka reported (an error_cb): all brokers down makes the
 * brokers count as unreachable until a commit, or until xq_obs_tick()'s
 * metadata request (every 5 s while unreachable, 500 ms at most) succeeds.
 */
void xq_obs_kafka_error(xq_obs_t *o, int err);

/**
 * Once per loop: at most once a second, samples the rows in flight, the
 * consumer's partitions (assigned count, lag per partition from the cached
 * high watermark and the position) and the example-index loads, and decides
 * readiness (partitions assigned, brokers and runners reachable).
 */
void xq_obs_tick(xq_obs_t *o, rd_kafka_t *consumer, size_t inflight_rows, uint64_t index_loads);

/* ==== The runner ==== */

/** One request answered (@p ok) or answered with an error, @p rows rows in @p seconds. */
void xq_obs_runner_request(xq_obs_t *o, bool ok, size_t rows, double seconds);
/** The runner's partitions: ready while it holds at least one. */
void xq_obs_runner_assigned(xq_obs_t *o, int delta);

#endif /* XQ_WORKER_OBS_H */
