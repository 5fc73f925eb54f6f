/* xrai.h -- XRAI: regions chosen greedily by attribution density, and the XRAI method itself. */
#ifndef XQ_METHODS_XRAI_H
#define XQ_METHODS_XRAI_H

#include <stddef.h>
#include <stdint.h>

#include "methods/run.h"
#include "methods/segment.h"

typedef enum xq_xrai_algo {
    XQ_XRAI_FULL = 0, /* each round, the mask whose new pixels have the highest mean */
    XQ_XRAI_FAST = 1, /* masks once, by their whole mean */
} xq_xrai_algo_t;

#define XQ_XRAI_MIN_PIXEL_DIFF 50 /* masks adding fewer new pixels are never chosen */

/**
 * Selects regions of @p m over the per-pixel attributions @p A (m->h *
 * m->w): each chosen region's new pixels get its density (their mean of A),
 * pixels no mask covered get their own mean, so sum(out) == sum(A). @p rank
 * (optional, h*w) numbers the regions by density, 1 the highest, the
 * uncovered rest last.
 *
 * @returns the number of regions, the uncovered rest included.
 */
size_t xq_xrai_select(const double *A,
                      const xq_masks_t *m,
                      xq_xrai_algo_t algo,
                      size_t min_pixel_diff,
                      double *out,
                      int32_t *rank);

/*
 * The XRAI method: Integrated Gradients (SmoothGrad, blur baseline; by
 * default two baselines, constant images at the input's min and max or its
 * featureValueDomain bounds) and then, per image input, the max over
 * channels, XRAI's masks, and the greedy selection. Each attribution holds
 * the result in channel 0 of the image's slots (the others 0), which
 * xq_run_pack writes as [H][W].
 */
const xq_method_ops_t *xq_xrai_ops(void);

#endif /* XQ_METHODS_XRAI_H */
