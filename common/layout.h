/* layout.h -- instance <-> tensor mapping: features to fed tensors, players/slots, baselines,
 * outputs. */
#ifndef XQ_LAYOUT_H
#define XQ_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "err.h"
#include "model.h"
#include "spec.h"

/*
 * A layout turns one instance into the flat float vector a model row is
 * made of, and maps attributions back to the instance's structure.
 *
 * Decisions (README "Instances and tensors"):
 * - Each metadata input is a feature; without metadata each key of the
 *   instance is one, in the instance's order.
 * - A feature feeds the tensor named by inputTensorName, else by its own
 *   name, else (a model with one input and no tensor of that name) the
 *   model's input; the embedding encodings feed encodedTensorName instead
 *   (the model encodes the raw value). Features that feed the same tensor are
 *   concatenated in metadata order.
 * - Elements are numbered globally: tensor t holds [tensor_off[t],
 *   tensor_off[t] + elem_cnt[t]) of a row of elem_total floats, in the
 *   instance's order; an image feeding a channels-first tensor ([C, H, W])
 *   is transposed from its [H][W][C] only where rows meet the model (rows.h).
 * - A slot is one attribution value and one Shapley player: an element of
 *   an IDENTITY feature, an index of BAG_OF_FEATURES(_SPARSE)/INDICATOR, the
 *   whole vector of COMBINED_EMBEDDING, one row of CONCAT_EMBEDDING, or a
 *   whole group (groupName). Slots partition the elements.
 */

/** A run of global element indices. */
typedef struct xq_range {
    size_t off; /* first global element */
    size_t len; /* elements */
} xq_range_t;

/** One attribution value / Shapley player. */
typedef struct xq_slot {
    size_t range_first; /* index into ranges */
    size_t range_cnt;
} xq_slot_t;

/** One key of featureAttributions: a number (ndim 0) or nested arrays over its slots. */
typedef struct xq_entry {
    const char *key;          /* feature, mapped index name, or group name */
    size_t ndim;              /* 0: scalar */
    size_t dims[XQ_MAX_DIMS]; /* shape of the value */
    size_t slot_first;        /* its slots, row-major */
    size_t slot_cnt;
} xq_entry_t;

/** An image input (blur baseline, XRAI, pictures): [H][W] or [H][W][C] elements from off. */
typedef struct xq_image {
    size_t off; /* global element of pixel (0, 0, 0) */
    size_t h, w, c;
    size_t entry;                /* its featureAttributions entry, one slot per element; or
                                    SIZE_MAX when its slots are not per element (groups) */
    const xq_input_meta_t *meta; /* its metadata (borrowed from the spec) */
} xq_image_t;

/** Built by xq_layout_build(); read-only plain data, freed with xq_layout_destroy(). */
typedef struct xq_layout {
    size_t tensor_cnt;
    const char **tensor_names; /* borrowed from the spec or model */
    size_t *elem_cnt;          /* per tensor */
    size_t *tensor_off;        /* per tensor: first global element */
    size_t *chw_c;             /* per tensor: C > 1 when the tensor takes an [H][W][C] image
                                  channels-first ([C][H][W]; rows transpose), else 0 */
    size_t *chw_hw;            /* per tensor: H * W of that image */
    bool *is_int;              /* per tensor: a model input of integers (ids): no gradients */
    bool has_encoded;          /* some feature feeds an encoded (embedding) tensor */
    size_t elem_total;         /* floats in one row */
    float *x;                  /* the instance, elem_total */
    size_t baseline_cnt;       /* >= 1 */
    float *base;               /* baseline_cnt * elem_total */
    float *sigma;              /* SmoothGrad noise sigma per element */
    float *lo, *hi;            /* featureValueDomain bounds per element (+-inf when none) */
    xq_slot_t *slots;
    size_t slot_cnt;
    xq_range_t *ranges;
    size_t range_cnt;
    xq_entry_t *entries;
    size_t entry_cnt;
    xq_image_t *images;
    size_t image_cnt;
    char *name_pool; /* feature names copied from the instance (no metadata); internal */
} xq_layout_t;

/**
 * Maps instance @p inst (a msgpack map, borrowed) of index @p index through
 * @p spec and @p model. Errors name the instance and the feature, with the
 * field "instances[<index>].<feature>".
 *
 * @returns XQ_OK and a new layout in @p *out (free with
 *          xq_layout_destroy()), or an error (XQ_EINVAL for a bad instance,
 *          XQ_EMODEL when the model's tensors do not fit).
 */
xq_err_t xq_layout_build(const xq_spec_t *spec,
                         xq_model_t *model,
                         const msgpack_object *inst,
                         size_t index,
                         xq_layout_t **out,
                         xq_error_t *err);

/**
 * Checks once, before any instance, that every inputTensorName and encodedTensorName of
 * @p spec's metadata names a tensor of @p model (an input, or an intermediate tensor for
 * encodedTensorName). The error names the metadata field and lists the closest real names.
 *
 * @returns XQ_OK, or XQ_EMODEL for the first unknown name.
 */
xq_err_t xq_layout_check_names(const xq_spec_t *spec, xq_model_t *model, xq_error_t *err);

void xq_layout_destroy(xq_layout_t *l);

/** true when @p a and @p b feed the same tensors with the same sizes (rows can share a batch). */
bool xq_layout_compatible(const xq_layout_t *a, const xq_layout_t *b);

#endif /* XQ_LAYOUT_H */
