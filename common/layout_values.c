/* layout_values.c -- an instance's values: numbers and rectangular nested arrays of them, read
 * into floats (layout_int.h). */
#include <math.h>
#include <stdio.h>

#include "instances.h"
#include "layout_int.h"
#include "model.h"
#include "mp.h"

/* A number, a boolean, a number written as a string ("1.5"), or null (a missing value). */
static bool is_scalar(const msgpack_object *v) {
    double d;

    return v->type == MSGPACK_OBJECT_BOOLEAN || v->type == MSGPACK_OBJECT_NIL ||
           xq_mp_number(v, &d) ||
           (v->type == MSGPACK_OBJECT_STR && xq_inst_number(v->via.str.ptr, v->via.str.size, &d));
}

/* Shape of @p v; @returns NULL, or what is wrong with it. */
const char *xq_lv_shape(const msgpack_object *v, size_t *ndim, size_t *dims, size_t *cnt) {
    const msgpack_object *o = v;
    size_t n = 0, total = 1;

    while (o->type == MSGPACK_OBJECT_ARRAY) {
        if (n == XQ_MAX_DIMS)
            return "nests deeper than 8 dimensions";
        if (o->via.array.size == 0)
            return "is an empty array";
        dims[n++] = o->via.array.size;
        if (xq_mul_overflows(total, o->via.array.size, &total) || total > XQ_LAYOUT_MAX_ELEMS)
            return "has too many elements";
        o = &o->via.array.ptr[0];
    }
    if (!is_scalar(o)) {
        if (o->type == MSGPACK_OBJECT_STR)
            return "holds a string that is not a number; only numbers and arrays of numbers can "
                   "be explained";
        return "holds a value that is not a number";
    }
    *ndim = n;
    *cnt = total;
    return NULL;
}

/* Why null cannot be fed, for the error of an instance that holds one. */
#define NO_MISSING                                                                                \
    "is null (a missing value), and only an XGBoost model under sampledShapleyAttribution takes " \
    "missing values: fill it in"

/*
 * Writes the elements of @p v (of shape dims[0..ndim)) into dst; false at a misfit or non-finite.
 * A null element becomes NaN (a missing value) when @p missing_ok, else it is refused.
 */
bool xq_lv_flatten(const msgpack_object *v,
                   const size_t *dims,
                   size_t ndim,
                   float *dst,
                   size_t *k,
                   bool missing_ok,
                   char *why,
                   size_t why_size) {
    double d;

    if (ndim == 0) {
        if (v->type == MSGPACK_OBJECT_BOOLEAN) {
            dst[(*k)++] = v->via.boolean ? 1.0f : 0.0f;
            return true;
        }
        if (v->type == MSGPACK_OBJECT_NIL) {
            if (!missing_ok) {
                snprintf(why, why_size, "element %zu " NO_MISSING, *k);
                return false;
            }
            dst[(*k)++] = NAN;
            return true;
        }
        if (v->type == MSGPACK_OBJECT_STR) {
            if (!xq_inst_number(v->via.str.ptr, v->via.str.size, &d)) {
                snprintf(why, why_size, "element %zu is a string that is not a number", *k);
                return false;
            }
        } else if (!xq_mp_number(v, &d)) {
            snprintf(why, why_size, "element %zu is not a number", *k);
            return false;
        }
        if (!isfinite(d) || fabs(d) > 3.4e38) {
            snprintf(why, why_size, "element %zu is not a finite float32", *k);
            return false;
        }
        dst[(*k)++] = (float)d;
        return true;
    }
    if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size != dims[0]) {
        snprintf(why, why_size, "is not a rectangular array (element %zu)", *k);
        return false;
    }
    for (uint32_t i = 0; i < dims[0]; i++) {
        if (!xq_lv_flatten(&v->via.array.ptr[i], dims + 1, ndim - 1, dst, k, missing_ok, why,
                           why_size))
            return false;
    }
    return true;
}

/*
 * A baseline Value for @p want elements: a scalar is broadcast, anything else
 * must hold exactly @p want numbers.
 */
bool xq_lv_baseline(const msgpack_object *v, size_t want, float *dst, char *why, size_t n) {
    size_t ndim, dims[XQ_MAX_DIMS], cnt, k = 0;
    const char *bad = xq_lv_shape(v, &ndim, dims, &cnt);

    if (bad) {
        snprintf(why, n, "%s", bad);
        return false;
    }
    if (ndim == 0) {
        if (!xq_lv_flatten(v, dims, 0, dst, &k, false, why, n))
            return false;
        for (size_t i = 1; i < want; i++)
            dst[i] = dst[0];
        return true;
    }
    if (cnt != want) {
        snprintf(why, n, "has %zu elements, the instance value %zu", cnt, want);
        return false;
    }
    return xq_lv_flatten(v, dims, ndim, dst, &k, false, why, n);
}
