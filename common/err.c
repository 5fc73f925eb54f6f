/* err.c -- error code table and error-detail helpers. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mem.h"

#define XQ_ERR_NAME_CASE(name, val, wire, msg) \
    case XQ_##name:                            \
        return "XQ_" #name;
#define XQ_ERR_STR_CASE(name, val, wire, msg) \
    case XQ_##name:                           \
        return msg;
#define XQ_ERR_WIRE_CASE(name, val, wire, msg) \
    case XQ_##name:                            \
        return wire;

const char *xq_err_name(xq_err_t code) {
    switch (code) { XQ_ERR_MAP(XQ_ERR_NAME_CASE) }
    return "XQ_EUNKNOWN";
}

const char *xq_err_str(xq_err_t code) {
    switch (code) { XQ_ERR_MAP(XQ_ERR_STR_CASE) }
    return "unknown error";
}

const char *xq_err_wire(xq_err_t code) {
    switch (code) { XQ_ERR_MAP(XQ_ERR_WIRE_CASE) }
    return "unknown";
}

static void fill(xq_error_t *err, xq_err_t code, const char *field, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static void fill(xq_error_t *err, xq_err_t code, const char *field, const char *fmt, va_list ap) {
    err->code = code;
    snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

xq_err_t xq_error_set(xq_error_t *err, xq_err_t code, const char *field, const char *fmt, ...) {
    va_list ap;

    if (!err)
        return code;
    va_start(ap, fmt);
    fill(err, code, field, fmt, ap);
    va_end(ap);
    return code;
}

void xq_errlist_init(xq_errlist_t *errs) {
    memset(errs, 0, sizeof(*errs));
}

void xq_errlist_fini(xq_errlist_t *errs) {
    xq_free(errs->items);
    xq_errlist_init(errs);
}

void xq_errlist_add(xq_errlist_t *errs, xq_err_t code, const char *field, const char *fmt, ...) {
    va_list ap;

    if (errs->cnt >= XQ_ERRLIST_MAX) {
        errs->dropped++;
        return;
    }
    if (errs->cnt == errs->cap) {
        errs->cap = errs->cap ? errs->cap * 2 : 8;
        errs->items = xq_reallocarray(errs->items, errs->cap, sizeof(*errs->items));
    }
    va_start(ap, fmt);
    fill(&errs->items[errs->cnt++], code, field, fmt, ap);
    va_end(ap);
}

size_t xq_errlist_total(const xq_errlist_t *errs) {
    return errs->cnt + errs->dropped;
}
