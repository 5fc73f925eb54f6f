/* offsets.h -- per partition: jobs in flight, the offset to commit, and jobs answered ahead. */
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

/*
 * The worker's exactly-once bookkeeping, as plain data (no Kafka here): the
 * jobs of each partition that were accepted and not yet answered (in flight),
 * the offset a transaction may commit (the oldest in flight, else one past
 * the last consumed), which finished results may be published now (the
 * oldest in flight, or one the metadata can name ahead), and the offsets
 * answered ahead.
 */
typedef struct xq_offsets xq_offsets_t;

/** An empty tracker (caller destroys). */
xq_offsets_t *xq_offsets_new(void);
void xq_offsets_destroy(xq_offsets_t *t);

/**
 * Starts @p partition over from its committed offset @p committed and the
 * commit's metadata (@p meta, @p len bytes; NULL or not ours: none ahead);
 * nothing is in flight afterwards.
 */
void xq_offsets_reset(
    xq_offsets_t *t, int32_t partition, int64_t committed, const char *meta, size_t len);

/** Forgets @p partition (revoked). */
void xq_offsets_forget(xq_offsets_t *t, int32_t partition);

/** Records the job at @p offset as accepted and not yet answered. */
void xq_offsets_track(xq_offsets_t *t, int32_t partition, int64_t offset);

/** Forgets the job at @p offset (answered, or dropped to be consumed again). */
void xq_offsets_untrack(xq_offsets_t *t, int32_t partition, int64_t offset);

/** Jobs of @p partition in flight. */
size_t xq_offsets_inflight(const xq_offsets_t *t, int32_t partition);

/**
 * The offset to commit for @p partition: its oldest job in flight, else
 * @p position (one past the last consumed; negative when unknown).
 */
int64_t xq_offsets_committable(const xq_offsets_t *t, int32_t partition, int64_t position);

/**
 * May the finished job at @p offset (tracked) be published now? Yes when it
 * is the oldest in flight of its partition, or when the commit's metadata
 * can name it as answered ahead (then it is recorded so). No: it waits for
 * the older ones.
 */
bool xq_offsets_may_publish(xq_offsets_t *t, int32_t partition, int64_t offset);

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
