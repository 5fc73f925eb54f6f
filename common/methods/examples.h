/* examples.h -- example-based explanations: the instance's embedding, then its nearest examples. */
#ifndef XQ_METHODS_EXAMPLES_H
#define XQ_METHODS_EXAMPLES_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "exindex.h"
#include "methods/run.h"

/** Which example index a query searches, and the query-time overrides (ExamplesOverride). */
typedef struct xq_examples_query {
    const xq_exindex_t *index; /* borrowed */
    uint32_t neighbor_count;   /* 0: the index's neighborCount */
    uint32_t crowding_count;   /* at most this many neighbours per crowding tag; 0: no limit */
} xq_examples_query_t;

/*
 * One forward row per instance: the model's output is the embedding
 * (latentSpaceSource). Its neighbours come back sorted by distance, in the
 * index's metric (squared L2, or 1 - cos), and no attributions.
 */
const xq_method_ops_t *xq_examples_ops(void);

/**
 * Packs a finished run's neighbours as the result's per-instance map
 * {"neighbors": [{"neighborId", "neighborDistance"}...]}, nearest first
 * (docs/design.md §2.2); ids are those of ctx->examples->index.
 */
void xq_examples_pack(const xq_run_ctx_t *ctx, msgpack_packer *pk);

/**
 * The neighbours of embedding @p emb (@p dim floats): at most @p cap of
 * them, examples as positions in q->index->ids, into @p out, their number in
 * @p *cnt. The crowding limit applies when the index has tags.
 *
 * @returns XQ_OK; XQ_EINVAL naming "latentSpaceSource" when @p dim is not
 *          the index's dimension.
 */
xq_err_t xq_examples_nearest(const xq_examples_query_t *q,
                             const float *emb,
                             size_t dim,
                             xq_neighbor_t *out,
                             size_t cap,
                             size_t *cnt,
                             xq_error_t *err);

/** The neighbour count a query asks for: the override, else the index's, at least 1. */
size_t xq_examples_count(const xq_examples_query_t *q);

#endif /* XQ_METHODS_EXAMPLES_H */
