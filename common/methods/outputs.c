/* outputs.c -- output selection and display names (docs/design.md §4 "Outputs"). */
#include "methods/outputs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "mp.h"

void xq_outputs_unravel(const xq_tensor_desc_t *desc, size_t flat, size_t *multi) {
    for (size_t d = desc->ndim; d-- > 0;) {
        multi[d] = flat % desc->dims[d];
        flat /= desc->dims[d];
    }
}

/* Flat index of one outputIndices entry: an integer (rank <= 1) or a list of rank integers. */
static xq_err_t ravel(const msgpack_object *o,
                      const xq_tensor_desc_t *desc,
                      size_t pos,
                      size_t *flat,
                      xq_error_t *err) {
    char field[64];
    double d;

    snprintf(field, sizeof(field), "parameters.outputIndices[%zu]", pos);
    if (xq_mp_number(o, &d)) {
        if (desc->ndim > 1)
            return xq_error_set(err, XQ_EINVAL, field,
                                "the output has %zu dimensions; give each index as a list of %zu",
                                desc->ndim, desc->ndim);
        if (d < 0 || d >= (double)desc->elem_cnt)
            return xq_error_set(err, XQ_EINVAL, field,
                                "index %g is outside the output's %zu "
                                "elements",
                                d, desc->elem_cnt);
        *flat = (size_t)d;
        return XQ_OK;
    }
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != desc->ndim)
        return xq_error_set(err, XQ_EINVAL, field,
                            "expected a list of %zu indices (the output's "
                            "rank)",
                            desc->ndim);
    *flat = 0;
    for (size_t k = 0; k < desc->ndim; k++) {
        if (!xq_mp_number(&o->via.array.ptr[k], &d) || d < 0 || d >= (double)desc->dims[k])
            return xq_error_set(err, XQ_EINVAL, field,
                                "index %zu is outside dimension %zu of size %zu", (size_t)d, k,
                                desc->dims[k]);
        *flat = *flat * desc->dims[k] + (size_t)d;
    }
    return XQ_OK;
}

typedef struct ranked {
    float v;
    size_t i;
} ranked_t;

/* By output value, descending; ties keep the lower index first. */
static int by_value(const void *a, const void *b) {
    const ranked_t *x = a, *y = b;

    if (x->v > y->v)
        return -1;
    if (x->v < y->v)
        return 1;
    return (x->i > y->i) - (x->i < y->i);
}

xq_err_t xq_outputs_select(const xq_spec_t *spec,
                           const float *y,
                           const xq_tensor_desc_t *desc,
                           size_t **idx,
                           size_t *cnt,
                           xq_error_t *err) {
    const xq_params_t *pa = &spec->params;
    size_t n = desc->elem_cnt, k;
    ranked_t *rk;
    size_t *all;
    xq_err_t rc;

    if (n == 1) {
        *idx = xq_calloc(1, sizeof(**idx));
        *cnt = 1;
        return XQ_OK;
    }
    if (pa->has_output_indices) {
        const msgpack_object *oi = &pa->output_indices;

        *idx = xq_calloc(oi->via.array.size, sizeof(**idx));
        for (size_t i = 0; i < oi->via.array.size; i++) {
            if ((rc = ravel(&oi->via.array.ptr[i], desc, i, &(*idx)[i], err)) != XQ_OK) {
                xq_free(*idx);
                *idx = NULL;
                return rc;
            }
        }
        *cnt = oi->via.array.size;
        return XQ_OK;
    }
    k = pa->top_k < 0 || (size_t)pa->top_k > n ? n : (size_t)pa->top_k;
    rk = xq_calloc(n, sizeof(*rk));
    for (size_t i = 0; i < n; i++) {
        rk[i].v = y[i];
        rk[i].i = i;
    }
    qsort(rk, n, sizeof(*rk), by_value);
    all = xq_calloc(k, sizeof(*all));
    for (size_t i = 0; i < k; i++)
        all[i] = rk[i].i;
    xq_free(rk);
    *idx = all;
    *cnt = k;
    return XQ_OK;
}

const char *xq_outputs_display_name(const xq_spec_t *spec,
                                    const xq_tensor_desc_t *desc,
                                    const xq_model_t *model,
                                    size_t flat,
                                    size_t *len) {
    const xq_output_meta_t *om;
    const msgpack_object *o;
    size_t multi[XQ_MAX_DIMS];

    if (spec->meta.present && spec->meta.outputs[0].display == XQ_DISPLAY_KEY) {
        const char *name =
            xq_model_label(model, spec->meta.outputs[0].display_name_mapping_key, flat);

        if (name)
            *len = strlen(name);
        return name;
    }
    if (!spec->meta.present || spec->meta.outputs[0].display != XQ_DISPLAY_INDEX_MAPPING)
        return NULL;
    om = &spec->meta.outputs[0];
    o = &om->index_display_name_mapping;
    xq_outputs_unravel(desc, flat, multi);
    for (size_t d = 0; d < desc->ndim || (desc->ndim == 0 && d == 0); d++) {
        size_t i = desc->ndim ? multi[d] : 0;

        if (o->type != MSGPACK_OBJECT_ARRAY || i >= o->via.array.size)
            return NULL;
        o = &o->via.array.ptr[i];
    }
    if (o->type != MSGPACK_OBJECT_STR)
        return NULL;
    *len = o->via.str.size;
    return o->via.str.ptr;
}
