/* blur.h -- Gaussian blur of an image over height and width (the blur baseline, docs/design.md §4).
 */
#ifndef XQ_METHODS_BLUR_H
#define XQ_METHODS_BLUR_H

#include <stddef.h>

/**
 * Blurs the [h][w][c] image @p src into @p dst (same shape; not aliased) with
 * a Gaussian of standard deviation @p sigma over height and width, never
 * across channels. The kernel is truncated at 4 sigma; borders reflect
 * (d c b a | a b c d). sigma <= 0 copies.
 */
void xq_blur_image(const float *src, float *dst, size_t h, size_t w, size_t c, double sigma);

#endif /* XQ_METHODS_BLUR_H */
