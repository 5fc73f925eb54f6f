/* tensor.c -- wire tensors: f32 out as one bin; f32/f64/i32/i64 in, validated against their shape.
 */
#include "tensor.h"

#include <math.h>
#include <string.h>

#include "mem.h"
#include "mp.h"

void xq_tensor_pack_header(msgpack_packer *pk, const size_t *dims, size_t ndim) {
    size_t cnt = 1;

    for (size_t d = 0; d < ndim; d++)
        cnt *= dims[d];
    msgpack_pack_map(pk, 3);
    xq_mp_pack_str(pk, "dtype");
    xq_mp_pack_str(pk, "f32");
    xq_mp_pack_str(pk, "shape");
    msgpack_pack_array(pk, ndim);
    for (size_t d = 0; d < ndim; d++)
        msgpack_pack_uint64(pk, dims[d]);
    xq_mp_pack_str(pk, "data");
    /* little-endian floats, as this machine stores them (x86-64, arm64) */
    msgpack_pack_bin(pk, cnt * sizeof(float));
}

void xq_tensor_pack(msgpack_packer *pk, const float *data, const size_t *dims, size_t ndim) {
    size_t cnt = 1;

    for (size_t d = 0; d < ndim; d++)
        cnt *= dims[d];
    xq_tensor_pack_header(pk, dims, ndim);
    msgpack_pack_bin_body(pk, data, cnt * sizeof(float));
}

/* A wire tensor's header, checked: its element type, size and data. */
typedef struct wire {
    int kind; /* 0 f32, 1 f64, 2 i32, 3 i64 */
    size_t width, cnt, ndim;
    size_t dims[XQ_MAX_DIMS + 1];
    const char *data;
} wire_t;

static xq_err_t
parse(const msgpack_object *o, const char *field, size_t max_elems, wire_t *w, xq_error_t *err) {
    const msgpack_object *dt, *shape, *data;

    memset(w, 0, sizeof(*w));
    w->cnt = 1;
    max_elems = max_elems ? max_elems : XQ_TENSOR_MAX_ELEMS;
    if (o->type != MSGPACK_OBJECT_MAP)
        return xq_error_set(err, XQ_EDECODE, field, "a tensor must be a map");
    dt = xq_mp_map_get(o, "dtype");
    shape = xq_mp_map_get(o, "shape");
    data = xq_mp_map_get(o, "data");
    if (!dt || !shape || !data)
        return xq_error_set(err, XQ_EDECODE, field, "a tensor needs dtype, shape and data");
    if (xq_mp_str_eq(dt, "f32"))
        w->kind = 0, w->width = 4;
    else if (xq_mp_str_eq(dt, "f64"))
        w->kind = 1, w->width = 8;
    else if (xq_mp_str_eq(dt, "i32"))
        w->kind = 2, w->width = 4;
    else if (xq_mp_str_eq(dt, "i64"))
        w->kind = 3, w->width = 8;
    else
        return xq_error_set(err, XQ_EDECODE, field, "dtype must be f32, f64, i32 or i64");
    if (shape->type != MSGPACK_OBJECT_ARRAY || shape->via.array.size < 1 ||
        shape->via.array.size > XQ_MAX_DIMS + 1)
        return xq_error_set(err, XQ_EDECODE, field, "shape must list 1 to %d sizes, batch first",
                            XQ_MAX_DIMS + 1);
    for (uint32_t d = 0; d < shape->via.array.size; d++) {
        const msgpack_object *s = &shape->via.array.ptr[d];

        if (s->type != MSGPACK_OBJECT_POSITIVE_INTEGER || s->via.u64 > max_elems ||
            xq_mul_overflows(w->cnt, (size_t)s->via.u64, &w->cnt) || w->cnt > max_elems)
            return xq_error_set(err, XQ_ELIMIT, field,
                                "shape must hold integers whose product is at most %zu", max_elems);
        w->dims[d] = (size_t)s->via.u64;
    }
    if (data->type != MSGPACK_OBJECT_BIN || data->via.bin.size != w->cnt * w->width)
        return xq_error_set(err, XQ_EDECODE, field,
                            "data must be a bin of %zu bytes (%zu elements of %s)",
                            w->cnt * w->width, w->cnt,
                            w->kind == 0   ? "f32"
                            : w->kind == 1 ? "f64"
                            : w->kind == 2 ? "i32"
                                           : "i64");
    w->ndim = shape->via.array.size;
    w->data = data->via.bin.ptr;
    return XQ_OK;
}

/* Element @p i of @p w as a float. */
static float element(const wire_t *w, size_t i) {
    const char *p = w->data + i * w->width;
    float f;

    /* the bin may sit at any offset of the message: copy, never cast */
    if (w->kind == 0) {
        memcpy(&f, p, 4);
    } else if (w->kind == 1) {
        double v;

        memcpy(&v, p, 8);
        f = (float)v;
    } else if (w->kind == 2) {
        int32_t v;

        memcpy(&v, p, 4);
        f = (float)v;
    } else {
        int64_t v;

        memcpy(&v, p, 8);
        f = (float)v;
    }
    return f;
}

/* Converts @p w into @p dst (w->cnt floats). */
static xq_err_t
convert(const wire_t *w, const char *field, bool finite_only, float *dst, xq_error_t *err) {
    if (w->kind == 0 && !finite_only) {
        memcpy(dst, w->data, w->cnt * sizeof(float)); /* the common case: one copy */
        return XQ_OK;
    }
    for (size_t i = 0; i < w->cnt; i++) {
        float f = element(w, i);

        if (finite_only && !isfinite(f))
            return xq_error_set(err, XQ_EDECODE, field, "element %zu is not finite", i);
        dst[i] = f;
    }
    return XQ_OK;
}

static xq_err_t decode(const msgpack_object *o,
                       const char *field,
                       size_t max_elems,
                       bool finite_only,
                       xq_tensor_t *t,
                       xq_error_t *err) {
    wire_t w;
    xq_err_t rc;

    memset(t, 0, sizeof(*t));
    if ((rc = parse(o, field, max_elems, &w, err)) != XQ_OK)
        return rc;
    t->ndim = w.ndim;
    t->cnt = w.cnt;
    memcpy(t->dims, w.dims, sizeof(t->dims));
    if (!(t->data = xq_try_malloc(w.cnt * sizeof(float) + 1)))
        return xq_error_set(err, XQ_ENOMEM, field, "no memory for %zu elements", w.cnt);
    if ((rc = convert(&w, field, finite_only, t->data, err)) != XQ_OK)
        xq_tensor_fini(t);
    return rc;
}

xq_err_t xq_tensor_decode_into(const msgpack_object *o,
                               const char *field,
                               float *dst,
                               size_t cnt,
                               size_t *got,
                               xq_error_t *err) {
    wire_t w;
    xq_err_t rc;

    *got = 0;
    if ((rc = parse(o, field, 0, &w, err)) != XQ_OK)
        return rc;
    *got = w.cnt;
    if (w.cnt != cnt)
        return xq_error_set(err, XQ_EDECODE, field, "%zu elements where %zu were expected", w.cnt,
                            cnt);
    return convert(&w, field, false, dst, err);
}

xq_err_t xq_tensor_decode(
    const msgpack_object *o, const char *field, size_t max_elems, xq_tensor_t *t, xq_error_t *err) {
    return decode(o, field, max_elems, true, t, err);
}

xq_err_t xq_tensor_decode_results(
    const msgpack_object *o, const char *field, size_t max_elems, xq_tensor_t *t, xq_error_t *err) {
    return decode(o, field, max_elems, false, t, err);
}

void xq_tensor_fini(xq_tensor_t *t) {
    xq_free(t->data);
    memset(t, 0, sizeof(*t));
}
