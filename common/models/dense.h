/* dense.h -- a dense (fully connected) network backend, read from explainq's JSON model format. */
#ifndef XQ_MODELS_DENSE_H
#define XQ_MODELS_DENSE_H

#include <stddef.h>

#include "err.h"
#include "model.h"

/*
 * The format ("explainq-dense-v1"), for small tabular models and tests:
 * {"format": "explainq-dense-v1",
 *  "inputs": [{"name": "x", "shape": [20]}, ...],   concatenated in order
 *  "output": {"name": "probs", "shape": [2]},
 *  "layers": [{"weights": [[...], ...], "bias": [...], "activation": "relu"}, ...]}
 * weights are [out][in]; activations: linear, relu, tanh, sigmoid, exp,
 * softmax (last layer only). Forward and input gradients, in double inside.
 */

/**
 * Loads the model in JSON text @p text (@p len bytes).
 *
 * @returns XQ_OK and a new model in @p *out (free with xq_model_destroy()),
 *          or XQ_EMODEL with the offending field in @p err.
 */
xq_err_t xq_dense_load(const char *text, size_t len, xq_model_t **out, xq_error_t *err);

#endif /* XQ_MODELS_DENSE_H */
