/*
 * exindex.h -- an example-index preset: the index, the example ids, and the
 * default neighbour count, as bytes and in Redis (docs/design.md §3,
 * explainq:index:<id>, chunked when large).
 */
#ifndef XQ_EXINDEX_H
#define XQ_EXINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "index.h"
#include "mem.h"
#include "names.h"
#include "redis.h"
#include "sha256.h"

/** Key prefix of example indexes: the manifest at <prefix><id>, chunks at <prefix><id>:<k>. */
#define XQ_EXINDEX_PREFIX XQ_KEY_INDEX      /* common/names.h */
#define XQ_EXINDEX_ID_LEN XQ_SHA256_HEX_LEN /* of the packed preset */
/** Largest preset accepted from Redis: sizes read from the network are bounded. */
#define XQ_EXINDEX_MAX_BYTES (4ull << 30)

/** Plain data; xq_exindex_destroy frees the index and every id it holds. */
typedef struct xq_exindex {
    xq_index_t *index;
    char **ids;              /* one per indexed vector, in index order */
    size_t id_cnt;           /* equals xq_index_count(index) */
    char **tags;             /* crowding tags, id_cnt of them (crowdingCount), or NULL */
    uint32_t neighbor_count; /* the spec's neighborCount when a query gives none */
} xq_exindex_t;

/** Appends the preset's bytes (msgpack) to @p out. */
xq_err_t xq_exindex_pack(const xq_exindex_t *x, xq_buf_t *out, xq_error_t *err);

/** Reads bytes from xq_exindex_pack into a new preset (free with xq_exindex_destroy). */
xq_err_t xq_exindex_unpack(const void *buf, size_t len, xq_exindex_t **out, xq_error_t *err);

/**
 * Stores @p x under its id (written to @p id): chunks of at most
 * @p chunk_bytes first, then the manifest, so a reader never sees a part.
 */
xq_err_t xq_exindex_put(xq_redis_t *r,
                        const xq_exindex_t *x,
                        size_t chunk_bytes,
                        char id[XQ_EXINDEX_ID_LEN + 1],
                        xq_error_t *err);

/**
 * Loads the preset @p id, checking that its bytes hash to @p id.
 *
 * @returns XQ_OK and a new preset; XQ_ENOTFOUND for an unknown id (the error
 *          names it); XQ_EDECODE when the stored bytes are incomplete or not
 *          what the id names; XQ_EREDIS.
 */
xq_err_t xq_exindex_get(xq_redis_t *r, const char *id, xq_exindex_t **out, xq_error_t *err);

void xq_exindex_destroy(xq_exindex_t *x);

/** The key naming the latest index built for a spec: <prefix><specId> holds the index id. */
#define XQ_EXINDEX_LATEST_PREFIX XQ_KEY_EXAMPLES /* common/names.h */

/** Records @p id as the latest example index built for spec @p spec_id. */
xq_err_t xq_exindex_set_latest(xq_redis_t *r, const char *spec_id, const char *id, xq_error_t *err);

/**
 * The latest example index built for spec @p spec_id, into @p id.
 *
 * @returns XQ_OK; XQ_ENOTFOUND (the error says how to build one); XQ_EREDIS.
 */
xq_err_t xq_exindex_latest(xq_redis_t *r,
                           const char *spec_id,
                           char id[XQ_EXINDEX_ID_LEN + 1],
                           xq_error_t *err);

/*
 * Loaded presets kept in memory, least recently used out first: thousands of
 * queries cost one load. A preset in use (acquired, not yet released) is never
 * evicted, so the cache may hold more than its capacity for a while.
 */
typedef struct xq_exindex_cache xq_exindex_cache_t; /* opaque */

/** A cache of at most @p capacity idle presets (>= 1). Free with xq_exindex_cache_destroy(). */
xq_exindex_cache_t *xq_exindex_cache_new(size_t capacity);
void xq_exindex_cache_destroy(xq_exindex_cache_t *c);

/**
 * The preset @p id, loaded from @p r unless cached; hold it until
 * xq_exindex_cache_release(). Errors are those of xq_exindex_get().
 */
xq_err_t xq_exindex_cache_acquire(xq_exindex_cache_t *c,
                                  xq_redis_t *r,
                                  const char *id,
                                  const xq_exindex_t **out,
                                  xq_error_t *err);

/** Gives back a preset from xq_exindex_cache_acquire(); NULL is a no-op. */
void xq_exindex_cache_release(xq_exindex_cache_t *c, const xq_exindex_t *x);

/** Loads from Redis so far (for stats and tests). */
uint64_t xq_exindex_cache_loads(const xq_exindex_cache_t *c);

#endif
