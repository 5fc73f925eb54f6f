/* helpers.h -- small helpers the unit tests share. */
#ifndef XQ_TESTS_HELPERS_H
#define XQ_TESTS_HELPERS_H

#include <stddef.h>

#include <msgpack.h>

#include "mem.h"

/** JSON text to msgpack bytes in @p b (ck_abort on invalid JSON). */
void t_json_to_mp(const char *json, xq_buf_t *b);

/* The JSON file at @p path as msgpack, appended to @p b (initialized by the caller); the test
 * fails when the file cannot be read or is not JSON. */
void t_json_file_to_mp(const char *path, xq_buf_t *b);

/** Unpacks the one object of @p b into @p msg (ck_abort on failure). */
void t_unpack(const xq_buf_t *b, msgpack_unpacked *msg);

/** Canonical msgpack of JSON text, as lowercase hex (caller frees). */
char *t_canonical_hex(const char *json);

/** Bytes as lowercase hex (caller frees). */
char *t_hex(const uint8_t *p, size_t len);

/** A copy of @p s with every ' turned into " (caller frees), for readable JSON in tests. */
char *t_dq(const char *s);

#endif /* XQ_TESTS_HELPERS_H */
