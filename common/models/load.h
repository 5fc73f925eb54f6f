/* load.h -- opens a model by file and backend name (dense JSON networks, ONNX). */
#ifndef XQ_MODELS_LOAD_H
#define XQ_MODELS_LOAD_H

#include "err.h"
#include "model.h"

/**
 * Loads the model at @p path with @p backend ("dense" or "onnx"; NULL
 * chooses by content: JSON is dense, anything else ONNX). @p output names the
 * output tensor to explain (NULL: the model's first).
 *
 * @returns XQ_OK and a new model in @p *out (free with xq_model_destroy()),
 *          XQ_EIO when the file cannot be read, XQ_EMODEL when it is no model
 *          of that backend, XQ_EINVAL for an unknown backend.
 */
xq_err_t xq_model_load(
    const char *path, const char *backend, const char *output, xq_model_t **out, xq_error_t *err);

#endif /* XQ_MODELS_LOAD_H */
