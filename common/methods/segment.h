/* segment.h -- XRAI's regions: Felzenszwalb segmentations at six scales, as dilated pixel masks. */
#ifndef XQ_METHODS_SEGMENT_H
#define XQ_METHODS_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* XRAI's constants (docs/design.md §4 "XRAI"). */
#define XQ_XRAI_SIZE      224 /* images are segmented at 224 x 224 */
#define XQ_XRAI_SIGMA     0.8
#define XQ_XRAI_MIN_SIZE  150
#define XQ_XRAI_DILATE    5 /* disk radius */
#define XQ_XRAI_SCALE_CNT 6
extern const double xq_xrai_scales[XQ_XRAI_SCALE_CNT]; /* 50, 100, 150, 250, 500, 1200 */

/**
 * Pixel masks of an h x w image as bitsets (row-major, bit p of mask m is
 * pixel p), with each mask's row range so scans can skip the rest. Plain
 * data; xq_masks_fini frees it.
 */
typedef struct xq_masks {
    size_t h, w;
    size_t cnt, cap;
    size_t words;          /* uint64_t words per mask */
    uint64_t *bits;        /* cnt * words */
    uint32_t *row0, *row1; /* per mask: first and last row holding a pixel (row0 > row1: empty) */
} xq_masks_t;

void xq_masks_init(xq_masks_t *m, size_t h, size_t w);
void xq_masks_fini(xq_masks_t *m);

/** Appends one mask per label of @p labels (h*w values in [0, nlabels)), each dilated by a disk
 * of radius @p radius (0: none), in label order. */
void xq_masks_add_labels(xq_masks_t *m, const int32_t *labels, size_t nlabels, int radius);

static inline bool xq_mask_has(const xq_masks_t *m, size_t k, size_t p) {
    return (m->bits[k * m->words + p / 64] >> (p % 64)) & 1u;
}

/**
 * Felzenszwalb–Huttenlocher graph segmentation of the [h][w][c] image @p img
 * as scikit-image does it: Gaussian smoothing (sigma, reflected borders),
 * an 8-connected grid graph weighted by the colour distance, components
 * joined while the edge is below min(Int(C) + k/|C|) with k = scale / 255,
 * then components under @p min_size merged along the sorted edges. Labels
 * go to @p labels (h*w), numbered by each segment's first pixel in raster
 * order. Several scales share one graph: @p scales, @p nscales label maps
 * (nscales * h * w) and their label counts in @p nlabels.
 */
void xq_felzenszwalb(const float *img,
                     size_t h,
                     size_t w,
                     size_t c,
                     const double *scales,
                     size_t nscales,
                     double sigma,
                     size_t min_size,
                     int32_t *labels,
                     size_t *nlabels);

/**
 * XRAI's masks of the [h][w][c] image @p img: normalized to [-1, 1],
 * resized to 224 x 224, segmented at the six scales, the label maps resized
 * back to h x w (nearest, pixel centres), one mask per label dilated by a
 * radius-5 disk. @p out is initialized here (xq_masks_fini frees it).
 */
void xq_xrai_masks(const float *img, size_t h, size_t w, size_t c, xq_masks_t *out);

/**
 * Resizes [h][w][c] @p src to [oh][ow][c] @p dst as scikit-image's
 * resize(order=3, mode="constant", anti_aliasing=True): cubic B-spline, zero
 * padding, a Gaussian before shrinking, clipped to the input's range.
 */
void xq_resize_image(
    const float *src, size_t h, size_t w, size_t c, float *dst, size_t oh, size_t ow);

#endif /* XQ_METHODS_SEGMENT_H */
