/* tensor.h -- the wire tensor {"dtype", "shape", "data": <bin, little-endian, row-major>}
 * (docs/design.md §2). */
#ifndef XQ_TENSOR_H
#define XQ_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "err.h"
#include "model.h"

/** Largest tensor a decoder accepts, in elements (a limit, not an allocation). */
#define XQ_TENSOR_MAX_ELEMS (64u << 20)

/** A decoded tensor: float32 values (other dtypes converted), owned. */
typedef struct xq_tensor {
    size_t ndim; /* >= 1: the first dimension is the batch */
    size_t dims[XQ_MAX_DIMS + 1];
    size_t cnt;  /* product of dims */
    float *data; /* cnt floats, owned (xq_tensor_fini) */
} xq_tensor_t;

/**
 * Packs @p cnt floats of shape @p dims (@p ndim of them) as an f32 wire tensor;
 * the data go as one bin, never as an array of numbers.
 */
void xq_tensor_pack(msgpack_packer *pk, const float *data, const size_t *dims, size_t ndim);

/**
 * Packs the head of such a tensor: everything up to the bin's header, for a
 * caller that appends the product of @p dims floats itself
 * (msgpack_pack_bin_body(), in as many pieces as it likes).
 */
void xq_tensor_pack_header(msgpack_packer *pk, const size_t *dims, size_t ndim);

/**
 * Decodes wire tensor @p o (dtype f32, f64, i32 or i64) into @p t. @p field
 * names it in errors; @p max_elems bounds it (0: XQ_TENSOR_MAX_ELEMS).
 *
 * @returns XQ_OK (free with xq_tensor_fini()), or XQ_EDECODE naming the rule.
 */
xq_err_t xq_tensor_decode(
    const msgpack_object *o, const char *field, size_t max_elems, xq_tensor_t *t, xq_error_t *err);

/**
 * As xq_tensor_decode(), but keeps values that are not finite: a model's
 * outputs, where such a value fails only the instance of its row (see
 * xq_run_reduce()), not every instance of the batch.
 */
xq_err_t xq_tensor_decode_results(
    const msgpack_object *o, const char *field, size_t max_elems, xq_tensor_t *t, xq_error_t *err);

/**
 * As xq_tensor_decode_results(), straight into @p dst: the tensor must hold exactly @p cnt
 * elements (its shape is not kept). No allocation.
 *
 * @returns XQ_OK, or XQ_EDECODE/XQ_ELIMIT naming the rule; @p *got is the tensor's element
 *          count when its header could be read (0 otherwise), for messages.
 */
xq_err_t xq_tensor_decode_into(const msgpack_object *o,
                               const char *field,
                               float *dst,
                               size_t cnt,
                               size_t *got,
                               xq_error_t *err);

void xq_tensor_fini(xq_tensor_t *t);

#endif /* XQ_TENSOR_H */
