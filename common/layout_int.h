/* layout_int.h -- what layout.c and layout_values.c share; not an interface for other modules. */
#ifndef XQ_LAYOUT_INT_H
#define XQ_LAYOUT_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <msgpack.h>

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

#endif
