/* blur.c -- separable Gaussian blur over height and width, reflect borders. */
#include "methods/blur.h"

#include <math.h>
#include <string.h>

#include "mem.h"

/* Reflects @p i into [0, n): ... 1 0 | 0 1 ... n-1 | n-1 n-2 ... (period 2n). */
static size_t reflect(long i, size_t n) {
    long period = 2 * (long)n;

    i %= period;
    if (i < 0)
        i += period;
    return (size_t)(i < (long)n ? i : period - 1 - i);
}

/* One 1-D pass along an axis of length n with stride `stride` between its elements. */
static void pass(const float *src,
                 float *dst,
                 size_t lines,
                 size_t line_stride,
                 size_t n,
                 size_t stride,
                 const double *k,
                 long radius,
                 double *scratch) {
    for (size_t l = 0; l < lines; l++) {
        const float *s = src + (l / stride) * line_stride + (l % stride);
        float *d = dst + (l / stride) * line_stride + (l % stride);

        for (size_t i = 0; i < n; i++)
            scratch[i] = (double)s[i * stride];
        for (size_t i = 0; i < n; i++) {
            double acc = 0;

            for (long j = -radius; j <= radius; j++)
                acc += k[j + radius] * scratch[reflect((long)i + j, n)];
            d[i * stride] = (float)acc;
        }
    }
}

void xq_blur_image(const float *src, float *dst, size_t h, size_t w, size_t c, double sigma) {
    long radius;
    double *k, *scratch, sum = 0;
    float *tmp;

    if (sigma <= 0) {
        memcpy(dst, src, h * w * c * sizeof(float));
        return;
    }
    radius = (long)(4.0 * sigma + 0.5); /* truncate at 4 sigma, as scipy.ndimage does */
    k = xq_calloc((size_t)(2 * radius + 1), sizeof(*k));
    for (long j = -radius; j <= radius; j++) {
        k[j + radius] = exp(-0.5 * (double)(j * j) / (sigma * sigma));
        sum += k[j + radius];
    }
    for (long j = 0; j <= 2 * radius; j++)
        k[j] /= sum;
    scratch = xq_calloc(h > w ? h : w, sizeof(*scratch));
    tmp = xq_malloc(h * w * c * sizeof(float));
    /* along width: h lines of w elements, stride c, per channel */
    pass(src, tmp, h * c, w * c, w, c, k, radius, scratch);
    /* along height: w*c lines of h elements, stride w*c */
    pass(tmp, dst, w * c, 0, h, w * c, k, radius, scratch);
    xq_free(tmp);
    xq_free(scratch);
    xq_free(k);
}
