/* exbuild.h -- builds an example-index preset: examples in, embedded through the model, indexed. */
#ifndef XQ_EXBUILD_H
#define XQ_EXBUILD_H

#include <stddef.h>

#include <msgpack.h>

#include "err.h"
#include "exindex.h"
#include "index.h"
#include "model.h"
#include "spec.h"

/** The default neighborCount when the spec gives none. */
#define XQ_EXBUILD_DEFAULT_NEIGHBORS 10

/**
 * The index the spec's examples ask for, for embeddings of @p dim values:
 * presets (IMAGE and TEXT cosine, TABULAR squared L2; PRECISE flat, FAST
 * HNSW) or nearestNeighborSearchConfig (SQUARED_L2_DISTANCE, COSINE_DISTANCE,
 * or DOT_PRODUCT_DISTANCE with UNIT_L2_NORM, which ranks as cosine;
 * bruteForceConfig flat, treeAhConfig HNSW). Neither: squared L2, flat.
 *
 * @returns XQ_OK, or XQ_EINVAL naming the field of the config it cannot honour.
 */
xq_err_t xq_exbuild_config(const xq_spec_t *spec,
                           size_t dim,
                           xq_index_metric_t *metric,
                           xq_index_query_t *query,
                           xq_error_t *err);

/** Options of a build; every member may be 0/NULL. */
typedef struct xq_exbuild_opts {
    const char *id_field;  /* the example's id (neighborId); NULL: "id" */
    const char *tag_field; /* its crowding tag; NULL: "crowdingTag" */
    size_t batch_rows;     /* rows per model call; 0: 1024 */
} xq_exbuild_opts_t;

typedef struct xq_exbuild xq_exbuild_t; /* opaque */

/**
 * A build for @p spec (examples) through @p model, whose output is the
 * embedding (both borrowed for the build's life).
 *
 * @returns XQ_OK and a new build (free with xq_exbuild_destroy()), or
 *          XQ_EINVAL when the spec's index config cannot be honoured.
 */
xq_err_t xq_exbuild_new(const xq_spec_t *spec,
                        xq_model_t *model,
                        const xq_exbuild_opts_t *opts,
                        xq_exbuild_t **out,
                        xq_error_t *err);

/**
 * Adds example @p inst (a msgpack map, borrowed for the call) from line
 * @p line; its id field (a string or an integer) becomes its neighborId, else
 * the line number. The id and tag fields are not model inputs. Rows are
 * evaluated in batches, so a model error may surface on a later add.
 *
 * @returns XQ_OK, or an error whose field starts with "line <line>".
 */
xq_err_t xq_exbuild_add(xq_exbuild_t *b, const msgpack_object *inst, size_t line, xq_error_t *err);

/** Examples embedded so far. */
size_t xq_exbuild_embedded(const xq_exbuild_t *b);

/**
 * Embeds what is pending and builds the index.
 *
 * @returns XQ_OK and the preset in @p *out (caller frees with
 *          xq_exindex_destroy()); XQ_EINVAL when there were no examples.
 */
xq_err_t xq_exbuild_finish(xq_exbuild_t *b, xq_exindex_t **out, xq_error_t *err);

void xq_exbuild_destroy(xq_exbuild_t *b);

#endif /* XQ_EXBUILD_H */
