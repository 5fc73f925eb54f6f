/* http.h -- models served over HTTP: KServe v2, or Vertex/TF-Serving {"instances"} ->
 * {"predictions"}. */
#ifndef XQ_MODELS_HTTP_H
#define XQ_MODELS_HTTP_H

#include "err.h"
#include "model.h"

/*
 * Two protocols, told apart by the URL:
 * - KServe v2 (Open Inference Protocol): http://host:port/v2/models/NAME. The
 *   tensors and shapes come from GET .../v2/models/NAME; batches go to
 *   POST .../v2/models/NAME/infer as FP32 tensors.
 * - Vertex AI / TF-Serving: http://host:port/v1/models/NAME:predict#in=x:20&out=y:2
 *   ({"instances": [...]} -> {"predictions": [...]}). That protocol has no
 *   metadata call, so the fragment declares the inputs (name:dims, dims like
 *   4x4x3, several separated by commas) and the output. With one input each
 *   instance is its nested list; with several, an object of them.
 * Forward only: gradient requests fail with an error that names the backend.
 */

/** Creates a model served at @p url (see above); KServe's metadata is fetched now. */
xq_err_t xq_http_model_new(const char *url, int timeout_ms, xq_model_t **out, xq_error_t *err);

#endif /* XQ_MODELS_HTTP_H */
