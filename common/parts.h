/* parts.h -- results larger than one Kafka message: split into parts a reader reassembles. */
#ifndef XQ_PARTS_H
#define XQ_PARTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "err.h"
#include "mem.h"

/*
 * A message that would exceed the topic's message limit goes out as n parts,
 * every one a msgpack map
 *
 *     {"id": <job id>, "part": k, "parts": n, "bytes": <whole length>, "data": <bin>}
 *
 * with k = 0 .. n-1 in order, all keyed by the job id (so on one partition)
 * and inside one transaction (so a read_committed reader sees all or none).
 * Concatenating the data of parts 0 .. n-1 gives the msgpack result a small
 * job would have had as its one message.
 */

/** Bytes of map and id around the data of one part (so a part fits @p max_bytes). */
#define XQ_PARTS_OVERHEAD 320

/**
 * Packs part @p k of @p msg (@p len bytes) for job @p id into @p out (reset
 * first), taking @p chunk bytes of data per part.
 */
void xq_parts_pack(
    const char *id, const uint8_t *msg, size_t len, size_t chunk, size_t k, xq_buf_t *out);

/** Parts @p len bytes take at @p chunk bytes each (1 for 0 bytes). */
size_t xq_parts_count(size_t len, size_t chunk);

/** Is @p o (a result message's map) a part? */
bool xq_parts_is_part(const msgpack_object *o);

typedef struct xq_parts xq_parts_t;

/** A reassembler holding at most @p max_bytes of unfinished results (caller destroys). */
xq_parts_t *xq_parts_new(size_t max_bytes);
void xq_parts_destroy(xq_parts_t *p);

/**
 * Adds part @p o. When it completes its result, @p *whole points at the
 * result's bytes (owned by @p p, valid until the next call) and @p *whole_len
 * is its length; otherwise @p *whole is NULL.
 *
 * @returns XQ_OK, or XQ_EDECODE for a malformed part, a part out of order
 *          (the result so far is dropped) or more than max_bytes waiting.
 */
xq_err_t xq_parts_add(xq_parts_t *p,
                      const msgpack_object *o,
                      const uint8_t **whole,
                      size_t *whole_len,
                      xq_error_t *err);

#endif /* XQ_PARTS_H */
