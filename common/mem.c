/* mem.c -- allocation wrappers and the growable byte buffer. */
#include "mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static void oom(size_t size) {
    xq_log(XQ_LOG_ERROR, "mem", "out of memory allocating %zu bytes", size);
    abort();
}

bool xq_mul_overflows(size_t a, size_t b, size_t *out) {
    if (b && a > SIZE_MAX / b)
        return true;
    *out = a * b;
    return false;
}

void *xq_malloc(size_t size) {
    void *p = malloc(size ? size : 1);

    if (!p)
        oom(size);
    return p;
}

void *xq_calloc(size_t n, size_t size) {
    size_t total;
    void *p;

    if (xq_mul_overflows(n, size, &total))
        oom(SIZE_MAX);
    p = calloc(total ? n : 1, total ? size : 1);
    if (!p)
        oom(total);
    return p;
}

void *xq_realloc(void *p, size_t size) {
    void *q = realloc(p, size ? size : 1);

    if (!q)
        oom(size);
    return q;
}

void *xq_reallocarray(void *p, size_t n, size_t size) {
    size_t total;

    if (xq_mul_overflows(n, size, &total))
        oom(SIZE_MAX);
    return xq_realloc(p, total);
}

char *xq_strdup(const char *s) {
    return xq_strndup(s, strlen(s));
}

char *xq_strndup(const char *s, size_t len) {
    char *d = xq_malloc(len + 1);

    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

void xq_free(void *p) {
    free(p);
}

void *xq_try_malloc(size_t size) {
    return malloc(size ? size : 1);
}

void *xq_try_calloc(size_t n, size_t size) {
    size_t total;

    if (xq_mul_overflows(n, size, &total))
        return NULL;
    return calloc(total ? n : 1, total ? size : 1);
}

void xq_buf_init(xq_buf_t *b) {
    memset(b, 0, sizeof(*b));
}

void xq_buf_fini(xq_buf_t *b) {
    xq_free(b->data);
    xq_buf_init(b);
}

void xq_buf_reserve(xq_buf_t *b, size_t more) {
    size_t need = b->len + more + 1; /* +1 keeps room for xq_buf_cstr()'s NUL */

    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    b->data = xq_realloc(b->data, cap);
    b->cap = cap;
}

void xq_buf_append(xq_buf_t *b, const void *p, size_t len) {
    if (!len)
        return;
    xq_buf_reserve(b, len);
    memcpy(b->data + b->len, p, len);
    b->len += len;
}

void xq_buf_append_str(xq_buf_t *b, const char *s) {
    xq_buf_append(b, s, strlen(s));
}

void xq_buf_appendf(xq_buf_t *b, const char *fmt, ...) {
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    xq_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

const char *xq_buf_cstr(xq_buf_t *b) {
    xq_buf_reserve(b, 0);
    b->data[b->len] = '\0';
    return (const char *)b->data;
}

uint8_t *xq_buf_detach(xq_buf_t *b, size_t *len) {
    uint8_t *d = b->data;

    if (len)
        *len = b->len;
    xq_buf_init(b);
    return d;
}
