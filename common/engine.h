/* engine.h -- explains many instances in-process: builds runs, batches their rows, evaluates,
 * reduces. */
#ifndef XQ_ENGINE_H
#define XQ_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "err.h"
#include "mem.h"
#include "methods/run.h"
#include "model.h"
#include "spec.h"

/** Options of an engine. */
typedef struct xq_engine_opts {
    xq_run_opts_t run; /* seed, target error, row limit per instance */
    size_t batch_rows; /* rows per model call; 0: XQ_ENGINE_DEFAULT_BATCH */
} xq_engine_opts_t;

#define XQ_ENGINE_DEFAULT_BATCH 1024
/** Input elements per model call at most (16 rows of a 224 x 224 RGB picture). */
#define XQ_ENGINE_BATCH_ELEMS ((size_t)16 * 224 * 224 * 3)

/** The outcome of one instance. */
typedef struct xq_engine_result {
    xq_err_t rc;     /* XQ_OK: an explanation is in the output buffer */
    xq_error_t err;  /* why not, naming the instance and field */
    size_t off, len; /* the packed explanation (msgpack map) in the output buffer */
} xq_engine_result_t;

typedef struct xq_engine xq_engine_t; /* opaque */

/** A new engine for @p spec and @p model (both borrowed). Free with xq_engine_destroy(). */
xq_engine_t *xq_engine_new(const xq_spec_t *spec, xq_model_t *model, const xq_engine_opts_t *opts);

void xq_engine_destroy(xq_engine_t *e);

/**
 * Explains @p cnt instances (msgpack maps, borrowed) whose numbers are
 * @p indices (the number seeds each instance's random stream and names it
 * in errors). Rows of
 * all of them are batched together, up to batch_rows per model call. Each
 * instance's packed explanation is appended to @p out and located by
 * @p results[i]; an instance that fails gets its error there and does not
 * stop the others.
 */
void xq_engine_explain(xq_engine_t *e,
                       const msgpack_object *instances,
                       const size_t *indices,
                       size_t cnt,
                       xq_buf_t *out,
                       xq_engine_result_t *results);

/** Model rows evaluated by this engine so far. */
uint64_t xq_engine_model_rows(const xq_engine_t *e);

#endif /* XQ_ENGINE_H */
