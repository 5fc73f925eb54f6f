/* gwqueue.h -- the gateway's jobs on Kafka: publish one, wait for its result on the gateway's
 * result topic. */
#ifndef XQ_WORKER_GWQUEUE_H
#define XQ_WORKER_GWQUEUE_H

#include <stddef.h>

#include "err.h"
#include "job.h"
#include "mem.h"

/*
 * Every job names the gateway's result topic as its outputTopic. The gateway
 * reads every partition of that topic (read_committed, assigned from the end
 * at start, no consumer group), and hands each result to the request waiting
 * for its job id; results of other gateways' jobs are skipped. Results in
 * parts (parts.h) are reassembled first.
 */

typedef struct xq_gwq xq_gwq_t;               /* opaque */
typedef struct xq_gwq_ticket xq_gwq_ticket_t; /* opaque: one published job */

typedef struct xq_gwq_opts {
    const char *const *props; /* librdkafka "key=value" properties (bootstrap.servers, ...) */
    size_t prop_cnt;
    const char *jobs_topic;
    const char *result_topic; /* created with result_partitions when missing */
    int result_partitions;
    long timeout_ms;   /* how long a job may take to be delivered */
    const char *redis; /* NULL: none (a timeout is then always 504) */
} xq_gwq_opts_t;

/**
 * Starts the producer, the result reader and their threads.
 * @returns a new queue (free with xq_gwq_destroy()), or NULL with @p err.
 */
xq_gwq_t *xq_gwq_new(const xq_gwq_opts_t *o, xq_error_t *err);

/**
 * Publishes job @p v (v->id must be unique). @returns a ticket to wait on
 * (always; a failure to publish is reported by xq_gwq_wait()).
 */
xq_gwq_ticket_t *xq_gwq_publish(xq_gwq_t *q, const xq_job_view_t *v);

/**
 * Waits for the job of @p t until @p deadline (CLOCK_MONOTONIC milliseconds)
 * and frees @p t.
 * @returns 0 with the result message (msgpack) appended to @p result, or an
 *          HTTP status with @p msg: 503 when the job could not be queued or no
 *          worker took it (Redis progress), 504 when it did not finish in time.
 */
int xq_gwq_wait(xq_gwq_t *q,
                xq_gwq_ticket_t *t,
                long long deadline,
                xq_buf_t *result,
                char *msg,
                size_t msg_size);

/** Stops the threads and frees @p q; NULL is a no-op. */
void xq_gwq_destroy(xq_gwq_t *q);

#endif /* XQ_WORKER_GWQUEUE_H */
