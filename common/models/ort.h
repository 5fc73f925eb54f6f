/* ort.h -- ONNX models evaluated by ONNX Runtime, with explainq's interpreter for gradients. */
#ifndef XQ_MODELS_ORT_H
#define XQ_MODELS_ORT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "model.h"

/*
 * Forward rows go through ONNX Runtime (its C API, one intra-op thread,
 * sequential execution, deterministic compute): every operator and opset it
 * supports, the ai.onnx.ml domain, external data files next to the model.
 * The batch dimension may be dynamic or fixed; a fixed batch of B runs B rows
 * at a time (the last call padded with zero rows).
 *
 * ONNX Runtime's inference build computes no input gradients, so gradient
 * rows, and rows that feed an intermediate tensor (encodedTensorName), go to
 * explainq's own interpreter (models/onnx.h) of the same file. When the
 * interpreter cannot take the model, forward rows still work and gradient
 * requests fail with the interpreter's reason.
 *
 * Inputs of type float, double, int64, int32 and bool are fed from floats
 * (integers rounded); outputs of type float, double, int64 and int32 are
 * returned as floats. Every dimension of an input but the first must be fixed.
 */

/**
 * Opens the ONNX model at @p path with ONNX Runtime. @p buf / @p len is the
 * file's content, given to the interpreter for gradients. @p output names the
 * output to explain (NULL: the graph's first output); when it names an
 * intermediate tensor rather than a graph output, the interpreter evaluates
 * every row. @p dims (may be NULL) gives values for inputs' named dynamic
 * dimensions other than the batch ("seq=128"; xq_model_dims_lookup()).
 *
 * @returns XQ_OK and a new model in @p *out (free with xq_model_destroy()),
 *          or XQ_EMODEL naming what is wrong.
 */
xq_err_t xq_ort_load(const char *path,
                     const uint8_t *buf,
                     size_t len,
                     const char *output,
                     const char *dims,
                     xq_model_t **out,
                     xq_error_t *err);

#endif /* XQ_MODELS_ORT_H */
