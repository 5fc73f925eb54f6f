/* codec.h -- the inference protocol's messages (docs/design.md §2.4): requests to runners, their
 * replies.
 */
#ifndef XQ_CODEC_H
#define XQ_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "compact.h"
#include "err.h"
#include "mem.h"
#include "tensor.h"

#define XQ_CODEC_MAX_TENSORS 64 /* tensors one request feeds; a model with more is refused */
#define XQ_CODEC_ID_SIZE     128

/** A decoded inference request; owns everything (xq_infer_req_fini()). */
typedef struct xq_infer_req {
    char id[XQ_CODEC_ID_SIZE]; /* correlation id */
    size_t rows;               /* the batch, the same for every input */
    size_t input_cnt;
    char *names[XQ_CODEC_MAX_TENSORS]; /* fed tensor names (owned) */
    xq_tensor_t inputs[XQ_CODEC_MAX_TENSORS];
    size_t output_cnt;
    char *outputs[XQ_CODEC_MAX_TENSORS]; /* outputs asked for (owned); none: the model's */
    bool grad;                           /* "grad" present */
    char *grad_output;                   /* grad.output (owned) */
    int32_t *grad_index;                 /* grad.index: rows flat output indices (owned) */
    size_t wrt_cnt;
    char *wrt[XQ_CODEC_MAX_TENSORS]; /* grad.wrt (owned) */
    size_t encoded_cnt;
    char *encoded[XQ_CODEC_MAX_TENSORS]; /* fed intermediates (owned) */
    int32_t *pick; /* "pick" (compact version 1): per row, the one output element it needs, or -1
                      for all; NULL: all, every row (owned) */
} xq_infer_req_t;

/**
 * Decodes the request in @p buf (bounded: each tensor at most
 * @p max_elems elements, 0 for the default). Compact tensors (compact.h) are
 * expanded into full rows, within the same bound. On failure @p req->id holds the
 * id if it could be read, so an error reply can still be sent.
 *
 * @returns XQ_OK or XQ_EDECODE/XQ_ELIMIT naming the field; call
 *          xq_infer_req_fini() either way.
 */
xq_err_t xq_infer_req_decode(
    const uint8_t *buf, size_t len, size_t max_elems, xq_infer_req_t *req, xq_error_t *err);

void xq_infer_req_fini(xq_infer_req_t *req);

/** Packs a request (the worker side, and tests). Tensors are f32, batch-first. */
typedef struct xq_infer_req_view {
    const char *id;
    size_t rows;
    size_t input_cnt;
    const char *const *names;
    const float *const *data;
    const size_t *const *dims; /* per input: its per-row dims */
    const size_t *ndim;        /* per input */
    const char *output;        /* NULL: the model's output */
    const int32_t *grad_index; /* NULL: forward only */
    size_t encoded_cnt;
    const char *const *encoded;
    const size_t *sel;   /* NULL: data holds the rows; else row k is data's row sel[k] */
    const int32_t *pick; /* NULL, or per data row: the output element it needs, -1: all */
    const xq_compact_rows_t *compact; /* NULL, or per input: its rows sent compact (anchors
                                         NULL: as a plain tensor) */
} xq_infer_req_view_t;

void xq_infer_req_pack(const xq_infer_req_view_t *v, xq_buf_t *out);

/** Packs a reply: outputs (rows x out_cnt) and, when @p grads, one gradient per input. */
void xq_infer_reply_pack(const char *id,
                         const char *out_name,
                         const float *out,
                         size_t rows,
                         const size_t *out_dims,
                         size_t out_ndim,
                         size_t grad_cnt,
                         const char *const *grad_names,
                         const float *const *grads,
                         const xq_tensor_t *grad_shapes,
                         xq_buf_t *buf);

/**
 * For a request with "pick": keeps, in place, only the outputs its rows need (@p rows rows of
 * @p out_cnt values in @p out: each row's picked element, or all of a row picking -1).
 *
 * @returns the values kept: the reply's outputs tensor is then of shape [that count].
 */
size_t xq_infer_pick(float *out, size_t rows, size_t out_cnt, const int32_t *pick);

/** Packs an error reply {"id", "error": {"code", "field", "message"}}. */
void xq_infer_error_pack(const char *id, const xq_error_t *e, xq_buf_t *buf);

/**
 * Where a reply's tensors go: straight into the caller's row buffers, no copy between. Row k of
 * the reply is row @p row_map[k] of the buffers (NULL: row k).
 */
typedef struct xq_infer_reply_dst {
    const char *model;     /* the model's name, for messages */
    size_t rows;           /* rows the request carried */
    const size_t *row_map; /* per reply row: the buffers' row, or NULL */
    const int32_t *pick;   /* the request's "pick", per buffers' row (NULL: none): the reply has
                              only those outputs, and the others are set to 0 */
    float *out;            /* outputs: out_cnt per row */
    size_t out_cnt;        /* output elements per row */
    size_t grad_cnt;       /* gradients wanted, one per fed tensor (0: forward rows) */
    const char *const *grad_names;
    const size_t *grad_elems; /* per tensor: elements per row */
    float *const *grads;      /* per tensor: grad_elems[t] per row, rows in order */
} xq_infer_reply_dst_t;

/**
 * Decodes reply @p reply (a msgpack map: {"id", "outputs": {name: tensor}, "grads": {name:
 * tensor}} or {"id", "error": {...}}) into @p dst. The one reader of replies, for the worker and
 * for in-process callers of a runner (worker/kmodel.c). Values that are not finite are kept: they
 * fail only their rows' instances (xq_run_reduce()).
 *
 * @returns XQ_OK; XQ_EMODEL with the runner's message and @p *runner_error set when the runner
 *          answered with an error; XQ_EMODEL naming what is missing or of the wrong size otherwise.
 */
xq_err_t xq_infer_reply_decode(const msgpack_object *reply,
                               const xq_infer_reply_dst_t *dst,
                               bool *runner_error,
                               xq_error_t *err);

#endif /* XQ_CODEC_H */
