/* sha256.h -- SHA-256 digests and their hex form: the content ids of specs, indexes and rows. */
#ifndef XQ_SHA256_H
#define XQ_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XQ_SHA256_LEN     32
#define XQ_SHA256_HEX_LEN 64

/** The digest of @p len bytes at @p p into @p md. */
void xq_sha256(const void *p, size_t len, uint8_t md[XQ_SHA256_LEN]);

/** The digest of @p len bytes at @p p as lowercase hex, NUL-terminated, into @p hex. */
void xq_sha256_hex(const void *p, size_t len, char hex[XQ_SHA256_HEX_LEN + 1]);

/** true when @p s is a digest in the form xq_sha256_hex writes (64 lowercase hex digits). */
bool xq_sha256_hex_valid(const char *s);

/** A digest over several pieces: begin, add each, then end (which frees it). */
typedef struct xq_sha256_ctx xq_sha256_ctx_t;

xq_sha256_ctx_t *xq_sha256_begin(void);
void xq_sha256_add(xq_sha256_ctx_t *c, const void *p, size_t len);
void xq_sha256_end_hex(xq_sha256_ctx_t *c, char hex[XQ_SHA256_HEX_LEN + 1]);

#endif
