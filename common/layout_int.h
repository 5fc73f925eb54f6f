/* layout_int.h -- what layout.c, layout_slots.c and layout_values.c share; not an interface for
 * other modules. */
#ifndef XQ_LAYOUT_INT_H
#define XQ_LAYOUT_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <msgpack.h>

#include "layout.h"

/* Largest instance, in elements, one layout takes (an 8-megapixel RGB image is 24M). */
#define XQ_LAYOUT_MAX_ELEMS (32u << 20)

/*
 * The shape of value @p v (a number, a boolean, a number written as a string,
 * null, or a rectangular nesting of those): its dimensions into @p dims (at
 * most XQ_MAX_DIMS), their count and the element count. @returns NULL, or
 * what is wrong with it (static text).
 */
const char *xq_lv_shape(const msgpack_object *v, size_t *ndim, size_t *dims, size_t *cnt);

/*
 * Writes the elements of @p v, of shape dims[0..ndim), into dst from *k on.
 * A null element becomes NaN (a missing value) when @p missing_ok, else it is
 * refused. False, with the reason in @p why, at a misfit or a non-finite value.
 */
bool xq_lv_flatten(const msgpack_object *v,
                   const size_t *dims,
                   size_t ndim,
                   float *dst,
                   size_t *k,
                   bool missing_ok,
                   char *why,
                   size_t why_size);

/* A baseline value for @p want elements: a scalar is broadcast, anything else must hold exactly
 * @p want numbers. False, with the reason in @p why, otherwise. */
bool xq_lv_baseline(const msgpack_object *v, size_t want, float *dst, char *why, size_t n);

/* One feature of an instance while its layout is built (layout.c). */
typedef struct feat {
    const char *name;
    const xq_input_meta_t *meta; /* NULL without metadata */
    const msgpack_object *val;
    const char *tensor;
    size_t ndim, dims[XQ_MAX_DIMS];
    size_t raw_cnt;  /* elements of the instance value */
    size_t len;      /* elements fed (the encoded size for embeddings) */
    size_t emb_dim;  /* CONCAT_EMBEDDING: encoded elements per raw element */
    size_t off;      /* first global element */
    float *vals;     /* len fed values (a plain feature's: in read_values()'s one block) */
    bool in_x;       /* a plain feature: its values read with the others' into one block */
    bool missing_ok; /* its nulls are missing values (NaN) */
    float *raw;      /* raw_cnt raw values (embeddings only) */
    float *pic;      /* a decoded {"b64": PNG or JPEG} value, raw_cnt floats in [0, 1] */
} feat_t;

static inline xq_encoding_t xq_feat_encoding(const feat_t *f) {
    return f->meta ? f->meta->encoding : XQ_ENCODING_IDENTITY;
}

static inline bool xq_feat_is_embedding(const feat_t *f) {
    return xq_feat_encoding(f) == XQ_ENCODING_COMBINED_EMBEDDING ||
           xq_feat_encoding(f) == XQ_ENCODING_CONCAT_EMBEDDING;
}

/* The players (slots), their element ranges and the attribution entries of @p l from its
 * features (layout_slots.c); XQ_EINVAL when two entries would share a key. */
xq_err_t xq_layout_build_slots(xq_layout_t *l, feat_t *fs, size_t n, size_t index, xq_error_t *err);

/* The image features of @p l, for XRAI and visualizations (layout_slots.c). */
void xq_layout_find_images(xq_layout_t *l, const feat_t *fs, size_t n);

#endif
