/*
 * bench_xrai.c -- `make bench`: XRAI's image work on one core, for a 224 x 224
 * RGB picture of smooth blobs and noise: Felzenszwalb at the six scales (one
 * sorted graph), the full mask pipeline (resize, segment, resize back,
 * dilate), and the greedy selection. Each line: "bench xrai ...: X ms".
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "methods/segment.h"
#include "methods/xrai.h"
#include "rng.h"

enum {
    S = 224,
    C = 3,
    REPS = 5
};

static double now(void) {
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(void) {
    float *img = malloc(S * S * C * sizeof(float));
    int32_t *labels = malloc(XQ_XRAI_SCALE_CNT * S * S * sizeof(int32_t));
    double *A = malloc(S * S * sizeof(double)), *out = malloc(S * S * sizeof(double));
    size_t nlabels[XQ_XRAI_SCALE_CNT], masks = 0, regions = 0;
    double t0, seg = 1e9, all = 1e9, sel = 1e9;
    xq_masks_t m;
    xq_rng_t r;

    xq_rng_init(&r, 7, 0);
    for (size_t y = 0; y < S; y++) {
        for (size_t x = 0; x < S; x++) {
            for (size_t c = 0; c < C; c++)
                img[(y * S + x) * C + c] =
                    (float)(sin((double)(x * (c + 1)) / 17.0) * cos((double)y / 23.0) +
                            0.1 * xq_rng_normal(&r));
            A[y * S + x] = xq_rng_normal(&r) + sin((double)x / 30.0);
        }
    }
    for (int i = 0; i < REPS; i++) { /* the best of a few runs: the machine's noise aside */
        t0 = now();
        xq_felzenszwalb(img, S, S, C, xq_xrai_scales, XQ_XRAI_SCALE_CNT, XQ_XRAI_SIGMA,
                        XQ_XRAI_MIN_SIZE, labels, nlabels);
        seg = fmin(seg, now() - t0);
        t0 = now();
        xq_xrai_masks(img, S, S, C, &m);
        all = fmin(all, now() - t0);
        t0 = now();
        regions = xq_xrai_select(A, &m, XQ_XRAI_FULL, XQ_XRAI_MIN_PIXEL_DIFF, out, NULL);
        sel = fmin(sel, now() - t0);
        masks = m.cnt;
        xq_masks_fini(&m);
    }
    printf("bench xrai segmentation 224x224x3, 6 scales: %.1f ms\n", seg * 1e3);
    printf("bench xrai masks (resize, segment, dilate), %zu masks: %.1f ms\n", masks, all * 1e3);
    printf("bench xrai full selection, %zu regions: %.1f ms\n", regions, sel * 1e3);
    free(img);
    free(labels);
    free(A);
    free(out);
    return 0;
}
