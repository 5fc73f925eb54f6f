/* load.h -- opens a model by file or URL through the table of backends (ONNX, XGBoost, HTTP,
 * dense JSON): each backend's name, how it is recognised, and its loader. */
#ifndef XQ_MODELS_LOAD_H
#define XQ_MODELS_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "model.h"

/** How to open a model; every member may be left 0/NULL. */
typedef struct xq_model_opts {
    const char *backend;      /* a name of the backend table (xq_backend_list()); NULL: by the
                                 path and content (xq_backend_sniff()) */
    const char *output;       /* output tensor to explain (NULL: the model's first) */
    double fd_step;           /* > 0: finite-difference gradients for models without them */
    int timeout_ms;           /* http: per request (0: 30 s) */
    const char *image_layout; /* "nchw" or "nhwc": how 3-d image inputs are ordered when
                                 their shape cannot tell (NULL: by the shape) */
    const char *dims;         /* "seq=128,h=224": values for inputs' named dynamic dimensions
                                 other than the batch (ONNX; NULL: none) */
} xq_model_opts_t;

/** Bytes at the start of a file that xq_backend_sniff() looks at. */
#define XQ_BACKEND_SNIFF_LEN 4096

/* Flags of a backend. */
#define XQ_BACKEND_F_ONNX 1u /* the file is an ONNX graph (explainq model info lists it) */

/** One model backend. The table is static: a definition outlives every caller. */
typedef struct xq_backend {
    const char *name; /* what --backend and xq_model_opts_t.backend say */
    const char *what; /* one line for people */
    unsigned flags;   /* XQ_BACKEND_F_* */
    /* Recognised by the path alone (a URL, a file suffix); NULL: never. */
    bool (*by_path)(const char *path);
    /* Recognised by the path and the file's first bytes (at most XQ_BACKEND_SNIFF_LEN; @p head
     * may be NULL when there are none); NULL: never. */
    bool (*by_content)(const char *path, const uint8_t *head, size_t len);
    /* Loads the model at @p path; @p data / @p len are the whole file when `reads` is set,
     * else NULL / 0 (the backend opens @p path itself). */
    xq_err_t (*load)(const char *path,
                     const uint8_t *data,
                     size_t len,
                     const xq_model_opts_t *opts,
                     xq_model_t **out,
                     xq_error_t *err);
    bool reads; /* load() wants the file's bytes */
} xq_backend_t;

/** The number of backends in the table. */
size_t xq_backend_cnt(void);

/** The @p i-th backend (0 <= i < xq_backend_cnt()), or NULL past the end (borrowed, static). */
const xq_backend_t *xq_backend_at(size_t i);

/** The backend called @p name, or NULL. */
const xq_backend_t *xq_backend_find(const char *name);

/**
 * The backend a model without --backend is opened with: the first whose
 * by_path accepts @p path (an http(s):// URL is http; .ubj and .model files are
 * xgboost), else the first whose by_content accepts @p path with the file's
 * first bytes @p head (a .json file naming explainq-dense-v1 is dense, another
 * .json is xgboost), else ONNX. Never NULL.
 */
const xq_backend_t *xq_backend_sniff(const char *path, const uint8_t *head, size_t len);

/**
 * The backend for @p path: the one called @p name when it is not NULL, else
 * xq_backend_sniff() on the path and, when that needs it, the file's first bytes.
 *
 * @returns the backend, or NULL with @p err filled: XQ_EINVAL for an unknown
 *          name (the message lists the table), XQ_EIO for an unreadable file.
 */
const xq_backend_t *xq_backend_choose(const char *path, const char *name, xq_error_t *err);

/**
 * Writes the backends' names to @p buf for people ("onnx, onnx-interp, ...
 * or dense"), cut to @p size - 1 bytes. @returns @p buf.
 */
const char *xq_backend_list(char *buf, size_t size);

/**
 * Loads the model at @p path (a file, or an http(s):// URL) as @p opts say
 * (NULL: defaults), with the backend xq_backend_choose() picks.
 *
 * @returns XQ_OK and a new model in @p *out (free with xq_model_destroy()),
 *          XQ_EIO when the file cannot be read, XQ_EMODEL when it is no model
 *          of that backend, XQ_EINVAL for an unknown backend.
 */
xq_err_t
xq_model_load(const char *path, const xq_model_opts_t *opts, xq_model_t **out, xq_error_t *err);

#endif /* XQ_MODELS_LOAD_H */
