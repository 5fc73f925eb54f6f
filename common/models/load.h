/* load.h -- opens a model by file or URL and backend: ONNX, XGBoost, HTTP, dense JSON. */
#ifndef XQ_MODELS_LOAD_H
#define XQ_MODELS_LOAD_H

#include "err.h"
#include "model.h"

/** How to open a model; every member may be left 0/NULL. */
typedef struct xq_model_opts {
    const char *backend;      /* "onnx" (onnxruntime forward, interpreter gradients), "onnx-interp"
                                 (the interpreter alone), "dense", "xgboost", "http"; NULL: by the
                                 path and content */
    const char *output;       /* output tensor to explain (NULL: the model's first) */
    double fd_step;           /* > 0: finite-difference gradients for models without them */
    int timeout_ms;           /* http: per request (0: 30 s) */
    const char *image_layout; /* "nchw" or "nhwc": how 3-d image inputs are ordered when
                                 their shape cannot tell (NULL: by the shape) */
    const char *dims;         /* "seq=128,h=224": values for inputs' named dynamic dimensions
                                 other than the batch (ONNX; NULL: none) */
} xq_model_opts_t;

/**
 * Loads the model at @p path (a file, or an http(s):// URL) as @p opts say
 * (NULL: defaults). Without a backend: a URL is http; a .json file whose
 * format is explainq-dense-v1 is dense; other .json, .ubj and .model files are
 * xgboost; anything else is ONNX.
 *
 * @returns XQ_OK and a new model in @p *out (free with xq_model_destroy()),
 *          XQ_EIO when the file cannot be read, XQ_EMODEL when it is no model
 *          of that backend, XQ_EINVAL for an unknown backend.
 */
xq_err_t
xq_model_load(const char *path, const xq_model_opts_t *opts, xq_model_t **out, xq_error_t *err);

#endif /* XQ_MODELS_LOAD_H */
