/* json.h -- JSON text <-> msgpack, for people at the edges (CLI, files); the wire is msgpack. */
#ifndef XQ_JSON_H
#define XQ_JSON_H

#include <stddef.h>

#include <msgpack.h>

#include "err.h"
#include "mem.h"

/**
 * Parses the JSON document in @p text (@p len bytes, need not be NUL-terminated)
 * and appends it to @p out as msgpack: objects as maps in document order,
 * integers as msgpack integers, reals as float64. Duplicate object keys are an
 * error.
 *
 * @returns XQ_OK, or XQ_EDECODE with @p err naming the line and column.
 */
xq_err_t xq_json_to_msgpack(const char *text, size_t len, xq_buf_t *out, xq_error_t *err);

/** Output flags of xq_json_from_msgpack(). */
#define XQ_JSON_PRETTY 0x1 /* two-space indentation, one member a line */

/**
 * Appends @p o to @p out as JSON text (not NUL-terminated; see xq_buf_cstr()).
 * Floats print in the shortest form that reads back to the same value (float32
 * judged as float32), non-finite floats as null, bin as a base64 string.
 *
 * @returns XQ_OK, or XQ_EINVAL for a map key that is not a str or number, an
 *          ext, or nesting deeper than XQ_MP_MAX_DEPTH.
 */
xq_err_t xq_json_from_msgpack(const msgpack_object *o, int flags, xq_buf_t *out, xq_error_t *err);

/** Appends @p len bytes at @p s to @p out as a quoted, escaped JSON string. */
void xq_json_append_str(xq_buf_t *out, const char *s, size_t len);

/** Appends the shortest round-trip decimal form of @p d (a JSON number; null if not finite). */
void xq_json_append_double(xq_buf_t *out, double d);

#endif /* XQ_JSON_H */
