/* mp.h -- msgpack helpers shared by the codecs: buffer packer, zone copies, canonical values. */
#ifndef XQ_MP_H
#define XQ_MP_H

#include <stdbool.h>
#include <stddef.h>

#include <msgpack.h>

#include "mem.h"

/** Upper bound on nesting the helpers recurse into; deeper input is rejected. */
#define XQ_MP_MAX_DEPTH 64

/**
 * Checks that @p buf starts with one well-formed msgpack object whose every
 * array and map declares no more elements than bytes remain. msgpack-c
 * allocates a container's declared size before reading its elements, so a
 * 6-byte message declaring 2^32 entries would otherwise cost gigabytes: run
 * this before msgpack_unpack_next() on anything from the network.
 *
 * @returns true and the object's length in @p *used, or false.
 */
bool xq_mp_validate(const uint8_t *buf, size_t len, size_t *used);

/**
 * Checks @p buf with xq_mp_validate and unpacks into @p msg (initialized and
 * later destroyed by the caller) the one object that must fill it exactly.
 *
 * @returns false when the bytes are malformed or hold anything more.
 */
bool xq_mp_unpack_one(const void *buf, size_t len, msgpack_unpacked *msg);

/** Initializes @p pk to append to @p b (borrowed for the packer's life). */
void xq_mp_packer_init(msgpack_packer *pk, xq_buf_t *b);

/** Packs a C string as a msgpack str. */
void xq_mp_pack_str(msgpack_packer *pk, const char *s);

/** Packs @p len bytes at @p s as a msgpack str. */
void xq_mp_pack_strn(msgpack_packer *pk, const char *s, size_t len);

/** The value of key @p key in map @p map (borrowed), or NULL when absent or not a map. */
const msgpack_object *xq_mp_map_get(const msgpack_object *map, const char *key);

/** true when @p o is a str equal to the C string @p s. */
bool xq_mp_str_eq(const msgpack_object *o, const char *s);

/** @p size bytes from @p zone (freed with the zone); aborts on OOM like xq_malloc(). */
void *xq_mp_zone_alloc(msgpack_zone *zone, size_t size);

/** A NUL-terminated copy of @p len bytes at @p s, allocated from @p zone. */
char *xq_mp_zone_strdup(msgpack_zone *zone, const char *s, size_t len);

/**
 * Deep-copies @p src into @p dst with every str, bin, array and map allocated
 * from @p zone, so @p dst outlives the buffer @p src points into.
 *
 * @returns false when nesting exceeds XQ_MP_MAX_DEPTH.
 */
bool xq_mp_zone_copy(msgpack_zone *zone, const msgpack_object *src, msgpack_object *dst);

/**
 * true when @p o is a number (integer or float); its value goes to @p *out.
 */
bool xq_mp_number(const msgpack_object *o, double *out);

/**
 * Packs @p o in canonical form: map keys sorted bytewise (keys must be str),
 * numbers as the smallest integer encoding when integral and exactly
 * representable (|x| < 2^53), otherwise as float64. Two values that are equal
 * as JSON (key order, 1 vs 1.0) pack to the same bytes.
 *
 * @returns false on a non-str map key, a non-finite float, an ext, or nesting
 *          deeper than XQ_MP_MAX_DEPTH; what was packed so far is garbage then.
 */
bool xq_mp_pack_canonical(msgpack_packer *pk, const msgpack_object *o);

/** Packs a double canonically (see xq_mp_pack_canonical()). */
void xq_mp_pack_number(msgpack_packer *pk, double d);

/**
 * Finds the str value of @p key in the top-level map of @p buf without
 * unpacking it, at any depth of nesting and even when the rest is malformed
 * past it: an id can be read from a message too deep to decode.
 *
 * @returns true with @p *val pointing into @p buf (@p *val_len bytes).
 */
bool xq_mp_peek_str(
    const uint8_t *buf, size_t len, const char *key, const uint8_t **val, size_t *val_len);

#endif /* XQ_MP_H */
