/* dconv_shim.h -- the digits of a double, from the double-conversion library (C++), for C. */
#ifndef XQ_DCONV_SHIM_H
#define XQ_DCONV_SHIM_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Room for the digits of either call below, with its NUL. */
#define XQ_DCONV_DIGITS 18

/**
 * The shortest digits that read back to finite @p d (to the float @p d is, when @p single),
 * the closest to it of those, into @p digits (XQ_DCONV_DIGITS bytes, NUL-terminated, no
 * trailing zeros): @p d's magnitude is 0.DIGITS x 10^point. @returns the digit count.
 */
int xq_dconv_shortest(double d, bool single, char *digits, int *point);

/**
 * Finite @p d's magnitude correctly rounded to @p p (1..17) significant digits, as above;
 * fewer digits come back when the rest are zeros.
 */
int xq_dconv_precision(double d, int p, char *digits, int *point);

#ifdef __cplusplus
}
#endif

#endif /* XQ_DCONV_SHIM_H */
