/* kmodel.h -- a model its runners serve, evaluated synchronously over Kafka (for CLI tools). */
#ifndef XQ_WORKER_KMODEL_H
#define XQ_WORKER_KMODEL_H

#include <stddef.h>

#include "err.h"
#include "model.h"

/** How to reach the runners; every member may be 0/NULL. */
typedef struct xq_kmodel_opts {
    const char *const *props; /* librdkafka "key=value" properties (bootstrap.servers, ...) */
    size_t prop_cnt;
    const char *reply_topic; /* where runners answer; NULL: explain.replies */
    int timeout_ms;          /* per request before it is sent again; 0: 30 s */
    int retries;             /* resends before giving up; 0: 3 */
} xq_kmodel_opts_t;

/**
 * Opens model @p name: asks its runners (topic explain.infer.<name>) to
 * describe it, then evaluates batches by the inference protocol (docs/design.md
 * §2.4), one request at a time. Forward rows only.
 *
 * @returns XQ_OK and a new model in @p *out (free with xq_model_destroy()),
 *          XQ_EKAFKA when no client could be made, XQ_ETIMEOUT when no runner
 *          answered.
 */
xq_err_t
xq_kmodel_open(const char *name, const xq_kmodel_opts_t *opts, xq_model_t **out, xq_error_t *err);

#endif /* XQ_WORKER_KMODEL_H */
