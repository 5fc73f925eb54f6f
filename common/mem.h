/* mem.h -- allocation wrappers (abort on OOM, overflow-checked) and a growable byte buffer. */
#ifndef XQ_MEM_H
#define XQ_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * xq_malloc() and friends log one line and abort() when memory runs out, so
 * call sites need no OOM branch (redis zmalloc, git xmalloc). Where a size comes
 * from the network use xq_try_*(), which return NULL instead.
 */
void *xq_malloc(size_t size);
void *xq_calloc(size_t n, size_t size);
void *xq_realloc(void *p, size_t size);
/** realloc() of @p n elements of @p size, aborting on overflow of n * size. */
void *xq_reallocarray(void *p, size_t n, size_t size);
char *xq_strdup(const char *s);
char *xq_strndup(const char *s, size_t len);
void xq_free(void *p);

/** NULL on failure or on overflow of @p n * @p size. */
void *xq_try_malloc(size_t size);
void *xq_try_calloc(size_t n, size_t size);

/** true and @p *out = a * b, or false when the product overflows size_t. */
bool xq_mul_overflows(size_t a, size_t b, size_t *out);

/** A growable byte buffer; caller storage, xq_buf_init() / xq_buf_fini(). */
typedef struct xq_buf {
    uint8_t *data; /* owned; NULL while empty */
    size_t len;    /* bytes used */
    size_t cap;    /* bytes allocated */
} xq_buf_t;

void xq_buf_init(xq_buf_t *b);
void xq_buf_fini(xq_buf_t *b);
/** Makes room for @p more bytes past len. */
void xq_buf_reserve(xq_buf_t *b, size_t more);
void xq_buf_append(xq_buf_t *b, const void *p, size_t len);
void xq_buf_append_str(xq_buf_t *b, const char *s);
void xq_buf_appendf(xq_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Writes a NUL after the data (not counted in len) and returns data as a string. */
const char *xq_buf_cstr(xq_buf_t *b);
/** Hands the data to the caller (free with xq_free()); @p b is empty afterwards. */
uint8_t *xq_buf_detach(xq_buf_t *b, size_t *len);

#endif /* XQ_MEM_H */
