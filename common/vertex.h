/* vertex.h -- specs as Vertex AI users hold them: halves, Model resources, per-request overrides.
 */
#ifndef XQ_VERTEX_H
#define XQ_VERTEX_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "err.h"
#include "model.h"
#include "spec.h"

/**
 * Assembles and validates an ExplanationSpec from what a user has (each
 * buffer JSON text or msgpack, or NULL):
 * - @p spec: an ExplanationSpec, or a Model resource (`models.get` /
 *   `gcloud ai models describe --format=json`) holding one under
 *   "explanationSpec";
 * - @p meta: ExplanationMetadata (explanation_metadata.json: "inputs",
 *   "outputs", ...; the keys "framework", "tags" and "preparer" that AI
 *   Platform's metadata files carry do not affect explanations and are
 *   dropped);
 * - @p params: ExplanationParameters (the method and topK/outputIndices), bare
 *   or under "parameters".
 * @p meta and @p params replace the halves of @p spec they name. Errors carry
 * the spec's paths ("parameters.sampledShapleyAttribution.pathCount").
 *
 * @returns XQ_OK and a new spec in @p *out (free with xq_spec_destroy()), or
 *          XQ_ESPEC / XQ_EDECODE with @p errs.
 */
xq_err_t xq_vertex_spec_parse(const uint8_t *spec,
                              size_t spec_len,
                              const uint8_t *meta,
                              size_t meta_len,
                              const uint8_t *params,
                              size_t params_len,
                              xq_spec_t **out,
                              xq_errlist_t *errs);

/**
 * Applies a request's explanationSpecOverride @p ovr (a msgpack map:
 * "parameters", "metadata": {"inputs": {name: {"inputBaselines": [...]}}},
 * "examplesOverride") to @p base, as Vertex does: the parameters given replace
 * the base's (field by field at the top of ExplanationParameters), but the
 * attribution method cannot change; an input's inputBaselines replace that
 * input's, and the input must exist. examplesOverride is not part of the
 * spec; the caller reads it (a job's examplesOverride). Errors name
 * "explanationSpecOverride.<path>".
 *
 * @returns XQ_OK and a new spec in @p *out, or XQ_EINVAL / XQ_ESPEC with @p errs.
 */
xq_err_t xq_vertex_spec_override(const xq_spec_t *base,
                                 const msgpack_object *ovr,
                                 xq_spec_t **out,
                                 xq_errlist_t *errs);

/**
 * Maps the @p n instances at @p insts through @p spec and @p model (their
 * layouts; nothing is evaluated) and, when @p preds is not NULL, runs them
 * forward in one batch and packs an array of @p n predictions into it: each
 * the model's output row, a number or nested arrays shaped as its output.
 *
 * @returns XQ_OK, or the first instance's error (field "instances[i]...") or
 *          the model's.
 */
xq_err_t xq_vertex_predict(const xq_spec_t *spec,
                           xq_model_t *model,
                           const msgpack_object *insts,
                           size_t n,
                           msgpack_packer *preds,
                           xq_error_t *err);

/** The HTTP status an error of ours answers with: 400 for bad input, 404, 503, 504, 500. */
int xq_vertex_http_status(xq_err_t code);

/** Google's status name of HTTP status @p http ("INVALID_ARGUMENT" for 400). */
const char *xq_vertex_status_name(int http);

/**
 * Appends Google's error envelope to @p out:
 * {"error": {"code": <http>, "message": <msg>, "status": <name>}}.
 */
void xq_vertex_error_json(int http, const char *msg, xq_buf_t *out);

#endif /* XQ_VERTEX_H */
