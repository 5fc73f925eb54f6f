/* viz.h -- pictures of image attributions per InputMetadata.visualization (docs/design.md §4
 * "Visualization"). */
#ifndef XQ_VIZ_H
#define XQ_VIZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mem.h"
#include "spec.h"

/**
 * The cumulative-mass threshold T(p) of docs/design.md §4 "Visualization" over @p n values @p g >=
 * 0: the value at which the largest values, summed in descending order, first reach p% of their
 * total (p = 100: the smallest value).
 */
double xq_viz_threshold(const double *g, size_t n, double p);

/**
 * Scales @p g (n values >= 0) to @p t in [0, 1]: m = T(100 - upper),
 * e = T(100 - lower), t = clamp((g - e) / (m - e)); when m == e, t is 1 where
 * g >= m and 0 elsewhere.
 */
void xq_viz_scale(const double *g, size_t n, double upper, double lower, double *t);

/** Entry @p i (0..255) of the RED, GREEN, PINK_WHITE_GREEN and VIRIDIS tables, unrounded. */
void xq_viz_table(xq_color_map_t table, int i, double rgb[3]);

/**
 * Renders attributions @p a ([h][w][ca]) over the image @p img ([h][w][ci],
 * any range; normalized to 0..255 for overlays) as @p viz says, into @p rgb
 * ([h][w][3]).
 */
void xq_viz_render(const xq_viz_t *viz,
                   const double *a,
                   size_t h,
                   size_t w,
                   size_t ca,
                   const float *img,
                   size_t ci,
                   uint8_t *rgb);

/** xq_viz_render, then the PNG bytes appended to @p out. */
xq_err_t xq_viz_png(const xq_viz_t *viz,
                    const double *a,
                    size_t h,
                    size_t w,
                    size_t ca,
                    const float *img,
                    size_t ci,
                    xq_buf_t *out,
                    xq_error_t *err);

/**
 * xq_viz_render, then the picture as base64 text appended to @p out: JPEG
 * (as Vertex AI's b64_jpeg) or, when @p png, PNG.
 */
xq_err_t xq_viz_b64(const xq_viz_t *viz,
                    const double *a,
                    size_t h,
                    size_t w,
                    size_t ca,
                    const float *img,
                    size_t ci,
                    bool png,
                    xq_buf_t *out,
                    xq_error_t *err);

/** xq_viz_png, as base64 text appended to @p out. */
xq_err_t xq_viz_png_b64(const xq_viz_t *viz,
                        const double *a,
                        size_t h,
                        size_t w,
                        size_t ca,
                        const float *img,
                        size_t ci,
                        xq_buf_t *out,
                        xq_error_t *err);

#endif /* XQ_VIZ_H */
