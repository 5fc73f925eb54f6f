/* onnx.h -- ONNX models on the CPU: forward passes and reverse-mode gradients of inputs. */
#ifndef XQ_MODELS_ONNX_H
#define XQ_MODELS_ONNX_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mem.h"
#include "model.h"

/*
 * A model is read with protobuf-c from ONNX's own schema (compiled from
 * Debian's libonnx-dev). The first dimension of every graph input is the
 * batch; the others must be fixed. A batch fixed at 1 runs many rows a pass
 * when that gives each row exactly its own result (checked at load), else
 * one row a pass. Tensors are float32 (int32/int64 inputs, such as token ids
 * for Gather, are fed as floats and converted). A row's outputs and gradients
 * are the same bits however rows are batched (on one machine).
 *
 * Any intermediate float tensor whose first dimension is the batch can be fed
 * instead of what computes it (encodedTensorName) and is listed as an encoded
 * tensor: the model finds their shapes by running itself once on zeros.
 *
 * Gradients are of one output element per row (its flat index in the row)
 * with respect to the fed tensors, not the weights.
 *
 * Operators: Gemm MatMul Add Sub Mul Div Relu LeakyRelu Sigmoid Tanh Softmax
 * Exp Log Clip Identity Constant Flatten Reshape Transpose Squeeze Unsqueeze
 * Concat Gather ReduceSum ReduceMean Conv MaxPool AveragePool
 * GlobalAveragePool BatchNormalization Shape Dropout (inference).
 */

/**
 * Loads the ONNX model in @p buf. @p output names the output to explain
 * (NULL: the graph's first output).
 *
 * @returns XQ_OK and a new model in @p *out (free with xq_model_destroy()),
 *          or XQ_EMODEL naming what is wrong (an unsupported operator names
 *          the operator and its node).
 */
xq_err_t
xq_onnx_load(const uint8_t *buf, size_t len, const char *output, xq_model_t **out, xq_error_t *err);

/**
 * Like xq_onnx_load(), for a model read from a file in directory @p dir: tensors whose data
 * sits in an external file (location, offset, length; the file beside the model, as
 * torch.onnx.export writes m.onnx.data) are read from there. @p dir is used only during the
 * call. @p dims (may be NULL) gives values for inputs' named dynamic dimensions
 * (xq_model_dims_lookup()).
 */
xq_err_t xq_onnx_load_dir(const uint8_t *buf,
                          size_t len,
                          const char *dir,
                          const char *output,
                          const char *dims,
                          xq_model_t **out,
                          xq_error_t *err);

/**
 * Describes the ONNX model in @p buf for people (explainq model info): each graph input and
 * output with its element type and shape, and each operator with its node count and whether
 * the interpreter differentiates it. Appends lines to @p out.
 *
 * @returns XQ_OK, or XQ_EMODEL when @p buf is no ONNX model.
 */
xq_err_t xq_onnx_info(const uint8_t *buf, size_t len, xq_buf_t *out, xq_error_t *err);

#endif /* XQ_MODELS_ONNX_H */
