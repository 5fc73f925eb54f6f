/* numfmt.h -- numbers as the shortest "%.*g" text that reads back to the same value. */
#ifndef XQ_NUMFMT_H
#define XQ_NUMFMT_H

#include <stdbool.h>
#include <stddef.h>

/** Room numfmt needs: sign, 17 digits, point, "e-308", NUL, with margin. */
#define XQ_NUMFMT_SIZE 40

/**
 * Writes into @p buf (XQ_NUMFMT_SIZE bytes) the text snprintf("%.*g", p, d)
 * gives for the smallest p, from 6 (@p is_f32: @p d is a float's value, read
 * back with strtof()) or 15 (read back with strtod()) up to 17, whose text
 * reads back to @p d; @p d must be finite. Byte for byte what trying each p
 * with snprintf() gives, at one printf() call instead of up to twelve.
 * @returns the length.
 */
size_t xq_numfmt_shortest(char *buf, double d, bool is_f32);

#endif /* XQ_NUMFMT_H */
