/* err.h -- one error-code space for libexplainq, and the error structs that carry details. */
#ifndef XQ_ERR_H
#define XQ_ERR_H

#include <stddef.h>

/*
 * X(name, value, wire code, default message). The wire code is what a result's
 * error.code carries (docs/design.md §7); it never changes once released.
 */
#define XQ_ERR_MAP(X)                                           \
    X(OK, 0, "ok", "success")                                   \
    X(ENOMEM, -1, "out_of_memory", "out of memory")             \
    X(EINVAL, -2, "invalid_argument", "invalid argument")       \
    X(EDECODE, -3, "undecodable", "message cannot be decoded")  \
    X(ESPEC, -4, "invalid_spec", "explanation spec is invalid") \
    X(EIO, -5, "io_error", "input/output error")                \
    X(ETIMEOUT, -6, "timeout", "timed out")                     \
    X(EKAFKA, -7, "kafka_error", "kafka error")                 \
    X(EREDIS, -8, "redis_error", "redis error")                 \
    X(EMODEL, -9, "model_error", "model error")                 \
    X(ENOTFOUND, -10, "not_found", "not found")                 \
    X(ELIMIT, -11, "limit_exceeded", "a configured limit was exceeded")

typedef enum xq_err {
#define XQ_ERR_ENUM(name, val, wire, msg) XQ_##name = (val),
    XQ_ERR_MAP(XQ_ERR_ENUM)
#undef XQ_ERR_ENUM
} xq_err_t;

#define XQ_ERR_FIELD_SIZE 256 /* a JSON path; long feature names make 128 too short */
#define XQ_ERR_MSG_SIZE   256
#define XQ_ERRSTR_SIZE    512

/** One error with the input path it is about. Plain data, caller-owned. */
typedef struct xq_error {
    xq_err_t code;                 /* XQ_OK when no error was set */
    char field[XQ_ERR_FIELD_SIZE]; /* input path of the offending field, "" if none */
    char msg[XQ_ERR_MSG_SIZE];     /* lowercase, no full stop: "0 is outside [1, 50]" */
} xq_error_t;

/** Upper bound on the errors one list keeps; the rest are only counted. */
#define XQ_ERRLIST_MAX 100

/**
 * A list of errors, for validators that report every problem of an input.
 * Initialize with xq_errlist_init(), free with xq_errlist_fini().
 */
typedef struct xq_errlist {
    xq_error_t *items; /* owned array of cnt errors */
    size_t cnt;        /* errors kept */
    size_t cap;        /* allocated slots */
    size_t dropped;    /* errors counted past XQ_ERRLIST_MAX */
} xq_errlist_t;

/** Name of @p code ("XQ_ESPEC"); static storage. */
const char *xq_err_name(xq_err_t code);

/** Default message of @p code; static storage. */
const char *xq_err_str(xq_err_t code);

/** Stable wire code of @p code ("invalid_spec"); static storage. */
const char *xq_err_wire(xq_err_t code);

/**
 * Fills @p err (if non-NULL) with @p code, @p field (NULL or "" for none) and a
 * printf-formatted message, truncating both to their buffers.
 *
 * @returns @p code, so callers can `return xq_error_set(...)`.
 */
xq_err_t xq_error_set(xq_error_t *err, xq_err_t code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** Empties @p errs without allocating. */
void xq_errlist_init(xq_errlist_t *errs);

/** Frees what @p errs holds; it is empty and reusable afterwards. */
void xq_errlist_fini(xq_errlist_t *errs);

/** Appends an error like xq_error_set(); past XQ_ERRLIST_MAX it only counts it. */
void xq_errlist_add(xq_errlist_t *errs, xq_err_t code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** Total errors added, kept or not. */
size_t xq_errlist_total(const xq_errlist_t *errs);

#endif /* XQ_ERR_H */
