/* remote.h -- a model that lives in a runner: its tensors, learned with a "describe" request. */
#ifndef XQ_MODELS_REMOTE_H
#define XQ_MODELS_REMOTE_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "compact.h"
#include "err.h"
#include "mem.h"
#include "model.h"

/*
 * Workers map instances to tensors without the model: a runner answers
 * {"id", "describe": true} with
 * {"id", "model": {"inputs": [{"name", "shape"}...], "output": {"name", "shape"},
 *  "encoded": [{"name", "shape"}...]}} (shapes per row, batch excluded).
 * The remote model carries those descriptors; its rows are evaluated by the
 * worker through Kafka, so evaluating it directly is an error.
 *
 * Optionally "tables": {encoded name: {"input": raw input name, "table":
 * tensor [vocab, dim]}} says that an encoded tensor is an embedding lookup
 * of token ids: the remote model then encodes instances itself (each raw
 * element, an integral id in [0, vocab), becomes its table row), so
 * encodedTensorName works through such runners (the Python torch runner
 * sends tables for nn.Embedding submodules; `explainq runner` sends none).
 */

/** Packs the describe reply for @p m under @p id. */
void xq_remote_describe_pack(const xq_model_t *m, const char *id, xq_buf_t *out);

/** Packs a describe request. */
void xq_remote_describe_request(const char *id, xq_buf_t *out);

/** true when @p buf is a describe request; its id is copied to @p id. */
bool xq_remote_is_describe(const uint8_t *buf, size_t len, char *id, size_t id_size);

/**
 * Packs the inference request @p id for batch @p b (its rows, fed tensors
 * and, when b->grad, gradient indices; at most XQ_CODEC_MAX_TENSORS tensors)
 * with the tensors' shapes from the runner's description @p remote. With
 * @p sel, the request's row k is row sel[k] of b's data (b->rows rows are
 * sent); NULL sends b's rows as they are. With @p compact (per fed tensor, for
 * a runner that announced compact requests), tensors go compact (compact.h),
 * and with @p pick (per row of b's data, the one output element the row
 * needs or -1) the runner replies only those outputs.
 */
void xq_remote_pack_request(const xq_model_t *remote,
                            const char *id,
                            const xq_batch_t *b,
                            const size_t *sel,
                            const xq_compact_rows_t *compact,
                            const int32_t *pick,
                            xq_buf_t *out);

/** The default bound of a request's tensor bytes: under Kafka's default message size. */
#define XQ_REMOTE_REQUEST_BYTES 900000

/**
 * Rows of @p row_elems floats one request (and its gradient reply) may carry
 * within @p max_bytes; at least 1.
 */
size_t xq_remote_rows_per_request(size_t row_elems, size_t max_bytes);

/** Builds a remote model from a describe reply's "model" map. */
xq_err_t xq_remote_model_new(const msgpack_object *model, xq_model_t **out, xq_error_t *err);

#endif /* XQ_MODELS_REMOTE_H */
