/* index.h -- a nearest-neighbour index over example embeddings (FAISS), and its bytes for Redis. */
#ifndef XQ_INDEX_H
#define XQ_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mem.h"

/** How distance is measured (docs/design.md §4 "Examples": IMAGE and TEXT cosine, TABULAR L2). */
typedef enum xq_index_metric {
    XQ_INDEX_SQUARED_L2 = 0, /* ||q - x||^2 */
    XQ_INDEX_COSINE = 1,     /* 1 - cos(q, x), vectors L2-normalized on the way in */
} xq_index_metric_t;

/** PRECISE: an exact flat index. FAST: HNSW, approximate. */
typedef enum xq_index_query {
    XQ_INDEX_PRECISE = 0,
    XQ_INDEX_FAST = 1,
} xq_index_query_t;

/** Opaque; owned by whoever created or loaded it, freed with xq_index_destroy. */
typedef struct xq_index xq_index_t;

xq_err_t xq_index_new(size_t dim,
                      xq_index_metric_t metric,
                      xq_index_query_t query,
                      xq_index_t **out,
                      xq_error_t *err);

/**
 * Adds @p n vectors of the index's dimension; their ids continue from the
 * current count (0, 1, ...). A zero vector under cosine is an error naming it
 * (its direction is undefined), and then nothing is added.
 */
xq_err_t xq_index_add(xq_index_t *ix, const float *vecs, size_t n, xq_error_t *err);

/**
 * The @p k nearest of @p nq queries: ids and distances (in the metric's
 * units, ascending) into caller arrays of nq * k; where the index holds fewer
 * than @p k, the rest have id -1.
 */
xq_err_t xq_index_search(const xq_index_t *ix,
                         const float *queries,
                         size_t nq,
                         size_t k,
                         float *dist,
                         int64_t *ids,
                         xq_error_t *err);

size_t xq_index_dim(const xq_index_t *ix);
size_t xq_index_count(const xq_index_t *ix);
xq_index_metric_t xq_index_metric(const xq_index_t *ix);
xq_index_query_t xq_index_query(const xq_index_t *ix);

/** Appends the index's bytes (a versioned header, then FAISS's own format) to @p out. */
xq_err_t xq_index_save(const xq_index_t *ix, xq_buf_t *out, xq_error_t *err);

/** The inverse of xq_index_save; bytes from elsewhere are checked, never trusted. */
xq_err_t xq_index_load(const void *data, size_t len, xq_index_t **out, xq_error_t *err);

void xq_index_destroy(xq_index_t *ix);

#endif
