/* offsets.h -- per partition: which jobs past the committed offset were answered already. */
#ifndef XQ_OFFSETS_H
#define XQ_OFFSETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A partition's committed offset C is its oldest job not yet answered. So
 * that one slow job does not hold back the results behind it, jobs past C
 * may be answered ahead; their offsets travel with C, in the commit's
 * metadata string (inside the same transaction as their results), and
 * whoever consumes the partition from C again skips them:
 *
 *     "xq1" ("," <offset - C, base 36>)*
 *
 * The metadata is bounded (XQ_OFFSETS_META_MAX, under the brokers' default
 * offset.metadata.max.bytes of 4096); a partition with as many offsets ahead
 * as fit answers in offset order until C moves.
 */
#define XQ_OFFSETS_META_MAX 3072

typedef struct xq_offsets xq_offsets_t;

/** An empty tracker (caller destroys). */
xq_offsets_t *xq_offsets_new(void);
void xq_offsets_destroy(xq_offsets_t *t);

/**
 * Starts @p partition over from its committed offset @p committed and the
 * commit's metadata (@p meta, @p len bytes; NULL or not ours: none ahead).
 */
void xq_offsets_reset(
    xq_offsets_t *t, int32_t partition, int64_t committed, const char *meta, size_t len);

/** Forgets @p partition (revoked). */
void xq_offsets_forget(xq_offsets_t *t, int32_t partition);

/** Was the job at @p offset answered ahead already (consumed again: skip it)? */
bool xq_offsets_answered(const xq_offsets_t *t, int32_t partition, int64_t offset);

/**
 * Records that the job at @p offset is answered ahead of older ones.
 * @returns false (and records nothing) when the metadata would not hold it:
 *          the job waits for the older ones then.
 */
bool xq_offsets_ahead(xq_offsets_t *t, int32_t partition, int64_t offset);

/**
 * The metadata to commit with offset @p commit_at (>= the last one), into
 * @p buf of @p cap bytes (at least XQ_OFFSETS_META_MAX + 1); offsets below
 * @p commit_at are dropped, as the committed offset covers them.
 * @returns its length (0: nothing ahead).
 */
size_t
xq_offsets_metadata(xq_offsets_t *t, int32_t partition, int64_t commit_at, char *buf, size_t cap);

#endif /* XQ_OFFSETS_H */
