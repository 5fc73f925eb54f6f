/* base64.h -- base64 text (RFC 4648) both ways: pictures in JSON, bin values as JSON. */
#ifndef XQ_BASE64_H
#define XQ_BASE64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem.h"

/** Appends the padded base64 text of @p len bytes to @p out, NUL not included. */
void xq_base64_encode(const uint8_t *buf, size_t len, xq_buf_t *out);

/**
 * Appends the bytes of base64 text @p s to @p out; the URL-safe alphabet and
 * line breaks are accepted. @returns false on a character or padding it rejects.
 */
bool xq_base64_decode(const char *s, size_t len, xq_buf_t *out);

#endif /* XQ_BASE64_H */
