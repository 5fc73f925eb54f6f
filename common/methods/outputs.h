/* outputs.h -- which outputs to explain (outputIndices, topK, argmax) and their display names. */
#ifndef XQ_METHODS_OUTPUTS_H
#define XQ_METHODS_OUTPUTS_H

#include <stddef.h>

#include "err.h"
#include "model.h"
#include "spec.h"

/**
 * Chooses the flat output indices to explain for an instance whose outputs
 * are @p y (shape @p desc): outputIndices in the order given; else topK
 * (-1 = all) sorted by output value, descending, ties by index; else the
 * argmax. A scalar output has the one index 0.
 *
 * @returns XQ_OK and a new array in @p *idx (caller frees with xq_free()) of
 *          @p *cnt indices, or XQ_EINVAL when an outputIndices entry does not
 *          fit the output's shape.
 */
xq_err_t xq_outputs_select(const xq_spec_t *spec,
                           const float *y,
                           const xq_tensor_desc_t *desc,
                           size_t **idx,
                           size_t *cnt,
                           xq_error_t *err);

/** Unravels @p flat into @p multi (desc->ndim entries, row-major). */
void xq_outputs_unravel(const xq_tensor_desc_t *desc, size_t flat, size_t *multi);

/**
 * The display name of output @p flat: from indexDisplayNameMapping (a pointer
 * into the spec), or from the model's labels under displayNameMappingKey (a
 * pointer into @p model, which may be NULL), with its length; NULL when there
 * is none.
 */
const char *xq_outputs_display_name(const xq_spec_t *spec,
                                    const xq_tensor_desc_t *desc,
                                    const xq_model_t *model,
                                    size_t flat,
                                    size_t *len);

#endif /* XQ_METHODS_OUTPUTS_H */
